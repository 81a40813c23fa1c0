"""SQLAlchemy engines for the supported databases."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import Engine, create_engine

from analytics.adapters.duckdb_loader import load_data_dir


def create_embedded_engine(data_dir: Path, *, pool_size: int = 8) -> Engine:
    """A private in-memory DuckDB database holding `data_dir`, validated and loaded whole.

    Every pooled connection opens the same named in-memory database. Raises
    `DatasetRefused` for a directory that breaks the contract.
    """
    engine = create_engine(
        f"duckdb:///:memory:analytics-{uuid.uuid4().hex}",
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=10,
    )
    try:
        load_data_dir(engine, data_dir)
    except BaseException:
        engine.dispose()
        raise
    return engine
