"""The `.sql` files: one question each, shared by every engine."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from sqlalchemy import TextClause, text


def _sql_directory() -> Path:
    """`analytics/sql` in an installed wheel; the project's `sql/` in a source checkout."""
    packaged = resources.files("analytics").joinpath("sql")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "sql"


@cache
def query(name: str) -> TextClause:
    """The statement in `sql/<name>.sql`, ready to run with bound parameters."""
    return text((_sql_directory() / f"{name}.sql").read_text(encoding="utf-8"))
