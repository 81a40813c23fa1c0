"""The benchmark service's storage, on SQLite and on PostgreSQL, migrated and empty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, delete

from analytics.benchmark_service.app import create_app
from analytics.benchmark_service.schema import migrate, thresholds
from analytics.benchmark_service.settings import BenchmarkSettings
from analytics.benchmark_service.storage import create_storage_engine
from tests.conftest import new_postgres_database

OPERATOR_TOKEN = "operator-token-5b1e0c7a"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def path_of(campaign_id: str) -> str:
    """The id as one percent-encoded path segment, `.` and `..` too (as the gateway sends)."""
    segment = quote(campaign_id, safe="")
    return f"/benchmarks/{segment.replace('.', '%2E') if segment in ('.', '..') else segment}"


@pytest.fixture(autouse=True)
def _no_benchmark_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's BENCHMARKS_* variables never reach a test."""
    for name in BenchmarkSettings.model_fields:
        monkeypatch.delenv(f"BENCHMARKS_{name.upper()}", raising=False)


@pytest.fixture(scope="session")
def _benchmarks_postgres() -> Iterator[str]:
    url, drop = new_postgres_database("benchmarks_test")
    engine = create_storage_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def benchmarks_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty benchmark database: a new SQLite file, or the session's PostgreSQL
    database emptied after the test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'benchmarks.db'}"
        engine = create_storage_engine(url)
        migrate(engine)
        engine.dispose()
        yield url
        return
    url = request.getfixturevalue("_benchmarks_postgres")
    yield url
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(delete(thresholds))
    engine.dispose()


@pytest.fixture
def service(benchmarks_url: str) -> Iterator[TestClient]:
    """The benchmark service over that database, with an operator token configured."""
    settings = BenchmarkSettings(database_url=benchmarks_url, operator_token=OPERATOR_TOKEN)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client
