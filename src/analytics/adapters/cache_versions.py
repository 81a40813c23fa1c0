"""The dataset version of a tenant, read on every cached request: from PostgreSQL
(postgres_versions.py), or from the embedded engine's write generation.

The database is the one place every writer already goes through (the API, `analytics load`
from any machine, the scheduler), inside the writer's own transaction: a version read after
a commit always sees it, on every process, with nothing to announce and nothing to lose.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from analytics.adapters.catalog_clock import write_generation
from analytics.adapters.sql_queries import query

log = logging.getLogger(__name__)


def _version(connection: Connection, tenant_id: str) -> str:
    row = connection.execute(query("cache_version"), {"tenant_id": tenant_id}).one()
    written = "-" if row.written_at is None else row.written_at.isoformat()
    return f"{row.load_id or 0}/{written}"


class EmbeddedDatasetVersions:
    """DuckDB: the engine's write generation, read in process without a query (a DuckDB
    statement costs about a millisecond here, as much as the answers it would save). None
    while a write is in flight: the request then bypasses the cache. Every tenant's answers
    change version with any write: the embedded engine serves one machine's worth of data."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def version(self, tenant_id: str) -> str | None:
        generation = write_generation(self._engine)
        return None if generation % 2 else str(generation)


def versions_readable(engine: Engine) -> bool:
    """Whether the version statement runs on this database (a read-only DuckDB file made
    before the catalog has no catalog clock: its answers are then never cached)."""
    try:
        with engine.connect() as connection:
            _version(connection, "")
    except SQLAlchemyError as error:
        log.warning("answers are not cached: the dataset version cannot be read (%s)", error)
        return False
    return True
