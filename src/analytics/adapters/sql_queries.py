"""The `.sql` files: one question each, shared by every engine."""

from __future__ import annotations

from functools import cache

from sqlalchemy import TextClause, text

from analytics.adapters.resources import shipped_directory


@cache
def query(name: str) -> TextClause:
    """The statement in `sql/<name>.sql`, ready to run with bound parameters."""
    return text((shipped_directory("sql") / f"{name}.sql").read_text(encoding="utf-8"))
