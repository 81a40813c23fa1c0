"""The benchmark service's tables and the migrations that create them.

The service keeps its own schema version in `benchmark_schema_version` (one row), separate
from the analytics service's Alembic history, so the two can share a PostgreSQL database or
not. Each migration is one function; `migrate` applies the missing ones in order, in one
transaction, under a lock, so any number of processes may start at once (DECISIONS.md).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    inspect,
    select,
    text,
)

metadata = MetaData()

schema_version = Table(
    "benchmark_schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

thresholds = Table(
    "benchmark_thresholds",
    metadata,
    Column("campaign_id", Text, primary_key=True),
    # exact decimal text, as validated (`0.03`): identical on SQLite and PostgreSQL
    Column("min_ctr", Text, nullable=False),
    Column("min_roas", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

_LOCK_KEY = 0x62656E63  # "benc": the PostgreSQL advisory lock held while migrating


def _create_thresholds(connection: Connection) -> None:
    thresholds.create(connection)


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_create_thresholds,)
LATEST_VERSION = len(MIGRATIONS)


class SchemaNotReady(Exception):
    """The database's schema is older or newer than this code's."""


def current_version(connection: Connection) -> int:
    """0 on a database the service never migrated."""
    if not inspect(connection).has_table(schema_version.name):
        return 0
    return connection.execute(select(schema_version.c.version)).scalar_one_or_none() or 0


def migrate(engine: Engine) -> tuple[int, int]:
    """Bring the schema to LATEST_VERSION: (version before, version after)."""
    with engine.connect().execution_options(write=True) as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        before = current_version(connection)
        if before > LATEST_VERSION:
            raise SchemaNotReady(
                f"the benchmark database is at schema version {before}, newer than this "
                f"program's {LATEST_VERSION}"
            )
        if before == LATEST_VERSION:
            return before, before
        if before == 0:
            schema_version.create(connection)
            connection.execute(schema_version.insert().values(version=0))
        for migration in MIGRATIONS[before:]:
            migration(connection)
        connection.execute(schema_version.update().values(version=LATEST_VERSION))
    return before, LATEST_VERSION


def check_schema(connection: Connection) -> None:
    """SchemaNotReady unless the schema is exactly at LATEST_VERSION."""
    version = current_version(connection)
    if version != LATEST_VERSION:
        raise SchemaNotReady(
            f"the benchmark database is at schema version {version}, this program needs "
            f"{LATEST_VERSION}: run `analytics benchmarks migrate`"
        )
