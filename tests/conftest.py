from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from analytics.adapters import migrations
from analytics.adapters.dataset_loader import load_dataset
from analytics.api.app import create_app
from analytics.settings import Settings
from tests.support import DataDir

POSTGRES_URL_VARIABLE = "ANALYTICS_TEST_DATABASE_URL"
REQUIRE_VARIABLE = "ANALYTICS_REQUIRE_DATABASE_TESTS"
LOCAL_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@functools.cache
def postgres_server() -> tuple[str | None, str]:
    """(the test server's URL or None, why there is none): ANALYTICS_TEST_DATABASE_URL when
    set, else the local default address when a server answers there."""
    url = os.environ.get(POSTGRES_URL_VARIABLE) or LOCAL_POSTGRES_URL
    try:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        psycopg.connect(dsn, connect_timeout=2).close()
    except (psycopg.Error, ValueError) as error:
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        reason = (
            f"PostgreSQL suites skipped: no server answers at {make_url(url)!r} ({first_line}); "
            f"set {POSTGRES_URL_VARIABLE}=postgresql+psycopg://… to point at one"
        )
        return None, reason
    return url, ""


REDIS_URL_VARIABLE = "ANALYTICS_TEST_REDIS_URL"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/13"  # a database number of the tests' own


@functools.cache
def redis_server() -> tuple[str | None, str]:
    """(the test Redis URL or None, why there is none): ANALYTICS_TEST_REDIS_URL when set,
    else database 13 of the local server when one answers there."""
    url = os.environ.get(REDIS_URL_VARIABLE) or LOCAL_REDIS_URL
    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, ValueError) as error:
        reason = (
            f"Redis suites skipped: no server answers at {url!r} ({error}); "
            f"set {REDIS_URL_VARIABLE}=redis://… to point at one"
        )
        return None, reason
    return url, ""


def require(available: bool, reason: str) -> None:
    """Skip the test when a server it needs is not there, or fail it where CI requires
    every database suite to run."""
    if available:
        return
    if os.environ.get(REQUIRE_VARIABLE):
        pytest.fail(f"{reason} ({REQUIRE_VARIABLE} is set: skipping is an error)")
    pytest.skip(reason)


def _emptied_redis() -> Iterator[str]:
    url, reason = redis_server()
    require(url is not None, reason)
    assert url is not None
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The tests' Redis database, emptied before and after the test."""
    yield from _emptied_redis()


@pytest.fixture(scope="module")
def redis_url_module() -> Iterator[str]:
    """The tests' Redis database, emptied before and after the module."""
    yield from _emptied_redis()


def pytest_configure(config: pytest.Config) -> None:
    """Without a PostgreSQL server the coverage gate, which counts its suites, is off."""
    url, _ = postgres_server()
    if url is None and not os.environ.get(REQUIRE_VARIABLE):
        coverage = config.pluginmanager.get_plugin("_cov")
        if coverage is not None:
            coverage.options.cov_fail_under = None


def pytest_report_header() -> str:
    url, reason = postgres_server()
    return reason if url is None else f"PostgreSQL suites run against {make_url(url)!r}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    url, reason = postgres_server()
    if url is None:
        terminalreporter.write_line(f"{reason}; the coverage gate is not applied", yellow=True)


def new_postgres_database(prefix: str = "analytics_test") -> tuple[str, Callable[[], None]]:
    """A fresh, empty database on the test server: (its URL, a function dropping it).

    Skips the test when no server answers, or fails it where CI requires one.
    """
    base, reason = postgres_server()
    if base is None:
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


def migrated_postgres_database(
    prefix: str = "analytics_test", data: Path | None = None
) -> Iterator[str]:
    """For a fixture to yield from: a fresh database built by the real migrations (and
    `data` loaded into it when given), dropped afterwards."""
    url, drop = new_postgres_database(prefix)
    engine = create_engine(url)
    try:
        migrations.upgrade(engine)
        if data is not None:
            load_dataset(engine, data, dataset_name=data.name)
    finally:
        engine.dispose()
    yield url
    drop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One database for the session, built by the real migrations."""
    yield from migrated_postgres_database()


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


SETTINGS_VARIABLES = tuple(name.upper() for name in Settings.model_fields)


@pytest.fixture(autouse=True, scope="session")
def _no_rate_limits_by_default() -> Iterator[None]:
    """Apps built by module- and session-scoped fixtures (before the function-scoped clean
    environment below) and served processes get no rate limits either, unless asked for."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RATE_LIMITS_ENABLED", "false")
        yield


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests configure the service explicitly; the developer's environment never leaks in."""
    for name in {*CONTRACT_VARIABLES, *SETTINGS_VARIABLES}:
        monkeypatch.delenv(name, raising=False)
    # No scheduler in every app a test starts (and none left running): the tests of
    # scheduled work turn it on where they mean to.
    monkeypatch.setenv("SCHEDULER_ENABLED", "false")
    # No rate limits either (suites send hundreds of requests a minute): the tests of rate
    # limits turn them on.
    monkeypatch.setenv("RATE_LIMITS_ENABLED", "false")
    # Unpaced scans: a scan walks every tenant of the shared test database, and resting
    # three times each batch's time between batches would only add idle minutes. The tests
    # of pacing set it where they mean to.
    monkeypatch.setenv("SCAN_PAUSE_FACTOR", "0")


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
