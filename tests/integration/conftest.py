from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from analytics.adapters import migrations
from tests.conftest import migrated_postgres_database, new_postgres_database
from tests.integration.benchmark_server import BenchmarkServer, refused_port, running_server


@pytest.fixture
def benchmark_server() -> Iterator[BenchmarkServer]:
    """A real benchmark service on 127.0.0.1; each test scripts what it answers."""
    with running_server() as server:
        yield server


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port where nothing listens (connections are refused)."""
    with refused_port() as port:
        yield port


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A new PostgreSQL database, not migrated."""
    url, drop = new_postgres_database("analytics_cli")
    yield url
    drop()


@pytest.fixture(scope="module")
def module_postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database of the module's own: for the tests of the anomaly
    scan, which walks every tenant of its database (the session's database holds every
    tenant the suite has made by then)."""
    yield from migrated_postgres_database()


@pytest.fixture(params=["duckdb", "postgresql"])
def loadable_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database ready for `analytics load`: a new DuckDB file, or a migrated PostgreSQL."""
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'analytics.duckdb'}"
        engine = create_engine(url)
        engine.connect().close()  # an empty file, never loaded
        engine.dispose()
        yield url
        return
    url, drop = new_postgres_database("analytics_cli")
    engine = create_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    yield url
    drop()


def load_killed_mid_copy(engine: Engine, database_url: str, *arguments: str) -> None:
    """Run `analytics load ARGUMENTS…` against `database_url` and SIGKILL it while its
    COPY of metric rows is in flight (as seen by `engine`)."""
    loader = subprocess.Popen(
        [sys.executable, "-m", "analytics", "load", *arguments],
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    copying = text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY %campaign_daily%'")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and loader.poll() is None:
            with engine.connect() as connection:
                if connection.execute(copying).scalar_one():
                    break
            time.sleep(0.05)
        assert loader.poll() is None, "the load finished before it could be killed"
        loader.send_signal(signal.SIGKILL)
    finally:
        loader.wait(timeout=30)
