"""Pooled PostgreSQL connections that died (server restarted, backends terminated) are
replaced without an error reaching a client, and a live pool is never pinged per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from analytics.api.app import create_app
from analytics.settings import Settings
from tests.conftest import migrated_postgres_database
from tests.support import VISIBLE_DATA

PATHS = (
    "/campaigns/cmp-001/performance",
    "/creators/top?campaign_id=cmp-001&limit=3",
    "/campaigns/cmp-001/anomalies",
    "/health",
)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    yield from migrated_postgres_database("analytics_dead", VISIBLE_DATA)


@pytest.fixture
def client(database: str) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database,
        anonymous_tenant="default",
        benchmark_fixtures_file=VISIBLE_DATA / "benchmarks.json",
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _terminate_service_backends(database: str) -> int:
    """Ends every other backend of the database, as a server restart would."""
    admin = create_engine(database, isolation_level="AUTOCOMMIT")
    name = make_url(database).database
    try:
        with admin.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            ).scalar_one()
    finally:
        admin.dispose()
    return int(ended)


def test_every_endpoint_answers_at_once_after_its_pooled_connections_died(
    client: TestClient, database: str
) -> None:
    before = {path: client.get(path).raise_for_status().content for path in PATHS}
    assert _terminate_service_backends(database) >= 1
    after = {path: client.get(path) for path in PATHS}
    assert {path: answer.status_code for path, answer in after.items()} == dict.fromkeys(PATHS, 200)
    assert {path: answer.content for path, answer in after.items()} == before


def test_a_request_on_a_live_pool_sends_no_ping(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    for path in PATHS:
        client.get(path).raise_for_status()  # the pools hold used connections now
    pings: list[Any] = []
    for engine in _engines(client):
        original = engine.dialect.do_ping
        monkeypatch.setattr(
            engine.dialect, "do_ping", lambda c, original=original: pings.append(c) or original(c)
        )
    for _ in range(3):
        for path in PATHS:
            assert client.get(path).status_code == 200
    assert pings == []


def _engines(client: TestClient) -> list[Any]:
    """The serving engine and the `/health` probe's."""
    store = client.app.state.services.metrics  # type: ignore[attr-defined]
    return [client.app.state.engine, store._probes.engine]  # type: ignore[attr-defined]
