"""The catalog's walls and clock on the database itself: row-level security on the new
tenant tables, and a writer that waits for the clock gets a later timestamp."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from analytics.adapters import migrations, schema
from analytics.adapters.catalog_clock import tick, writer_lock
from analytics.adapters.engines import prepare_schema
from analytics.adapters.sql_access import SqlAlchemyAccessStore
from analytics.adapters.sql_repository import SqlAlchemyMetricsStore
from tests.conftest import new_postgres_database

NEW_TENANT_TABLES = ("catalog_clocks", "campaign_thresholds", "idempotency_keys")


def _engine(kind: str, tmp_path: Path) -> Iterator[Engine]:
    if kind == "duckdb":
        engine = create_engine(f"duckdb:///{tmp_path / 'clock.duckdb'}")
        schema.metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    url, drop = new_postgres_database("analytics_catalog")
    engine = create_engine(url)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()
    drop()


@pytest.fixture(params=["duckdb", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from _engine(request.param, tmp_path)


@pytest.fixture
def postgres_engine(tmp_path: Path) -> Iterator[Engine]:
    """Row-level security is PostgreSQL's: these tests have no DuckDB variant."""
    yield from _engine("postgresql", tmp_path)


def _two_tenants(engine: Engine) -> None:
    access = SqlAlchemyAccessStore(engine)
    for tenant in ("one", "two"):
        access.create_tenant(tenant)
    with engine.begin() as connection:
        for tenant in ("one", "two"):
            connection.execute(
                text(
                    "INSERT INTO campaigns (tenant_id, campaign_id, campaign_name) "
                    "VALUES (:t, 'c', 'C')"
                ),
                {"t": tenant},
            )
            connection.execute(
                text("INSERT INTO campaign_thresholds VALUES (:t, 'c', 0.1, 1.0, now())"),
                {"t": tenant},
            )
            connection.execute(
                text(
                    "INSERT INTO idempotency_keys (tenant_id, idempotency_key, fingerprint, "
                    "claim_id, created_at) VALUES (:t, 'k', 'f', 'c', now())"
                ),
                {"t": tenant},
            )
            tick(connection, tenant)


@pytest.mark.parametrize("table", NEW_TENANT_TABLES)
def test_the_serving_path_sees_only_its_tenant_in_the_new_tables(
    postgres_engine: Engine, table: str
) -> None:
    engine = postgres_engine
    _two_tenants(engine)
    store = SqlAlchemyMetricsStore(engine)
    statement = text(f"SELECT DISTINCT tenant_id FROM {table}")  # noqa: S608

    def unscoped(connection: Connection) -> list[str]:
        return list(connection.execute(statement).scalars())

    assert asyncio.run(store.run("two", unscoped)) == ["two"]
    with engine.connect() as connection:
        assert {"one", "two"} <= set(connection.execute(statement).scalars())


def test_a_writer_waiting_for_the_clock_ticks_after_the_holder_and_later(engine: Engine) -> None:
    SqlAlchemyAccessStore(engine).create_tenant("one")
    ticks: dict[str, tuple[float, dt.datetime]] = {}
    first_ticked = threading.Event()

    def write(name: str, hold: float) -> None:
        with writer_lock(engine), engine.begin() as connection:
            stamp = tick(connection, "one")
            ticks[name] = (time.monotonic(), stamp)
            first_ticked.set()
            time.sleep(hold)

    first = threading.Thread(target=write, args=("first", 0.5))
    first.start()
    assert first_ticked.wait(5)
    write("second", 0.0)  # starts while the first holds the clock, waits for its commit
    first.join()
    assert ticks["second"][0] - ticks["first"][0] >= 0.5
    assert ticks["second"][1] > ticks["first"][1]


def test_a_duckdb_file_made_before_the_catalog_gets_its_columns(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'old.duckdb'}"
    engine = create_engine(url)
    schema.metadata.create_all(engine)
    with engine.begin() as connection:
        for table, columns in (
            ("campaigns", ("status", "created_at", "updated_at")),
            ("creators", ("created_at", "updated_at")),
        ):
            for column in columns:
                connection.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        connection.execute(text("INSERT INTO campaigns VALUES ('default', 'old', 'Old')"))
    prepare_schema(engine)
    with engine.connect() as connection:
        row = connection.execute(text("SELECT campaign_id, status FROM campaigns")).one()
    assert tuple(row) == ("old", "active")
    engine.dispose()
