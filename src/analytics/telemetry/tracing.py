"""OpenTelemetry traces, only when OTEL_EXPORTER_OTLP_ENDPOINT is set: request spans
(FastAPI), one span per SQL statement (SQLAlchemy, on the service's engine) and one per
benchmark-service call (httpx), exported over OTLP/HTTP in batches.

Nothing of OpenTelemetry is imported, and nothing instrumented, when tracing is off: every
import is inside the functions below, which `create_app` calls only with an endpoint.
What a span carries is listed in README "Operations": no header (so no API key), no SQL
parameter value (statements are sent with their placeholders), no request body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from sqlalchemy import Engine

TRACES_PATH = "/v1/traces"


def tracer_provider(endpoint: str, service_name: str) -> TracerProvider:
    """A provider exporting to `{endpoint}/v1/traces` (OTLP over HTTP, protobuf) in batches;
    not installed globally, so that every app of a process keeps its own."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + TRACES_PATH, timeout=5)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def instrument_app(app: FastAPI, provider: TracerProvider) -> None:
    """A server span per request, named by route template; the ASGI receive and send
    spans are left out (two more spans per request, telling nothing)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, exclude_spans=["receive", "send"]
    )


def instrument_engine(engine: Engine, provider: TracerProvider) -> None:
    """A client span per SQL statement run on `engine` (this engine only: the
    instrumentor's global mode would also patch every engine created later)."""
    from opentelemetry.instrumentation.sqlalchemy import __version__
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeterProvider

    tracer = provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__)
    unused = NoOpMeterProvider().get_meter("unused").create_up_down_counter("unused")
    EngineTracer(tracer, engine, unused, enable_commenter=False)


def instrument_client(client: httpx.AsyncClient, provider: TracerProvider) -> Any:
    """A client span per request `client` sends; the client, for chaining."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider)
    return client
