"""Files shipped beside the code: `sql/` and `migrations/`.

In an installed wheel they live inside the package (`analytics/sql`, `analytics/migrations`);
in a source checkout, at the project's top level.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped_directory(name: str) -> Path:
    packaged = Path(str(resources.files("analytics"))) / name
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / name
