"""The dataset version of a tenant, read from the database on every cached request.

The database is the one place every writer already goes through (the API, `analytics load`
from any machine, the scheduler), inside the writer's own transaction: a version read after
a commit always sees it, on every process, with nothing to announce and nothing to lose.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from analytics.adapters.sql_queries import query
from analytics.adapters.sql_repository import SqlAlchemyMetricsStore

log = logging.getLogger(__name__)


def _version(connection: Connection, tenant_id: str) -> str:
    row = connection.execute(query("cache_version"), {"tenant_id": tenant_id}).one()
    written = "-" if row.written_at is None else row.written_at.isoformat()
    return f"{row.load_id or 0}/{written}"


class SqlAlchemyDatasetVersions:
    """`version(tenant_id)`: one small statement (two primary-key or index lookups) in the
    tenant's scoped transaction, with the request deadline of every other query."""

    def __init__(self, store: SqlAlchemyMetricsStore) -> None:
        self._store = store

    async def version(self, tenant_id: str) -> str:
        return await self._store.run(tenant_id, lambda c: _version(c, tenant_id))


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
