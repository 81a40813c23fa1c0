"""SQLAlchemy engines for the supported databases, and getting their schema ready."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, text

from analytics.adapters import (
    catalog_loads,
    connection_deadlines,
    migrations,
    schema,
    star_upgrade,
)
from analytics.adapters.sql_access import add_tenant_if_missing
from analytics.domain.access import DEFAULT_TENANT

POSTGRES_STATEMENT_TIMEOUT_MS = 10_000
POSTGRES_CONNECT_TIMEOUT_S = 3  # libpq counts whole seconds, 2 at least
POSTGRES_TCP_USER_TIMEOUT_MS = 10_000
PROBE_POOL_SIZE = 2


class SchemaNotReady(Exception):
    """The database's schema is not at the migrations' head."""


def embedded_database_url() -> str:
    """A private in-memory DuckDB database; every pooled connection opens the same one."""
    return f"duckdb:///:memory:analytics-{uuid.uuid4().hex}"


def duckdb_file(url: str) -> Path | None:
    """The file a `duckdb:///…` URL names; None for other URLs and in-memory databases."""
    if not url.startswith("duckdb:///") or url.startswith("duckdb:///:memory:"):
        return None
    return Path(url.removeprefix("duckdb:///"))


def create_database_engine(
    url: str, *, pool_size: int = 10, read_only: bool = False, pool_timeout: float = 5.0
) -> Engine:
    """An engine with pooling suited to the engine kind.

    PostgreSQL: a connection is pinged on checkout (a dead one is replaced, not returned),
    short connect, checkout (`pool_timeout`) and statement timeouts so that a database
    outage answers 503 quickly, TCP keepalives, and the checkout and ping watched by
    `connection_deadlines` so that a silent network cannot hold a request's thread.
    """
    if url.startswith("postgresql"):
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size // 2,  # for callers outside the repository's limiter
            pool_timeout=pool_timeout,
            pool_recycle=1800,
            connect_args=_postgres_connect_args(),
        )
        connection_deadlines.install(engine)
        return engine
    # A DuckDB file opened read-only can be shared by several serving processes; a writer
    # needs it to itself.
    connect_args = {"read_only": True} if read_only else {}
    return create_engine(
        url, pool_size=pool_size, max_overflow=0, pool_timeout=10, connect_args=connect_args
    )


def create_probe_engine(engine: Engine, *, pool_timeout: float) -> Engine:
    """Two connections of their own to the same PostgreSQL database, for `/health`, so that
    its probe never waits behind requests; disposed with `engine`."""
    probe = create_engine(
        engine.url,
        pool_size=PROBE_POOL_SIZE,
        max_overflow=0,
        pool_timeout=pool_timeout,
        pool_recycle=1800,
        connect_args=_postgres_connect_args(),
    )
    connection_deadlines.install(probe)
    event.listen(engine, "engine_disposed", lambda _: probe.dispose())
    return probe


def _postgres_connect_args() -> dict[str, Any]:
    """libpq settings. Keepalives and `tcp_user_timeout` detect a peer gone from the network
    (unanswered probes, unacknowledged data); a freeze that still ACKs needs the deadlines."""
    return {
        "connect_timeout": POSTGRES_CONNECT_TIMEOUT_S,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": POSTGRES_TCP_USER_TIMEOUT_MS,
        "options": f"-c statement_timeout={POSTGRES_STATEMENT_TIMEOUT_MS}",
        "application_name": "campaign-analytics",
    }


def prepare_schema(engine: Engine) -> None:
    """DuckDB: create the tables and tenant `default` if missing (migration 0005 does both
    on PostgreSQL). PostgreSQL: require the migrations' head."""
    if engine.dialect.name != "postgresql":
        schema.metadata.create_all(engine)
        _add_missing_columns(engine, schema.campaign_daily_metrics)
        star_upgrade.upgrade_text_breakdowns(engine)
        star_upgrade.add_single_rollups(engine)
        star_upgrade.add_month_subsets(engine)
        with engine.begin() as connection:
            catalog_loads.add_missing_catalog_columns(connection)
            add_tenant_if_missing(connection, DEFAULT_TENANT, "Default")
        return
    current, head = migrations.current_revision(engine), migrations.head_revision()
    if current != head:
        raise SchemaNotReady(
            f"database schema is at revision {current or 'none'}, not {head}: "
            "run `analytics migrate` first"
        )


def _add_missing_columns(engine: Engine, table: Table) -> None:
    """DuckDB: columns a newer schema added to an existing table (what migration 0007 does on
    PostgreSQL), with their defaults; names and types come from the schema only."""
    with engine.begin() as connection:
        present = set(
            connection.execute(
                text("SELECT column_name FROM information_schema.columns WHERE table_name = :t"),
                {"t": table.name},
            ).scalars()
        )
        for column in table.columns:
            if column.name in present:
                continue
            kind = column.type.compile(dialect=connection.dialect)
            default = column.server_default.arg  # type: ignore[union-attr]
            connection.execute(
                text(
                    f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind} DEFAULT '{default}'"
                )
            )
