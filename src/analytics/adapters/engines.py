"""SQLAlchemy engines for the supported databases, and getting their schema ready."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import Engine, create_engine

from analytics.adapters import migrations, schema

POSTGRES_STATEMENT_TIMEOUT_MS = 10_000


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


def create_database_engine(url: str, *, pool_size: int = 10, read_only: bool = False) -> Engine:
    """An engine with pooling suited to the engine kind.

    PostgreSQL: pre-ping (a dead connection is replaced, not returned), short connect and
    pool timeouts so that a database outage answers 503 quickly, and a statement timeout.
    """
    if url.startswith("postgresql"):
        return create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size // 2,  # for callers outside the repository's limiter
            pool_pre_ping=True,
            pool_timeout=5,
            pool_recycle=1800,
            connect_args={
                "connect_timeout": 3,
                "options": f"-c statement_timeout={POSTGRES_STATEMENT_TIMEOUT_MS}",
                "application_name": "campaign-analytics",
            },
        )
    # A DuckDB file opened read-only can be shared by several serving processes; a writer
    # needs it to itself.
    connect_args = {"read_only": True} if read_only else {}
    return create_engine(
        url, pool_size=pool_size, max_overflow=0, pool_timeout=10, connect_args=connect_args
    )


def prepare_schema(engine: Engine) -> None:
    """DuckDB: create the tables if missing. PostgreSQL: require the migrations' head."""
    if engine.dialect.name != "postgresql":
        schema.metadata.create_all(engine)
        return
    current, head = migrations.current_revision(engine), migrations.head_revision()
    if current != head:
        raise SchemaNotReady(
            f"database schema is at revision {current or 'none'}, not {head}: "
            "run `analytics migrate` first"
        )
