"""A database that stops answering (frozen network, stalled failover) never hangs the service.

One scenario runs once per module against a real uvicorn server over PostgreSQL through a
loopback proxy: 32 clients send requests without pause, the proxy freezes (it stops passing
bytes and closes nothing), then unfreezes. Each test asserts one behaviour of that run.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import cycle

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from analytics.api.app import create_app
from analytics.settings import Settings
from tests.conftest import migrated_postgres_database
from tests.integration.tcp_proxy import TcpProxy
from tests.support import VISIBLE_DATA

REQUEST_TIMEOUT = 2.0  # DATABASE_REQUEST_TIMEOUT for this server
HEALTH_TIMEOUT = 1.0  # DATABASE_HEALTH_TIMEOUT, its default
MARGIN = 1.5  # scheduling, HTTP and thread hand-offs on a busy 2-core test machine
CLIENTS = 32
FREEZE_SECONDS = 5.0
HANG = 10.0  # the clients' own timeout: a request still unanswered then is a hang
PATHS = (
    "/campaigns/cmp-001/performance",
    "/creators/top?campaign_id=cmp-001&limit=3",
    "/campaigns/cmp-001/anomalies",
)


@dataclass
class Answer:
    path: str
    started: float
    seconds: float
    status: int | None  # None: no answer within HANG seconds
    body: bytes = b""


@dataclass
class StallRun:
    """What the clients saw, times on one monotonic clock."""

    before: dict[str, bytes] = field(default_factory=dict)  # each path's answer before
    frozen_at: float = 0.0
    unfrozen_at: float = 0.0
    answers: list[Answer] = field(default_factory=list)
    health: list[Answer] = field(default_factory=list)
    pool_released_after: float | None = None  # seconds from the last request to no checkout
    recovered: list[Answer] = field(default_factory=list)  # first 200 of each path after

    def during_freeze(self) -> list[Answer]:
        return [a for a in self.answers if self.frozen_at <= a.started < self.unfrozen_at]


def _ask(client: httpx.Client, path: str) -> Answer:
    started = time.monotonic()
    try:
        response = client.get(path)
    except httpx.TimeoutException:
        return Answer(path, started, time.monotonic() - started, None)
    return Answer(path, started, time.monotonic() - started, response.status_code, response.content)


def _keep_asking(base_url: str, paths: Callable[[], str], out: list[Answer], stop: threading.Event):
    with httpx.Client(base_url=base_url, timeout=HANG) as client:
        while not stop.is_set():
            out.append(_ask(client, paths()))


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    yield from migrated_postgres_database("analytics_stall", VISIBLE_DATA)


@pytest.fixture(scope="module")
def proxy(database: str) -> Iterator[TcpProxy]:
    target = make_url(database)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def app(database: str, proxy: TcpProxy) -> FastAPI:
    url = make_url(database).set(host="127.0.0.1", port=proxy.port)
    settings = Settings(
        database_url=url.render_as_string(hide_password=False),
        anonymous_tenant="default",
        database_request_timeout=REQUEST_TIMEOUT,
        benchmark_fixtures_file=VISIBLE_DATA / "benchmarks.json",
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def base_url(app: FastAPI) -> Iterator[str]:
    """The app served by a real uvicorn server in this process (its engine stays visible)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()


def _wait_for_no_checkout(engine: Engine, limit: float) -> float | None:
    started = time.monotonic()
    while engine.pool.checkedout():  # type: ignore[attr-defined]
        if time.monotonic() - started > limit:
            return None
        time.sleep(0.05)
    return time.monotonic() - started


def _first_200(base_url: str, path: str) -> Answer:
    with httpx.Client(base_url=base_url, timeout=HANG) as client:
        deadline = time.monotonic() + 10
        while (answer := _ask(client, path)).status != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
    return answer


@pytest.fixture(scope="module")
def run(app: FastAPI, base_url: str, proxy: TcpProxy) -> StallRun:
    """Normal traffic, a freeze under 32 clients with /health polled, then an unfreeze."""
    result = StallRun()
    with httpx.Client(base_url=base_url, timeout=HANG) as client:
        for path in PATHS:
            result.before[path] = client.get(path).raise_for_status().content
    stop = threading.Event()
    paths = cycle(PATHS)
    clients = [
        threading.Thread(target=_keep_asking, args=(base_url, paths.__next__, result.answers, stop))
        for _ in range(CLIENTS)
    ]
    health = threading.Thread(
        target=_keep_asking, args=(base_url, lambda: "/health", result.health, stop)
    )
    for thread in [*clients, health]:
        thread.start()
    time.sleep(1.0)  # the pool fills with connections that worked
    proxy.freeze()
    result.frozen_at = time.monotonic()
    time.sleep(FREEZE_SECONDS)
    stop.set()
    for thread in [*clients, health]:
        thread.join()
    # Still frozen: every stuck connection must have been released by now or very soon.
    result.pool_released_after = _wait_for_no_checkout(app.state.engine, limit=10)
    proxy.unfreeze()
    result.unfrozen_at = time.monotonic()
    result.recovered = [_first_200(base_url, path) for path in [*PATHS, "/health"]]
    return result


