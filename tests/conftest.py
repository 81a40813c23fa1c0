from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from analytics.adapters import migrations
from analytics.api.app import create_app
from analytics.settings import Settings
from tests.support import DataDir

POSTGRES_URL_VARIABLE = "ANALYTICS_TEST_DATABASE_URL"
REQUIRE_VARIABLE = "ANALYTICS_REQUIRE_DATABASE_TESTS"


def new_postgres_database(prefix: str = "analytics_test") -> tuple[str, Callable[[], None]]:
    """A fresh, empty database on the test server: (its URL, a function dropping it).

    Skips the test when no server is configured, or fails it where CI requires one.
    """
    base = os.environ.get(POSTGRES_URL_VARIABLE)
    if not base:
        reason = f"PostgreSQL tests need {POSTGRES_URL_VARIABLE}=postgresql+psycopg://…"
        if os.environ.get(REQUIRE_VARIABLE):
            pytest.fail(f"{reason} ({REQUIRE_VARIABLE} is set: skipping is an error)")
        pytest.skip(reason)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    return url, drop


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One database for the session, built by the real migrations."""
    url, drop = new_postgres_database()
    engine = create_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    yield url
    drop()


@pytest.fixture(params=["duckdb", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Every app-level test runs on both engines: None is the embedded DuckDB."""
    if request.param == "duckdb":
        return None
    return request.getfixturevalue("postgres_url")


CONTRACT_VARIABLES = (
    "DATA_DIR",
    "DATASET_NAME",
    "DATABASE_URL",
    "BENCHMARK_API_BASE",
    "BENCHMARK_FIXTURES_FILE",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests configure the service explicitly; the developer's environment never leaks in."""
    for name in CONTRACT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(tmp_path: Path, database_url: str | None) -> Iterator[ClientFactory]:
    """`make_client(data, **settings)` → a started TestClient over that data.

    `data` is a DataDir (written under tmp_path, its benchmarks.json used as fixture file
    when it has one) or an existing directory path.
    """
    clients: list[TestClient] = []

    def factory(data: DataDir | Path, **overrides: Any) -> TestClient:
        if isinstance(data, DataDir):
            directory = data.write(tmp_path / f"data-{len(clients)}")
            if data.benchmarks is not None:
                overrides.setdefault("benchmark_fixtures_file", directory / "benchmarks.json")
        else:
            directory = data
        overrides.setdefault("database_url", database_url)
        settings = Settings(data_dir=directory, **overrides)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Where CI requires the database suite, any skipped test fails the run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if os.environ.get(REQUIRE_VARIABLE) and skipped:
        reporter.write_line(f"{len(skipped)} test(s) skipped while {REQUIRE_VARIABLE} is set")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
