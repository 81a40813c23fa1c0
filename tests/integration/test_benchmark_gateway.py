"""The benchmark gateway against a real HTTP server on 127.0.0.1 (CONTRACT.md §2, §3, §4).

First the gateway on its own (`HttpxBenchmarkGateway` over an `httpx.AsyncClient`), then the
whole service through HTTP, wired by `create_app` from settings.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from analytics.adapters.benchmark_gateways import HttpxBenchmarkGateway, RetryPolicy
from analytics.api.app import create_app
from analytics.domain.errors import BenchmarkUnavailable
from analytics.domain.models import ComponentStatus, Thresholds
from analytics.settings import ConfigurationError, Settings
from tests.conftest import ClientFactory
from tests.integration.benchmark_server import (
    BenchmarkServer,
    Reply,
    json_reply,
    thresholds_reply,
)
from tests.support import VISIBLE_DATA, DataDir

TIME_BUDGET = 1.0
READ_TIMEOUT = 0.3
CONNECT_TIMEOUT = 0.3
MAX_ATTEMPTS = 3
SLACK = 1.0  # generous allowance over the budget for scheduling and teardown

FAST_POLICY = RetryPolicy(
    max_attempts=MAX_ATTEMPTS,
    initial_backoff=0.01,
    max_backoff=0.05,
    time_budget=TIME_BUDGET,
    health_timeout=READ_TIMEOUT,
)
FAST_SETTINGS: dict[str, Any] = {
    "benchmark_time_budget": TIME_BUDGET,
    "benchmark_read_timeout": READ_TIMEOUT,
    "benchmark_connect_timeout": CONNECT_TIMEOUT,
    "benchmark_max_attempts": MAX_ATTEMPTS,
    "benchmark_health_timeout": READ_TIMEOUT,
}
SECRET = "UPSTREAM-SECRET-7f3a9c"
GENERIC_502 = {"detail": "benchmark thresholds are unavailable"}
CMP_002_ANOMALIES = {
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
}


@asynccontextmanager
async def http_gateway(
    base_url: str, policy: RetryPolicy = FAST_POLICY
) -> AsyncIterator[HttpxBenchmarkGateway]:
    timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as client:
        yield HttpxBenchmarkGateway(lambda: client, policy)


@pytest.fixture
async def gateway(benchmark_server: BenchmarkServer) -> AsyncIterator[HttpxBenchmarkGateway]:
    async with http_gateway(benchmark_server.base_url) as gateway:
        yield gateway


async def unavailable_after(gateway: HttpxBenchmarkGateway, campaign_id: str = "cmp-001") -> float:
    """Seconds until `thresholds_for` raised BenchmarkUnavailable (fails if it returned)."""
    started = time.monotonic()
    with pytest.raises(BenchmarkUnavailable):
        await gateway.thresholds_for(campaign_id=campaign_id)
    return time.monotonic() - started


# --- the gateway on its own: valid answers and retries ------------------------------------


async def test_valid_answer_gives_thresholds_with_exact_decimal_values(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway
) -> None:
    benchmark_server.script(thresholds_reply("0.03", "2.5"))

    thresholds = await gateway.thresholds_for(campaign_id="cmp-001")

    assert thresholds == Thresholds(min_ctr=Decimal("0.03"), min_roas=Decimal("2.5"))
    assert type(thresholds.min_ctr) is Decimal
    assert str(thresholds.min_ctr) == "0.03"  # not 0.0299999999999999988897769753748…
    assert benchmark_server.requests == ["/benchmarks/cmp-001"]


async def test_integer_and_zero_thresholds_are_valid(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway
) -> None:
    benchmark_server.script(thresholds_reply("0", "3"))

    thresholds = await gateway.thresholds_for(campaign_id="cmp-001")

    assert thresholds == Thresholds(min_ctr=Decimal(0), min_roas=Decimal(3))


async def test_503_then_200_is_retried_and_gives_the_thresholds(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway
) -> None:
    benchmark_server.script(Reply(status=503, body=b"busy"), thresholds_reply("0.03", "2.5"))

    thresholds = await gateway.thresholds_for(campaign_id="cmp-001")

    assert thresholds == Thresholds(min_ctr=Decimal("0.03"), min_roas=Decimal("2.5"))
    assert benchmark_server.requests == ["/benchmarks/cmp-001", "/benchmarks/cmp-001"]


async def test_read_timeout_then_200_is_retried_and_gives_the_thresholds(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway
) -> None:
    benchmark_server.script(
        thresholds_reply(delay=READ_TIMEOUT + 0.3), thresholds_reply("0.05", "1.5")
    )

    thresholds = await gateway.thresholds_for(campaign_id="cmp-001")

    assert thresholds == Thresholds(min_ctr=Decimal("0.05"), min_roas=Decimal("1.5"))
    assert len(benchmark_server.requests) == 2


async def test_default_backoff_retries_a_single_503_well_inside_a_one_second_budget(
    benchmark_server: BenchmarkServer,
) -> None:
    # The production backoff (initial 0.1 s) with a 1 s budget: one transient failure must
    # cost about the initial backoff, never most of the budget in jitter. Repeated because
    # the jitter is random.
    policy = RetryPolicy(max_attempts=MAX_ATTEMPTS, time_budget=TIME_BUDGET)
    async with http_gateway(benchmark_server.base_url, policy) as gateway:
        for _ in range(5):
            benchmark_server.script(Reply(status=503), thresholds_reply())
            started = time.monotonic()
            await gateway.thresholds_for(campaign_id="cmp-001")
            assert time.monotonic() - started < 0.5
    assert len(benchmark_server.requests) == 10


async def test_persistent_500_gives_unavailable_after_exactly_max_attempts_within_budget(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway
) -> None:
    benchmark_server.always(Reply(status=500, body=b"boom"))

    elapsed = await unavailable_after(gateway)

    assert benchmark_server.requests == ["/benchmarks/cmp-001"] * MAX_ATTEMPTS
    assert elapsed < TIME_BUDGET


async def test_reply_slower_than_read_timeout_gives_unavailable_within_budget(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway
) -> None:
    benchmark_server.always(thresholds_reply(delay=5.0))

    elapsed = await unavailable_after(gateway)

    assert elapsed >= READ_TIMEOUT
    assert elapsed < TIME_BUDGET + SLACK
    assert 1 <= len(benchmark_server.requests) <= MAX_ATTEMPTS


async def test_time_budget_ends_retries_before_max_attempts(
    benchmark_server: BenchmarkServer,
) -> None:
    policy = RetryPolicy(
        max_attempts=10, initial_backoff=0.01, max_backoff=0.05, time_budget=TIME_BUDGET
    )
    benchmark_server.always(thresholds_reply(delay=5.0))
    async with http_gateway(benchmark_server.base_url, policy) as gateway:
        elapsed = await unavailable_after(gateway)

    assert elapsed < TIME_BUDGET + SLACK
    # each attempt costs at least READ_TIMEOUT, so the budget allows at most 1 s / 0.3 s + 1
    assert len(benchmark_server.requests) <= 4


async def test_body_dripping_slower_than_the_budget_gives_unavailable_within_budget(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway
) -> None:
    # every byte arrives inside the read timeout, so only the total budget can stop it
    benchmark_server.always(thresholds_reply(drip=0.1))

    elapsed = await unavailable_after(gateway)

    assert elapsed < TIME_BUDGET + SLACK


async def test_connection_refused_gives_unavailable_within_budget(dead_port: int) -> None:
    async with http_gateway(f"http://127.0.0.1:{dead_port}") as gateway:
        elapsed = await unavailable_after(gateway)

    assert elapsed < TIME_BUDGET + SLACK


# --- the gateway on its own: answers that are not thresholds ------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 429])
async def test_4xx_gives_unavailable_without_retry(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway, status: int
) -> None:
    benchmark_server.always(json_reply({"detail": "nope"}, status=status))

    await unavailable_after(gateway)

    assert benchmark_server.requests == ["/benchmarks/cmp-001"]


@pytest.mark.parametrize("status", [201, 204, 301, 302])
async def test_non_200_success_or_redirect_gives_unavailable_without_retry(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway, status: int
) -> None:
    location = {"Location": f"{benchmark_server.base_url}/benchmarks/elsewhere"}
    body = b"" if status == 204 else b'{"min_ctr": 0.03, "min_roas": 2.5}'
    benchmark_server.always(Reply(status=status, body=body, headers=location))

    await unavailable_after(gateway)

    assert benchmark_server.requests == ["/benchmarks/cmp-001"]


BAD_BODIES = {
    "html": b"<!doctype html><html><body>502 Bad Gateway</body></html>",
    "empty": b"",
    "truncated": b'{"min_ctr": 0.03, "min_roas": 2.',
    "not_utf8": b'{"min_ctr": 0.03, "min_roas": "\xff\xfe"}',
    "array": b"[0.03, 2.5]",
    "number": b"0.03",
    "missing_min_ctr": b'{"min_roas": 2.5}',
    "missing_min_roas": b'{"min_ctr": 0.03}',
    "empty_object": b"{}",
    "string_threshold": b'{"min_ctr": "abc", "min_roas": 2.5}',
    "numeric_string_threshold": b'{"min_ctr": "0.03", "min_roas": 2.5}',
    "true_threshold": b'{"min_ctr": true, "min_roas": 2.5}',
    "false_threshold": b'{"min_ctr": 0.03, "min_roas": false}',
    "null_threshold": b'{"min_ctr": null, "min_roas": 2.5}',
    "list_threshold": b'{"min_ctr": [0.03], "min_roas": 2.5}',
    "object_threshold": b'{"min_ctr": {"value": 0.03}, "min_roas": 2.5}',
    "negative_ctr": b'{"min_ctr": -0.01, "min_roas": 2.5}',
    "negative_roas": b'{"min_ctr": 0.03, "min_roas": -1}',
    "nan": b'{"min_ctr": NaN, "min_roas": 2.5}',
    "infinity": b'{"min_ctr": 0.03, "min_roas": Infinity}',
    "minus_infinity": b'{"min_ctr": -Infinity, "min_roas": 2.5}',
    "deeply_nested": b'{"min_ctr": ' + b"[" * 100_000,
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_200_without_valid_thresholds_gives_unavailable_without_retry(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway, body: bytes
) -> None:
    benchmark_server.always(Reply(body=body))

    await unavailable_after(gateway)

    assert benchmark_server.requests == ["/benchmarks/cmp-001"]


async def test_html_content_type_with_html_body_gives_unavailable(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway
) -> None:
    benchmark_server.always(Reply(body=BAD_BODIES["html"], content_type="text/html"))

    await unavailable_after(gateway)


async def test_body_that_cannot_be_decompressed_gives_unavailable(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway
) -> None:
    benchmark_server.always(Reply(body=b"not gzip at all", headers={"Content-Encoding": "gzip"}))

    await unavailable_after(gateway)


# --- the gateway on its own: the request it sends -----------------------------------------


@pytest.mark.parametrize(
    "campaign_id", ["cmp/ü x", "a?b#c", "%41", "cmp.dot", "..", ".", "cmp%2F..%2F"]
)
async def test_campaign_id_travels_as_one_percent_encoded_path_segment(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway, campaign_id: str
) -> None:
    benchmark_server.always(thresholds_reply())

    await gateway.thresholds_for(campaign_id=campaign_id)

    [path] = benchmark_server.requests
    prefix, _, segment = path.rpartition("/")
    assert prefix == "/benchmarks"
    assert unquote(segment) == campaign_id


async def test_non_ascii_campaign_id_is_utf8_percent_encoded(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway
) -> None:
    benchmark_server.always(thresholds_reply())

    await gateway.thresholds_for(campaign_id="cmp/ü x")

    assert benchmark_server.requests == ["/benchmarks/cmp%2F%C3%BC%20x"]


# --- the gateway on its own: status() -----------------------------------------------------


@pytest.mark.parametrize("status", [200, 204])
async def test_status_is_ok_when_health_answers_2xx(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway, status: int
) -> None:
    benchmark_server.health(Reply(status=status))

    assert await gateway.status() is ComponentStatus.OK
    assert benchmark_server.requests == ["/health"]


@pytest.mark.parametrize("status", [500, 503, 404])
async def test_status_is_error_when_health_answers_non_2xx(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway, status: int
) -> None:
    benchmark_server.health(Reply(status=status))

    assert await gateway.status() is ComponentStatus.ERROR


async def test_status_is_error_when_health_is_slower_than_its_timeout(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway
) -> None:
    benchmark_server.health(Reply(delay=5.0))

    started = time.monotonic()
    assert await gateway.status() is ComponentStatus.ERROR
    assert time.monotonic() - started < TIME_BUDGET + SLACK


async def test_status_is_ok_on_2xx_without_waiting_for_a_slow_health_body(
    benchmark_server: BenchmarkServer, gateway: HttpxBenchmarkGateway
) -> None:
    # the status line arrives at once; the body would take 10 s, each byte inside the
    # read timeout, so nothing but not reading it keeps /health prompt
    benchmark_server.health(Reply(body=b" " * 100, drip=0.1))

    started = time.monotonic()
    assert await gateway.status() is ComponentStatus.OK
    assert time.monotonic() - started < TIME_BUDGET


async def test_status_is_error_when_connection_is_refused(dead_port: int) -> None:
    async with http_gateway(f"http://127.0.0.1:{dead_port}") as gateway:
        assert await gateway.status() is ComponentStatus.ERROR


# --- through the service: failures become a generic 502 -----------------------------------

SECRET_HEADERS = {"X-Upstream-Secret": SECRET}
FAILING_REPLIES = {
    "500": Reply(status=500, body=f"Traceback: {SECRET}".encode(), headers=SECRET_HEADERS),
    "503": Reply(status=503, body=SECRET.encode(), headers=SECRET_HEADERS),
    "404": json_reply({"detail": SECRET}, status=404, headers=SECRET_HEADERS),
    "html": Reply(
        body=f"<html><body>{SECRET}</body></html>".encode(),
        content_type="text/html",
        headers=SECRET_HEADERS,
    ),
    "missing_key": json_reply({"min_ctr": 0.03, SECRET: 1}, headers=SECRET_HEADERS),
    "non_numeric": json_reply({"min_ctr": SECRET, "min_roas": 2.5}, headers=SECRET_HEADERS),
    "negative": json_reply({"min_ctr": -0.03, "min_roas": 2.5, "note": SECRET}),
    "nan": Reply(body=f'{{"min_ctr": NaN, "min_roas": 2.5, "note": "{SECRET}"}}'.encode()),
    "slow": json_reply({"min_ctr": 0.03, "min_roas": 2.5, "note": SECRET}, delay=5.0),
    "deeply_nested": Reply(body=f'{{"note": "{SECRET}", "x": '.encode() + b"[" * 100_000),
    "bad_gzip": Reply(body=SECRET.encode(), headers={"Content-Encoding": "gzip"}),
}


def assert_generic_502(response: httpx.Response, *, port: int) -> None:
    assert response.status_code == 502
    assert response.json() == GENERIC_502
    exposed = response.text + json.dumps(dict(response.headers))
    assert SECRET not in exposed
    assert "127.0.0.1" not in exposed
    assert str(port) not in exposed


@pytest.mark.parametrize("reply", FAILING_REPLIES.values(), ids=FAILING_REPLIES.keys())
def test_anomalies_answer_a_generic_502_that_leaks_nothing_upstream(
    make_client: ClientFactory, benchmark_server: BenchmarkServer, reply: Reply
) -> None:
    benchmark_server.always(reply)
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=benchmark_server.base_url, **FAST_SETTINGS
    )

    started = time.monotonic()
    response = client.get("/campaigns/cmp-002/anomalies")

    assert time.monotonic() - started < TIME_BUDGET + SLACK
    assert_generic_502(response, port=benchmark_server.port)
    assert set(benchmark_server.benchmark_requests) == {"/benchmarks/cmp-002"}


def test_anomalies_answer_a_generic_502_when_connection_is_refused(
    make_client: ClientFactory, dead_port: int
) -> None:
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=f"http://127.0.0.1:{dead_port}", **FAST_SETTINGS
    )

    started = time.monotonic()
    response = client.get("/campaigns/cmp-002/anomalies")

    assert time.monotonic() - started < TIME_BUDGET + SLACK
    assert_generic_502(response, port=dead_port)


def test_anomalies_use_the_thresholds_of_the_benchmark_service(
    make_client: ClientFactory, benchmark_server: BenchmarkServer
) -> None:
    benchmark_server.always(thresholds_reply("0.03", "2.5"))
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=benchmark_server.base_url, **FAST_SETTINGS
    )

    response = client.get("/campaigns/cmp-002/anomalies")

    assert response.status_code == 200
    assert response.json() == CMP_002_ANOMALIES
    assert benchmark_server.benchmark_requests == ["/benchmarks/cmp-002"]


def test_base_url_path_prefix_is_kept(
    make_client: ClientFactory, benchmark_server: BenchmarkServer
) -> None:
    benchmark_server.always(thresholds_reply())
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=f"{benchmark_server.base_url}/api/v1", **FAST_SETTINGS
    )

    assert client.get("/campaigns/cmp-002/anomalies").status_code == 200
    client.get("/health")

    assert benchmark_server.requests == ["/api/v1/benchmarks/cmp-002", "/api/v1/health"]


def test_service_recovers_when_the_benchmark_service_does(
    make_client: ClientFactory, benchmark_server: BenchmarkServer
) -> None:
    benchmark_server.always(Reply(status=500))
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=benchmark_server.base_url, **FAST_SETTINGS
    )

    first = client.get("/campaigns/cmp-002/anomalies")
    benchmark_server.always(thresholds_reply("0.03", "2.5"))
    later = client.get("/campaigns/cmp-002/anomalies")

    assert first.status_code == 502
    assert later.status_code == 200
    assert later.json() == CMP_002_ANOMALIES


def test_one_transient_failure_is_retried_by_the_service(
    make_client: ClientFactory, benchmark_server: BenchmarkServer
) -> None:
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=benchmark_server.base_url, **FAST_SETTINGS
    )
    for _ in range(3):  # the backoff jitter is random: more than one draw
        benchmark_server.script(Reply(status=503), thresholds_reply("0.03", "2.5"))

        response = client.get("/campaigns/cmp-002/anomalies")

        assert response.status_code == 200
        assert response.json() == CMP_002_ANOMALIES
    assert len(benchmark_server.benchmark_requests) == 6


def test_campaign_id_from_the_request_path_reaches_the_benchmark_service_as_one_segment(
    make_client: ClientFactory, benchmark_server: BenchmarkServer
) -> None:
    campaign_id = "cmp/ü x"
    data = DataDir(
        campaigns=[(campaign_id, "Slash and space")],
        creators=[("crt-1", "Avery")],
        metrics=[("2026-01-01", campaign_id, "crt-1", 1000, 10, 0, "10.00", "5.00")],
    )
    benchmark_server.always(thresholds_reply("0.03", "2.5"))
    client = make_client(data, benchmark_api_base=benchmark_server.base_url, **FAST_SETTINGS)

    response = client.get("/campaigns/cmp%2F%C3%BC%20x/anomalies")

    assert response.status_code == 200
    assert response.json()["campaign_id"] == campaign_id
    assert response.json()["thresholds"] == {"min_ctr": 0.03, "min_roas": 2.5}
    assert benchmark_server.requests == ["/benchmarks/cmp%2F%C3%BC%20x"]


def test_unknown_campaign_is_404_without_asking_the_benchmark_service(
    make_client: ClientFactory, benchmark_server: BenchmarkServer
) -> None:
    benchmark_server.always(Reply(status=500))
    benchmark_server.health(Reply(status=500))
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=benchmark_server.base_url, **FAST_SETTINGS
    )

    response = client.get("/campaigns/cmp-404/anomalies")

    assert response.status_code == 404
    assert response.json() == {"detail": "campaign 'cmp-404' not found"}
    assert benchmark_server.requests == []


def test_unknown_campaign_is_404_when_the_benchmark_service_is_unreachable(
    make_client: ClientFactory, dead_port: int
) -> None:
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=f"http://127.0.0.1:{dead_port}", **FAST_SETTINGS
    )

    response = client.get("/campaigns/cmp-404/anomalies")

    assert response.status_code == 404
    assert response.json() == {"detail": "campaign 'cmp-404' not found"}


# --- through the service: /health ---------------------------------------------------------


def health_body(benchmark_service: str) -> dict[str, str]:
    return {
        "status": "ok" if benchmark_service in ("ok", "fixture") else "degraded",
        "database": "ok",
        "benchmark_service": benchmark_service,
        "dataset": "visible",
    }


def test_health_is_ok_when_the_benchmark_service_is_up(
    make_client: ClientFactory, benchmark_server: BenchmarkServer
) -> None:
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=benchmark_server.base_url, **FAST_SETTINGS
    )

    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == health_body("ok")
    assert benchmark_server.requests == ["/health"]


@pytest.mark.parametrize(
    "reply", [Reply(status=500), Reply(status=404), Reply(delay=5.0)], ids=["500", "404", "slow"]
)
def test_health_is_degraded_when_the_benchmark_service_is_down(
    make_client: ClientFactory, benchmark_server: BenchmarkServer, reply: Reply
) -> None:
    benchmark_server.health(reply)
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=benchmark_server.base_url, **FAST_SETTINGS
    )

    started = time.monotonic()
    response = client.get("/health")

    assert time.monotonic() - started < TIME_BUDGET + SLACK
    assert response.status_code == 200
    assert response.json() == health_body("error")


def test_health_is_degraded_when_the_benchmark_service_is_unreachable(
    make_client: ClientFactory, dead_port: int
) -> None:
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=f"http://127.0.0.1:{dead_port}", **FAST_SETTINGS
    )

    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == health_body("error")
    assert str(dead_port) not in response.text


def test_health_recovers_when_the_benchmark_service_does(
    make_client: ClientFactory, benchmark_server: BenchmarkServer
) -> None:
    benchmark_server.health(Reply(status=503))
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=benchmark_server.base_url, **FAST_SETTINGS
    )

    first = client.get("/health").json()
    benchmark_server.health(Reply(status=200))
    later = client.get("/health").json()

    assert first == health_body("error")
    assert later == health_body("ok")


# --- through the service: fixture file, API base, both, neither ---------------------------


def write_fixture(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "fixture-benchmarks.json"
    path.write_text(content, encoding="utf-8")
    return path


def test_fixture_thresholds_are_used_without_asking_the_benchmark_service(
    make_client: ClientFactory, benchmark_server: BenchmarkServer, tmp_path: Path
) -> None:
    fixture = write_fixture(tmp_path, '{"cmp-002": {"min_ctr": 0.03, "min_roas": 2.5}}')
    client = make_client(
        VISIBLE_DATA,
        benchmark_fixtures_file=fixture,
        benchmark_api_base=benchmark_server.base_url,
        **FAST_SETTINGS,
    )

    response = client.get("/campaigns/cmp-002/anomalies")

    assert response.status_code == 200
    assert response.json() == CMP_002_ANOMALIES
    assert client.get("/health").json() == health_body("fixture")
    assert benchmark_server.requests == []


def test_campaign_missing_from_the_fixture_is_asked_of_the_benchmark_service(
    make_client: ClientFactory, benchmark_server: BenchmarkServer, tmp_path: Path
) -> None:
    fixture = write_fixture(tmp_path, '{"cmp-001": {"min_ctr": 0.5, "min_roas": 9}}')
    benchmark_server.always(thresholds_reply("0.03", "2.5"))
    client = make_client(
        VISIBLE_DATA,
        benchmark_fixtures_file=fixture,
        benchmark_api_base=benchmark_server.base_url,
        **FAST_SETTINGS,
    )

    response = client.get("/campaigns/cmp-002/anomalies")

    assert response.status_code == 200
    assert response.json() == CMP_002_ANOMALIES
    assert benchmark_server.requests == ["/benchmarks/cmp-002"]


def test_campaign_missing_from_the_fixture_is_502_when_the_benchmark_service_fails(
    make_client: ClientFactory, benchmark_server: BenchmarkServer, tmp_path: Path
) -> None:
    fixture = write_fixture(tmp_path, '{"cmp-001": {"min_ctr": 0.5, "min_roas": 9}}')
    benchmark_server.always(Reply(status=500, body=SECRET.encode()))
    client = make_client(
        VISIBLE_DATA,
        benchmark_fixtures_file=fixture,
        benchmark_api_base=benchmark_server.base_url,
        **FAST_SETTINGS,
    )

    assert_generic_502(client.get("/campaigns/cmp-002/anomalies"), port=benchmark_server.port)


def test_campaign_missing_from_the_fixture_is_502_without_an_api_base(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    fixture = write_fixture(tmp_path, '{"cmp-001": {"min_ctr": 0.5, "min_roas": 9}}')
    client = make_client(VISIBLE_DATA, benchmark_fixtures_file=fixture)

    response = client.get("/campaigns/cmp-002/anomalies")

    assert response.status_code == 502
    assert response.json() == GENERIC_502
    assert client.get("/campaigns/cmp-001/anomalies").status_code == 200


def test_neither_fixture_nor_api_base_gives_502_and_degraded_health(
    make_client: ClientFactory,
) -> None:
    client = make_client(VISIBLE_DATA)

    response = client.get("/campaigns/cmp-002/anomalies")

    assert response.status_code == 502
    assert response.json() == GENERIC_502
    assert client.get("/health").json() == health_body("error")


def test_benchmarks_json_in_the_data_directory_is_not_picked_up_on_its_own(
    make_client: ClientFactory,
) -> None:
    assert (VISIBLE_DATA / "benchmarks.json").is_file()
    client = make_client(VISIBLE_DATA)

    assert client.get("/campaigns/cmp-002/anomalies").status_code == 502


INVALID_FIXTURES = {
    "bad_json": '{"cmp-002": {"min_ctr": 0.03,',
    "not_an_object": '[{"min_ctr": 0.03, "min_roas": 2.5}]',
    "entry_not_an_object": '{"cmp-002": [0.03, 2.5]}',
    "missing_key": '{"cmp-002": {"min_ctr": 0.03}}',
    "negative_number": '{"cmp-002": {"min_ctr": 0.03, "min_roas": -2.5}}',
    "string_number": '{"cmp-002": {"min_ctr": "0.03", "min_roas": 2.5}}',
    "nan": '{"cmp-002": {"min_ctr": NaN, "min_roas": 2.5}}',
    "deeply_nested": '{"cmp-002": ' + "[" * 100_000,
}


@pytest.mark.parametrize("content", INVALID_FIXTURES.values(), ids=INVALID_FIXTURES.keys())
def test_invalid_fixture_file_stops_create_app_naming_the_variable(
    tmp_path: Path, content: str
) -> None:
    fixture = write_fixture(tmp_path, content)

    with pytest.raises(ConfigurationError) as raised:
        create_app(Settings(data_dir=VISIBLE_DATA, benchmark_fixtures_file=fixture))

    message = str(raised.value)
    assert message.startswith("BENCHMARK_FIXTURES_FILE: ")
    assert "\n" not in message


def test_undecodable_fixture_file_stops_create_app_naming_the_variable(tmp_path: Path) -> None:
    fixture = tmp_path / "fixture-benchmarks.json"
    fixture.write_bytes(b'{"cmp-\xff": {"min_ctr": 0.03, "min_roas": 2.5}}')

    with pytest.raises(ConfigurationError, match=r"^BENCHMARK_FIXTURES_FILE: "):
        create_app(Settings(data_dir=VISIBLE_DATA, benchmark_fixtures_file=fixture))
