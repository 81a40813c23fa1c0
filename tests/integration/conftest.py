from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from analytics.adapters import migrations
from tests.conftest import new_postgres_database
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
