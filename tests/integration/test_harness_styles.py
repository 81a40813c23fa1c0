"""The app as harnesses drive it: `TestClient(create_app())` with and without its lifespan,
configured by the environment alone, and a real server started by `analytics serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from analytics.api.app import create_app
from tests.conftest import CONTRACT_VARIABLES
from tests.integration.benchmark_server import BenchmarkServer, thresholds_reply
from tests.support import VISIBLE_DATA

# CONTRACT.md §4-5 on data/visible, byte for byte.
EXPECTED = {
    "/health": {
        "status": "ok",
        "database": "ok",
        "benchmark_service": "fixture",
        "dataset": "visible",
    },
    "/campaigns/cmp-001/performance": {
        "campaign_id": "cmp-001",
        "campaign_name": "Spring Launch",
        "totals": {
            "total_impressions": 5000,
            "total_clicks": 212,
            "total_conversions": 21,
            "total_spend": 890.0,
            "total_revenue": 3230.0,
            "ctr": 0.0424,
            "cvr": 0.0991,
            "roas": 3.6292,
        },
    },
    "/creators/top?campaign_id=cmp-001&limit=2": {
        "campaign_id": "cmp-001",
        "limit": 2,
        "creators": [
            {
                "campaign_id": "cmp-001",
                "creator_id": "crt-001",
                "creator_name": "Avery",
                "total_impressions": 2200,
                "total_clicks": 110,
                "total_conversions": 12,
                "total_spend": 420.0,
                "ctr": 0.05,
            },
            {
                "campaign_id": "cmp-001",
                "creator_id": "crt-002",
                "creator_name": "Blake",
                "total_impressions": 2000,
                "total_clicks": 70,
                "total_conversions": 6,
                "total_spend": 350.0,
                "ctr": 0.035,
            },
        ],
    },
    "/campaigns/cmp-002/anomalies": {
        "campaign_id": "cmp-002",
        "thresholds": {"min_ctr": 0.03, "min_roas": 2.5},
        "alerts": [
            {
                "metric_date": "2026-01-03",
                "issues": ["ctr_below_threshold", "roas_below_threshold"],
                "ctr": 0.0263,
                "roas": 2.2059,
            }
        ],
    },
    "/campaigns/cmp-003/anomalies": {
        "campaign_id": "cmp-003",
        "thresholds": {"min_ctr": 0.02, "min_roas": 1.5},
        "alerts": [],
    },
    "/creators/top?campaign_id=cmp-004&limit=2": None,  # checked by id order below
    "/campaigns/cmp-005/anomalies": {
        "campaign_id": "cmp-005",
        "thresholds": {"min_ctr": 0.03, "min_roas": 1.0},
        "alerts": [
            {
                "metric_date": "2026-01-06",
                "issues": ["roas_below_threshold", "spend_without_conversions"],
                "ctr": 0.05,
                "roas": 0.0,
            }
        ],
    },
}
NOT_FOUND = ("/campaigns/cmp-404/performance", {"detail": "campaign 'cmp-404' not found"})


def _check_contract(get: Any) -> None:
    for path, expected in EXPECTED.items():
        response = get(path)
        assert response.status_code == 200, path
        if path.startswith("/creators/top?campaign_id=cmp-004"):
            ids = [creator["creator_id"] for creator in response.json()["creators"]]
            assert ids == ["crt-003", "crt-004"]
        else:
            assert response.json() == expected, path
    response = get(NOT_FOUND[0])
    assert (response.status_code, response.json()) == (404, NOT_FOUND[1])


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, database_url: str | None) -> None:
    """The sample configured as `make run` does, through the environment only."""
    monkeypatch.setenv("DATA_DIR", str(VISIBLE_DATA))
    monkeypatch.setenv("BENCHMARK_FIXTURES_FILE", str(VISIBLE_DATA / "benchmarks.json"))
    if database_url is not None:
        monkeypatch.setenv("DATABASE_URL", database_url)


@contextmanager
def harness(with_lifespan: bool) -> Iterator[TestClient]:
    client = TestClient(create_app())
    if not with_lifespan:
        yield client  # the plain pattern of FastAPI's testing docs: no `with`
        return
    with client:
        yield client


@pytest.mark.usefixtures("environment")
@pytest.mark.parametrize("with_lifespan", [False, True], ids=["no-lifespan", "lifespan"])
def test_every_endpoint_answers_the_contract_in_both_harness_styles(
    with_lifespan: bool,
) -> None:
    with harness(with_lifespan) as client:
        _check_contract(client.get)


@pytest.mark.usefixtures("environment")
@pytest.mark.parametrize("with_lifespan", [False, True], ids=["no-lifespan", "lifespan"])
def test_head_answers_like_get_without_a_body_in_both_harness_styles(
    with_lifespan: bool,
) -> None:
    with harness(with_lifespan) as client:
        for path in ("/health", "/campaigns/cmp-001/performance", NOT_FOUND[0]):
            get, head = client.get(path), client.head(path)
            assert head.status_code == get.status_code
            assert head.content == b""
            assert head.headers["content-length"] == str(len(get.content))
            assert head.headers["content-type"] == get.headers["content-type"]


@pytest.mark.parametrize("with_lifespan", [False, True], ids=["no-lifespan", "lifespan"])
def test_anomalies_are_502_with_the_benchmark_service_down_in_both_harness_styles(
    monkeypatch: pytest.MonkeyPatch, dead_port: int, with_lifespan: bool
) -> None:
    monkeypatch.setenv("DATA_DIR", str(VISIBLE_DATA))
    monkeypatch.setenv("BENCHMARK_API_BASE", f"http://127.0.0.1:{dead_port}")
    monkeypatch.setenv("BENCHMARK_TIME_BUDGET", "0.5")
    with harness(with_lifespan) as client:
        response = client.get("/campaigns/cmp-002/anomalies")
        assert response.status_code == 502
        assert response.json() == {"detail": "benchmark thresholds are unavailable"}
        assert client.get("/health").json()["benchmark_service"] == "error"


@pytest.mark.parametrize("with_lifespan", [False, True], ids=["no-lifespan", "lifespan"])
def test_benchmark_service_answers_reach_requests_in_both_harness_styles(
    monkeypatch: pytest.MonkeyPatch, benchmark_server: BenchmarkServer, with_lifespan: bool
) -> None:
    """Without a lifespan each request runs in a loop of its own: the shared client must
    still work for every one of them."""
    benchmark_server.always(thresholds_reply("0.03", "2.5"))
    monkeypatch.setenv("DATA_DIR", str(VISIBLE_DATA))
    monkeypatch.setenv("BENCHMARK_API_BASE", benchmark_server.base_url)
    with harness(with_lifespan) as client:
        for _ in range(3):
            response = client.get("/campaigns/cmp-002/anomalies")
            assert response.json() == EXPECTED["/campaigns/cmp-002/anomalies"]
        assert client.get("/health").json()["status"] == "ok"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_real_server_answers_the_contract_and_head(database_url: str | None) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k.upper() not in CONTRACT_VARIABLES}
    env |= {
        "DATA_DIR": str(VISIBLE_DATA),
        "BENCHMARK_FIXTURES_FILE": str(VISIBLE_DATA / "benchmarks.json"),
    }
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "analytics", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    client.get("/health")
                    break
                except httpx.TransportError:
                    assert server.poll() is None, server.stderr.read() if server.stderr else ""
                    assert time.monotonic() < deadline, "the server did not start in 30 s"
                    time.sleep(0.1)
            _check_contract(client.get)
            head = client.head("/health")
            assert (head.status_code, head.content) == (200, b"")
    finally:
        server.terminate()
        server.wait(timeout=10)
