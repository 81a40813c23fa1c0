"""Request metrics, request ids, access lines and `/internal/metrics`, in process: the
values scraped after real requests are the requests made."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from analytics.adapters.scheduler import JobScheduler, ScheduledJob
from analytics.log_json import RequestContextFilter
from tests.conftest import ClientFactory
from tests.integration.benchmark_server import BenchmarkServer, Reply, thresholds_reply
from tests.integration.telemetry_support import label_values, sample, samples, value
from tests.integration.test_benchmark_gateway import FAST_SETTINGS
from tests.support import VISIBLE_DATA

TOKEN = "scrape-token-0123456789"
PERFORMANCE = "/campaigns/{campaign_id}/performance"
REQUESTS = "analytics_http_requests_total"
DURATIONS = "analytics_http_request_duration_seconds_count"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def requests_of(route: str, status: str, method: str = "GET") -> float:
    return sample(REQUESTS, method=method, route=route, status=status)


def test_requests_are_counted_by_route_template_and_status(make_client: ClientFactory) -> None:
    client = make_client(VISIBLE_DATA)
    before = {
        "ok": requests_of(PERFORMANCE, "200"),
        "missing": requests_of(PERFORMANCE, "404"),
        "head": requests_of("/health", "200", "HEAD"),
        "histogram": sample(DURATIONS, method="GET", route=PERFORMANCE, status="200"),
    }

    for campaign in ("cmp-001", "cmp-002", "cmp-001"):
        assert client.get(f"/campaigns/{campaign}/performance").status_code == 200
    assert client.get("/campaigns/cmp-nope/performance").status_code == 404
    assert client.head("/health").status_code == 200

    assert requests_of(PERFORMANCE, "200") - before["ok"] == 3
    assert requests_of(PERFORMANCE, "404") - before["missing"] == 1
    assert requests_of("/health", "200", "HEAD") - before["head"] == 1
    histogram = sample(DURATIONS, method="GET", route=PERFORMANCE, status="200")
    assert histogram - before["histogram"] == 3


def test_unknown_paths_share_one_label_value(make_client: ClientFactory) -> None:
    client = make_client(VISIBLE_DATA, metrics_token=TOKEN)
    before = requests_of("unmatched", "404")

    for number in range(5):
        assert client.get(f"/no-such-thing/{number}?x={number}").status_code == 404

    assert requests_of("unmatched", "404") - before == 5
    scraped = samples(client.get("/internal/metrics", headers=bearer(TOKEN)).text)
    routes = label_values(scraped, REQUESTS, "route")
    assert not [route for route in routes if "no-such-thing" in route]
    assert all(route == "unmatched" or route.startswith("/") for route in routes)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_internal_metrics_answer_the_token_only(make_client: ClientFactory) -> None:
    client = make_client(VISIBLE_DATA, metrics_token=TOKEN)

    assert client.get("/internal/metrics").status_code == 404
    assert client.get("/internal/metrics", headers=bearer(TOKEN + "x")).status_code == 404
    assert client.get("/internal/metrics", headers={"Authorization": TOKEN}).status_code == 404
    answer = client.get("/internal/metrics", headers=bearer(TOKEN))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    scraped = samples(answer.text)
    assert value(scraped, "analytics_dataset_ledger_up") == 1
    age = value(scraped, "analytics_dataset_age_seconds", tenant="default")
    assert 0 <= age < 600
    assert value(scraped, "analytics_db_pool_size") >= 1


def test_without_a_token_there_is_no_internal_metrics_path(make_client: ClientFactory) -> None:
    client = make_client(VISIBLE_DATA)

    assert client.get("/internal/metrics", headers=bearer(TOKEN)).status_code == 404
    assert "/internal/metrics" not in client.get("/openapi.json").text


def test_the_metrics_explorer_keeps_get_metrics(make_client: ClientFactory) -> None:
    client = make_client(VISIBLE_DATA, metrics_token=TOKEN)

    answer = client.get("/metrics")

    assert answer.headers["content-type"].startswith("application/json")
    assert "analytics_http_requests_total" not in answer.text


@pytest.mark.parametrize(
    "header",
    ["", "a" * 129, "two words", "caf\u00e9", "x\x1by"],
    ids=["empty", "too long", "space", "not ascii", "control"],
)
def test_an_invalid_request_id_is_replaced(make_client: ClientFactory, header: str) -> None:
    client = make_client(VISIBLE_DATA)

    answer = client.get("/health", headers={"X-Request-ID": header.encode("utf-8")})

    assert GENERATED_ID.fullmatch(answer.headers["x-request-id"])


def test_a_valid_request_id_is_echoed_and_a_missing_one_made(make_client: ClientFactory) -> None:
    client = make_client(VISIBLE_DATA)
    given = "req-" + "7" * 124  # 128 characters, the longest kept

    echoed = client.get("/health", headers={"X-Request-ID": given}).headers["x-request-id"]
    first = client.get("/health").headers["x-request-id"]
    second = client.get("/health").headers["x-request-id"]

    assert echoed == given
    assert GENERATED_ID.fullmatch(first)
    assert GENERATED_ID.fullmatch(second)
    assert first != second


def test_one_access_line_per_request_with_its_fields(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(VISIBLE_DATA)
    caplog.set_level(logging.INFO, logger="analytics.access")

    client.get("/campaigns/cmp-001/performance", headers={"X-Request-ID": "trace-me-1"})
    client.get("/nowhere")

    lines = [record for record in caplog.records if record.name == "analytics.access"]
    assert len(lines) == 2
    known, unknown = lines
    assert (known.method, known.route, known.path, known.status) == (  # type: ignore[attr-defined]
        "GET",
        PERFORMANCE,
        "/campaigns/cmp-001/performance",
        200,
    )
    assert known.tenant == "default"  # type: ignore[attr-defined]
    assert known.request_id == "trace-me-1"  # type: ignore[attr-defined]
    assert known.duration_ms >= 0  # type: ignore[attr-defined]
    # the caller is known (anonymous, the sample's tenant) even where no route matches
    assert (unknown.route, unknown.status, unknown.tenant) == ("unmatched", 404, "default")  # type: ignore[attr-defined]


def test_lines_logged_during_a_request_carry_its_request_id(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(VISIBLE_DATA)  # no benchmark source: a WARNING line per request
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestContextFilter())  # as the configured handler has

    client.get("/campaigns/cmp-002/anomalies", headers={"X-Request-ID": "warned-1"})

    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.request_id == "warned-1"  # type: ignore[attr-defined]


def benchmark_calls(outcome: str, attempt: int) -> float:
    return sample("analytics_benchmark_calls_total", outcome=outcome, attempt=str(attempt))


def test_benchmark_calls_are_counted_by_outcome_and_attempt(
    make_client: ClientFactory, benchmark_server: BenchmarkServer
) -> None:
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=benchmark_server.base_url, **FAST_SETTINGS
    )
    kinds = [("server_error", 1), ("server_error", 2), ("ok", 3), ("client_error", 1)]
    before = {kind: benchmark_calls(*kind) for kind in kinds}

    benchmark_server.script(Reply(status=503), Reply(status=502), thresholds_reply())
    assert client.get("/campaigns/cmp-002/anomalies").status_code == 200
    benchmark_server.script(Reply(status=404, body=b"{}"))
    assert client.get("/campaigns/cmp-002/anomalies").status_code == 502

    assert {kind: benchmark_calls(*kind) - before[kind] for kind in kinds} == dict.fromkeys(
        kinds, 1
    )


def test_a_refused_connection_counts_as_transport_errors(
    make_client: ClientFactory, dead_port: int
) -> None:
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=f"http://127.0.0.1:{dead_port}", **FAST_SETTINGS
    )
    before = [benchmark_calls("transport_error", attempt) for attempt in (1, 2, 3)]

    assert client.get("/campaigns/cmp-002/anomalies").status_code == 502

    after = [benchmark_calls("transport_error", attempt) for attempt in (1, 2, 3)]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]


def job_runs(job: str, status: str) -> tuple[float, float]:
    labels = {"job": job, "status": status}
    return (
        sample("analytics_job_runs_total", **labels),
        sample("analytics_job_duration_seconds_count", **labels),
    )


async def failing_job(run_id: str) -> tuple[str, dict[str, Any]]:
    raise RuntimeError("the job broke")


def test_job_runs_are_counted_by_job_and_status_with_their_duration(
    make_client: ClientFactory,
) -> None:
    client = make_client(VISIBLE_DATA)
    jobs: JobScheduler = client.app.state.scheduler  # type: ignore[attr-defined]
    broken = JobScheduler([ScheduledJob("broken", "0 0 1 1 *", failing_job)], jobs.ledger)
    before = job_runs("heartbeat", "succeeded"), job_runs("broken", "failed")

    for _ in range(2):
        assert client.portal.call(jobs.run_now, "heartbeat").status == "succeeded"  # type: ignore[union-attr]
    assert client.portal.call(broken.run_now, "broken").status == "failed"  # type: ignore[union-attr]

    after = job_runs("heartbeat", "succeeded"), job_runs("broken", "failed")
    assert [a - b for a, b in zip(after[0], before[0], strict=True)] == [2, 2]
    assert [a - b for a, b in zip(after[1], before[1], strict=True)] == [1, 1]


def test_answers_made_before_routing_are_counted_under_their_route(
    make_client: ClientFactory,
) -> None:
    """A cache hit and a 429 never reach the router: they keep their route's template, and
    the cache and rate-limit counters move with them."""
    client = make_client(
        VISIBLE_DATA, cache_enabled=True, rate_limits_enabled=True, rate_limit_anonymous="3/minute"
    )
    before = {
        "ok": requests_of(PERFORMANCE, "200"),
        "refused": requests_of(PERFORMANCE, "429"),
        "hit": sample("analytics_cache_lookups_total", result="hit"),
        "miss": sample("analytics_cache_lookups_total", result="miss"),
        "limited": sample("analytics_rate_limited_total", role="anonymous"),
        "unmatched": requests_of("unmatched", "200"),
    }

    statuses = [client.get("/campaigns/cmp-001/performance").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert requests_of(PERFORMANCE, "200") - before["ok"] == 3
    assert requests_of(PERFORMANCE, "429") - before["refused"] == 1
    assert sample("analytics_cache_lookups_total", result="miss") - before["miss"] == 1
    assert sample("analytics_cache_lookups_total", result="hit") - before["hit"] == 2
    assert sample("analytics_rate_limited_total", role="anonymous") - before["limited"] == 1
    assert requests_of("unmatched", "200") == before["unmatched"]