def test_every_request_during_a_freeze_answers_503_within_the_request_timeout(
    run: StallRun,
) -> None:
    frozen = [a for a in run.during_freeze() if a.started >= run.frozen_at + 0.1]
    assert len(frozen) >= CLIENTS
    assert any(a.started > run.frozen_at + REQUEST_TIMEOUT for a in frozen)  # kept arriving
    assert {a.status for a in frozen} == {503}
    assert {a.body for a in frozen} == {b'{"detail":"the metrics store is unavailable"}'}
    assert max(a.seconds for a in frozen) <= REQUEST_TIMEOUT + MARGIN


def test_requests_in_flight_when_the_freeze_starts_never_hang(run: StallRun) -> None:
    around = [a for a in run.answers if abs(a.started - run.frozen_at) < REQUEST_TIMEOUT]
    assert {a.status for a in around} <= {200, 503}
    assert max(a.seconds for a in around) <= REQUEST_TIMEOUT + MARGIN


def test_health_during_a_freeze_says_database_error_within_its_timeout(run: StallRun) -> None:
    frozen = [a for a in run.health if run.frozen_at + 0.1 <= a.started < run.unfrozen_at]
    assert len(frozen) >= 3
    assert {a.status for a in frozen} == {200}
    assert {a.body for a in frozen} == {
        b'{"status":"degraded","database":"error","benchmark_service":"fixture",'
        b'"dataset":"unknown"}'
    }
    assert max(a.seconds for a in frozen) <= HEALTH_TIMEOUT + MARGIN


def test_stalled_connections_are_released_while_the_network_is_still_frozen(
    run: StallRun,
) -> None:
    assert run.pool_released_after is not None
    assert run.pool_released_after <= REQUEST_TIMEOUT + 3.0  # + the 3 s connect timeout


def test_after_an_unfreeze_every_endpoint_answers_again_with_the_same_data(
    run: StallRun,
) -> None:
    *questions, health = run.recovered
    assert [(a.status, a.body) for a in questions] == [(200, run.before[p]) for p in PATHS]
    assert health.status == 200
    assert health.body.startswith(b'{"status":"ok","database":"ok"')
    assert max(a.started + a.seconds for a in run.recovered) - run.unfrozen_at <= 5.0


def _client(database_url: str | None, request_timeout: float) -> TestClient:
    settings = Settings(
        database_url=database_url,
        data_dir=None if database_url else VISIBLE_DATA,
        anonymous_tenant="default",
        database_request_timeout=request_timeout,
        benchmark_fixtures_file=VISIBLE_DATA / "benchmarks.json",
    )
    return TestClient(create_app(settings), raise_server_exceptions=False)


def test_a_query_waiting_on_the_database_answers_503_at_the_deadline_and_frees_its_connection(
    database: str,
) -> None:
    locker = create_engine(database)
    try:
        with locker.connect() as lock, _client(database, request_timeout=0.5) as client:
            lock.execute(text("LOCK TABLE campaign_day_totals IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            answer = client.get("/campaigns/cmp-001/performance")
            seconds = time.monotonic() - started
            engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
            released = _wait_for_no_checkout(engine, limit=1.0)
            health = client.get("/health").json()["database"]
            lock.rollback()  # only now may the statement proceed
        assert (answer.status_code, answer.json()) == (
            503,
            {"detail": "the metrics store is unavailable"},
        )
        assert 0.5 <= seconds <= 0.5 + MARGIN
        assert released is not None  # cut at the deadline, not when the lock goes
        assert released <= 0.5
        assert health == "ok"
    finally:
        locker.dispose()


def test_the_embedded_engine_has_no_deadline_to_miss() -> None:
    with _client(None, request_timeout=1e-9) as client:
        answer = client.get("/campaigns/cmp-001/performance")
    assert answer.status_code == 200
    assert answer.json()["campaign_id"] == "cmp-001"
