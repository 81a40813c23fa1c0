"""The app's own log lines, captured in process: a forged request path, rendered by the
configured formatter, stays one escaped line; a benchmark failure is one WARNING line
with the upstream status and a bounded, escaped excerpt of its body."""

from __future__ import annotations

import logging
import re

import pytest

from analytics.adapters.benchmark_gateways import EXCERPT_CHARACTERS
from analytics.logs import TEXT_FORMAT, EscapingFormatter, escape_controls
from tests.conftest import ClientFactory
from tests.integration.benchmark_server import BenchmarkServer, Reply, json_reply
from tests.integration.test_benchmark_gateway import FAST_SETTINGS, MAX_ATTEMPTS
from tests.integration.test_logging_served import (
    ESCAPED_PATH,
    FORGED_ID,
    FORGED_PATH,
    RAW_CONTROLS,
    UNAVAILABLE_LINE,
)
from tests.support import VISIBLE_DATA, DataDir

GATEWAY_LOGGER = "analytics.adapters.benchmark_gateways"
LARGE_BODY = ("\x1b[2J\r\nFORGED " + "x" * 87) * 100  # 10 kB with control characters
LARGE_EXCERPT = escape_controls(LARGE_BODY[:EXCERPT_CHARACTERS]) + "…"


def warnings_and_worse(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_a_forged_path_logged_by_the_app_is_one_escaped_line(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    row = ("2026-01-01", FORGED_ID, "crt-1", 100, 10, 1, "10.00", "20.00")
    client = make_client(DataDir([(FORGED_ID, "Forged")], [("crt-1", "Ann")], [row]))

    assert client.get(FORGED_PATH).status_code == 502

    [record] = warnings_and_worse(caplog)
    line = EscapingFormatter(TEXT_FORMAT).format(record)
    assert UNAVAILABLE_LINE.fullmatch(line)
    assert [c for c in (*RAW_CONTROLS, "\n") if c in line] == []
    assert ESCAPED_PATH in line


FAILURES = {
    "500 retried": (500, "benchmark service answered 500 (10000 bytes)"),
    "404": (404, "benchmark service answered 404 (10000 bytes)"),
    "invalid body": (200, "invalid benchmark response: "),
}


@pytest.mark.parametrize(("status", "described"), FAILURES.values(), ids=FAILURES.keys())
def test_a_benchmark_failure_is_one_warning_with_status_and_bounded_excerpt(
    make_client: ClientFactory,
    benchmark_server: BenchmarkServer,
    caplog: pytest.LogCaptureFixture,
    status: int,
    described: str,
) -> None:
    benchmark_server.always(Reply(status=status, body=LARGE_BODY.encode()))
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=benchmark_server.base_url, **FAST_SETTINGS
    )

    assert client.get("/campaigns/cmp-002/anomalies").status_code == 502

    [record] = warnings_and_worse(caplog)
    message = record.getMessage()
    assert (record.name, record.levelname) == ("analytics.api.errors", "WARNING")
    assert message.startswith("GET /campaigns/cmp-002/anomalies: ")
    assert described in message
    assert f"answered {status} (10000 bytes): " in message
    assert message.endswith(f": {LARGE_EXCERPT}")
    assert len(message) < 2 * EXCERPT_CHARACTERS + 100
    assert [c for c in (*RAW_CONTROLS, "\n") if c in message] == []


def test_an_invalid_answer_is_logged_with_its_status(
    make_client: ClientFactory, benchmark_server: BenchmarkServer, caplog: pytest.LogCaptureFixture
) -> None:
    benchmark_server.always(json_reply({"min_ctr": "high", "min_roas": 2.5}))
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=benchmark_server.base_url, **FAST_SETTINGS
    )

    assert client.get("/campaigns/cmp-002/anomalies").status_code == 502

    [record] = warnings_and_worse(caplog)
    assert record.getMessage() == (
        "GET /campaigns/cmp-002/anomalies: invalid benchmark response: 'min_ctr' is not a "
        'finite number; answered 200 (36 bytes): {"min_ctr": "high", "min_roas": 2.5}'
    )


def test_each_retried_attempt_is_logged_at_debug_only(
    make_client: ClientFactory, benchmark_server: BenchmarkServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=GATEWAY_LOGGER)
    benchmark_server.always(Reply(status=503, body=b"busy"))
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=benchmark_server.base_url, **FAST_SETTINGS
    )

    assert client.get("/campaigns/cmp-002/anomalies").status_code == 502

    retries = [r for r in caplog.records if r.name == GATEWAY_LOGGER]
    assert [r.levelname for r in retries] == ["DEBUG"] * (MAX_ATTEMPTS - 1)
    assert re.fullmatch(
        r"benchmark attempt 1: answered 503 \(4 bytes\): busy; retrying in \d+\.\d\d s",
        retries[0].getMessage(),
    )
    [final] = warnings_and_worse(caplog)
    assert final.getMessage() == (
        "GET /campaigns/cmp-002/anomalies: benchmark service answered 503 (4 bytes): busy"
    )


def test_a_refused_connection_is_one_warning_line(
    make_client: ClientFactory, dead_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(
        VISIBLE_DATA, benchmark_api_base=f"http://127.0.0.1:{dead_port}", **FAST_SETTINGS
    )

    assert client.get("/campaigns/cmp-002/anomalies").status_code == 502

    [record] = warnings_and_worse(caplog)
    assert record.getMessage() == (
        "GET /campaigns/cmp-002/anomalies: benchmark service failed: "
        "ConnectError('All connection attempts failed')"
    )


def test_a_benchmark_service_too_slow_for_the_budget_is_one_warning_line(
    make_client: ClientFactory, benchmark_server: BenchmarkServer, caplog: pytest.LogCaptureFixture
) -> None:
    benchmark_server.always(json_reply({"min_ctr": 0.03, "min_roas": 2.5}, delay=2.0))
    settings = {**FAST_SETTINGS, "benchmark_read_timeout": 3.0}  # the budget runs out first
    client = make_client(VISIBLE_DATA, benchmark_api_base=benchmark_server.base_url, **settings)

    assert client.get("/campaigns/cmp-002/anomalies").status_code == 502

    [record] = warnings_and_worse(caplog)
    assert record.getMessage() == (
        "GET /campaigns/cmp-002/anomalies: benchmark service: no answer within 1 s"
    )
