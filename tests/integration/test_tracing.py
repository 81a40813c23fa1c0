"""Traces: with OTEL_EXPORTER_OTLP_ENDPOINT, a request's spans (the request, its SQL
statements, its benchmark-service call) reach an OTLP/HTTP receiver, one trace, carrying
no key and no SQL parameter value; without it, no instrumentation, SDK or exporter is
even loaded."""

from __future__ import annotations

import re
import subprocess
import sys

from fastapi.testclient import TestClient

from analytics.api.app import create_app
from analytics.settings import Settings
from tests.integration.benchmark_server import BenchmarkServer, thresholds_reply
from tests.integration.otlp_receiver import ReceivedSpan, otlp_receiver
from tests.support import VISIBLE_DATA

SERVER, CLIENT = 2, 3  # OTLP span kinds
BAD_KEY = "cak_this-key-does-not-exist-0123456789abcdef"


def statement(span: ReceivedSpan) -> str | None:
    return span.attributes.get("db.statement") or span.attributes.get("db.query.text")


def url(span: ReceivedSpan) -> str:
    return str(span.attributes.get("http.url") or span.attributes.get("url.full") or "")


def test_a_request_sends_its_request_sql_and_http_spans_in_one_trace(
    database_url: str | None, benchmark_server: BenchmarkServer
) -> None:
    benchmark_server.always(thresholds_reply())
    with otlp_receiver() as receiver:
        settings = Settings(
            data_dir=VISIBLE_DATA,
            database_url=database_url,
            benchmark_api_base=benchmark_server.base_url,
            otel_exporter_otlp_endpoint=receiver.endpoint,
        )
        with TestClient(create_app(settings)) as client:
            assert client.get("/campaigns/cmp-002/anomalies").status_code == 200
            unauthorised = {"Authorization": f"Bearer {BAD_KEY}"}
            assert client.get("/campaigns/cmp-002/anomalies", headers=unauthorised).status_code
        # leaving the client shut the app down, which sent the spans still buffered

    assert set(receiver.paths) == {"/v1/traces"}
    [request, _] = [span for span in receiver.spans if span.kind == SERVER]
    assert re.fullmatch(r"GET /campaigns/\{campaign_id(:\w+)?\}/anomalies", request.name)
    trace = [span for span in receiver.spans if span.trace_id == request.trace_id]
    sql = [span for span in trace if statement(span)]
    calls = [span for span in trace if span.kind == CLIENT and "/benchmarks/" in url(span)]
    assert sql, "no SQL span in the request's trace"
    assert [url(span) for span in calls] == [f"{benchmark_server.base_url}/benchmarks/cmp-002"]
    assert not [s for s in sql if "cmp-002" in (statement(s) or "")]  # parameters stay bound
    exported = repr([span.attributes for span in receiver.spans])
    assert BAD_KEY not in exported
    assert "authorization" not in exported.lower()


UNTRACED = """
import sys
from fastapi.testclient import TestClient
from analytics.api.app import create_app
from analytics.settings import Settings
app = create_app(Settings(data_dir=sys.argv[1], scheduler_enabled=False))
with TestClient(app) as client:
    assert client.get("/campaigns/cmp-002/performance").status_code == 200
# FastAPI itself imports the OpenTelemetry API (a no-op without an SDK provider), and
# redis-py imports the metrics SDK for an observability feature of its own that stays off
# unless configured; the tracing SDK, instrumentations and exporters are ours alone.
kinds = ("opentelemetry.sdk.trace", "opentelemetry.instrumentation", "opentelemetry.exporter")
loaded = sorted(name for name in sys.modules if name.startswith(kinds))
middleware = [entry.cls.__name__ for entry in app.user_middleware]
print(loaded, middleware, [name for name in dir(app.state.engine) if "otel" in name.lower()])
"""


def test_without_an_endpoint_nothing_is_instrumented() -> None:
    environment = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run(  # a process of its own: no other test has loaded anything
        [sys.executable, "-c", UNTRACED, str(VISIBLE_DATA)],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=True,
    )

    assert done.stdout.strip() == (
        "[] ['RequestTelemetryMiddleware', 'BodyLimitMiddleware', 'HeadAsGetMiddleware',"
        " 'ServingMiddleware', 'ExplorerShortcut'] []"
    )
