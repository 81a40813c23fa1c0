"""The composition root: `create_app(settings)` is the one place knowing every concrete class."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

import analytics
from analytics import logs
from analytics.adapters.benchmark_gateways import (
    FixtureBenchmarkGateway,
    HttpxBenchmarkGateway,
    RetryPolicy,
    UnconfiguredBenchmarkGateway,
    read_fixture_file,
)
from analytics.adapters.csv_dataset import DatasetRefused
from analytics.adapters.dataset_loader import is_current, load_dataset
from analytics.adapters.engines import (
    SchemaNotReady,
    create_database_engine,
    duckdb_file,
    embedded_database_url,
    prepare_schema,
)
from analytics.adapters.key_cache import CachedKeyStore
from analytics.adapters.load_ledger import load_times
from analytics.adapters.loop_local import LoopLocal
from analytics.adapters.sql_access import AsyncAccessStore, SqlAlchemyAccessStore
from analytics.adapters.sql_catalog import SqlAlchemyCatalogStore, cursor_secret
from analytics.adapters.sql_explorer import SqlAlchemyExplorers
from analytics.adapters.sql_repository import SqlAlchemyMetricsStore, StoreDeadlines
from analytics.api.catalog_http import BodyLimitMiddleware
from analytics.api.errors import install_error_handlers
from analytics.api.explorer_shortcut import ExplorerShortcut
from analytics.api.http import HeadAsGetMiddleware
from analytics.api.observability import RequestTelemetryMiddleware, add_internal_metrics
from analytics.api.routes import router
from analytics.api.scheduling import build_feeds, build_scheduler, scheduler_should_run
from analytics.api.services import Services
from analytics.api.serving import ServingHooks, ServingMiddleware, UnversionedThresholds
from analytics.api.serving_setup import (
    build_serving,
    database_identity,
    deployment_fingerprint,
)
from analytics.domain.catalog_cursors import CursorCodec
from analytics.domain.cursors import CursorSigner
from analytics.domain.models import Thresholds
from analytics.domain.ports import BenchmarkGateway
from analytics.settings import ConfigurationError, Settings, load_settings
from analytics.telemetry import tracing
from analytics.telemetry.exposition import process_exiting
from analytics.telemetry.metrics import record_cache, record_rate_limited
from analytics.telemetry.pools import watch_pool

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service. Without settings (as `uvicorn --factory`), read the environment and
    stop start-up with one clear message on bad configuration or a refused data directory."""
    if settings is None:
        return _create_app_from_environment()
    fixture = _read_fixture(settings)
    engine = open_database(settings)
    watch_pool(engine)
    traces = _tracer_provider(settings)
    if traces is not None:
        tracing.instrument_engine(engine, traces)
    clients = _benchmark_clients(settings, traces)
    access = AsyncAccessStore(SqlAlchemyAccessStore(engine))
    store = SqlAlchemyMetricsStore(
        engine, StoreDeadlines(settings.database_request_timeout, settings.database_health_timeout)
    )
    # One key for every list's cursors: CURSOR_SECRET, else the database's stored secret.
    configured = settings.cursor_secret
    cursor_key = cursor_secret(
        engine, None if configured is None else configured.get_secret_value()
    )
    services = Services(
        metrics=store,
        gateway=_benchmark_gateway(settings, fixture, clients),
        keys=CachedKeyStore(access),
        key_administration=access,
        anonymous_tenant=settings.anonymous_access,
        dataset=settings.dataset,
        explorer=SqlAlchemyExplorers(store),
        cursors=CursorSigner(cursor_key),
    )
    scheduler = build_scheduler(settings, engine, services)
    parts = build_serving(
        settings,
        services,
        engine,
        deployment_fingerprint(database_identity(engine), cursor_key, fixture),
        ServingHooks(cache=record_cache, rate_limited=record_rate_limited),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        """Everything requests need is built above, so an app driven without its lifespan
        (`TestClient(app)` outside `with`) answers too; the lifespan only starts the scheduler
        (when enabled) and releases."""
        if scheduler_should_run(settings):
            await scheduler.start()
        try:
            yield
        finally:
            await scheduler.shutdown()
            if clients is not None and (client := clients.current()) is not None:
                await client.aclose()
            await parts.close()
            parts.abandon()  # the connection of an earlier loop (requests before the lifespan)
            engine.dispose()
            if traces is not None:
                traces.shutdown()  # the spans still buffered are sent
            process_exiting()

    # Swagger UI and ReDoc with their assets served by the service itself: /docs works on a
    # network without internet.
    app = FastAPIOffline(
        title="Campaign analytics",
        version=analytics.__version__,
        description="Campaign performance, creator ranking and daily anomaly alerts.",
        lifespan=lifespan,
        generate_unique_id_function=lambda route: route.name,  # readable client method names
    )
    app.add_middleware(ExplorerShortcut, services=services, handlers=app.exception_handlers)
    app.add_middleware(ServingMiddleware, serving=parts.serving)
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match"],
            expose_headers=["ETag", "RateLimit", "RateLimit-Policy", "Retry-After", "X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(RequestTelemetryMiddleware)  # outermost: sees every answer
    if settings.metrics_token is not None:
        add_internal_metrics(
            app, settings.metrics_token.get_secret_value(), lambda: load_times(engine)
        )
    if traces is not None:
        tracing.instrument_app(app, traces)
        app.state.tracer_provider = traces
    app.state.engine = engine
    app.state.settings = settings
    app.state.services = services
    app.state.scheduler = scheduler
    app.state.cache_state = parts.cache_state()
    app.state.serving_parts = parts
    app.state.feeds = build_feeds(services, cursor_key)
    app.state.catalog = SqlAlchemyCatalogStore(services.metrics, engine)  # type: ignore[arg-type]
    app.state.cursor_codec = CursorCodec(cursor_key)
    install_error_handlers(app)
    app.include_router(router)
    return app


def close_app(app: FastAPI) -> None:
    """Release what `create_app` opened, for an app that will never be served."""
    app.state.serving_parts.abandon()
    app.state.engine.dispose()
    if (traces := getattr(app.state, "tracer_provider", None)) is not None:
        traces.shutdown()


def open_database(settings: Settings) -> Engine:
    """The serving engine, DATA_DIR published through the loader first when it is set.

    A DuckDB file is written by a short-lived engine, only when DATA_DIR is not already its
    current dataset, and served read-only, so that several worker processes can share it.
    Connection and schema problems become a `ConfigurationError` naming DATABASE_URL.
    """
    url = settings.database_url or embedded_database_url()
    dataset = settings.dataset or ""  # the DATA_DIR name when DATA_DIR is set
    tenant = settings.load_tenant
    file = duckdb_file(url)
    try:
        if file is None:
            timeout = settings.database_request_timeout  # pool checkout: no longer than that
            return _opened(
                url, settings.data_dir, dataset, tenant, read_only=False, pool_timeout=timeout
            )
        if settings.data_dir is not None and not _is_current(
            url, file, settings.data_dir, dataset, tenant
        ):
            _opened(url, settings.data_dir, dataset, tenant, read_only=False).dispose()
        elif not file.is_file():
            raise ConfigurationError(
                "DATABASE_URL: no DuckDB file there; create it with `analytics load`"
            )
        return _opened(url, None, dataset, tenant, read_only=True)
    except SchemaNotReady as error:
        raise ConfigurationError(f"DATABASE_URL: {error}") from None
    except OperationalError as error:
        log.debug("database connection failed", exc_info=error)
        raise ConfigurationError(
            f"DATABASE_URL: the database cannot be opened: {_first_line(error)}"
        ) from None


def _first_line(error: OperationalError) -> str:
    return str(error.orig or error).splitlines()[0]


def _is_current(url: str, file: Path, data_dir: Path, dataset: str, tenant: str) -> bool:
    if not file.exists():
        return False
    probe = create_database_engine(url, read_only=True)
    try:
        return is_current(probe, data_dir, dataset_name=dataset, tenant_id=tenant)
    finally:
        probe.dispose()


def _opened(
    url: str,
    data_dir: Path | None,
    dataset: str,
    tenant: str,
    *,
    read_only: bool,
    pool_timeout: float = 5.0,
) -> Engine:
    engine = create_database_engine(url, read_only=read_only, pool_timeout=pool_timeout)
    try:
        if not read_only:
            prepare_schema(engine)
        if data_dir is not None:
            load_dataset(
                engine, data_dir, dataset_name=dataset, tenant_id=tenant, create_tenant=True
            )
    except BaseException:
        engine.dispose()
        raise
    return engine


def _create_app_from_environment() -> FastAPI:
    try:
        settings = load_settings()
        # a bare uvicorn run
        logs.configure_logging_unless_configured(settings.log_level, settings.log_format)
        return create_app(settings)
    except ConfigurationError as error:
        raise SystemExit(f"configuration error: {error}") from None
    except DatasetRefused as error:
        raise SystemExit(error.summary()) from None


def _read_fixture(settings: Settings) -> dict[str, Thresholds] | None:
    if settings.benchmark_fixtures_file is None:
        return None
    try:
        return read_fixture_file(settings.benchmark_fixtures_file)
    except ValueError as error:
        raise ConfigurationError(f"BENCHMARK_FIXTURES_FILE: {error}") from None


def _tracer_provider(settings: Settings) -> TracerProvider | None:
    """Tracing only with OTEL_EXPORTER_OTLP_ENDPOINT: otherwise nothing is instrumented."""
    endpoint = settings.otel_exporter_otlp_endpoint
    if endpoint is None:
        return None
    return tracing.tracer_provider(str(endpoint), settings.otel_service_name)


def _benchmark_clients(
    settings: Settings, traces: TracerProvider | None = None
) -> LoopLocal[httpx.AsyncClient] | None:
    """The benchmark service's HTTP client, made on first use (never blocking start-up)."""
    if settings.benchmark_api_base is None:
        return None
    base_url = str(settings.benchmark_api_base)
    timeout = httpx.Timeout(
        settings.benchmark_read_timeout, connect=settings.benchmark_connect_timeout
    )
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)

    def client() -> httpx.AsyncClient:
        made = httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits)
        return made if traces is None else tracing.instrument_client(made, traces)

    return LoopLocal(client)


def _benchmark_gateway(
    settings: Settings,
    fixture: dict[str, Thresholds] | None,
    clients: LoopLocal[httpx.AsyncClient] | None,
) -> BenchmarkGateway:
    """The fixture file first when configured, then the HTTP service, else nothing usable."""
    gateway: BenchmarkGateway | None = None
    if clients is not None:
        policy = RetryPolicy(
            max_attempts=settings.benchmark_max_attempts,
            time_budget=settings.benchmark_time_budget,
            health_timeout=settings.benchmark_health_timeout,
        )
        # its answers carry no version: an anomalies answer that used them is not cached
        gateway = UnversionedThresholds(HttpxBenchmarkGateway(clients.get, policy))
    if fixture is not None:
        return FixtureBenchmarkGateway(fixture, fallback=gateway)
    return gateway or UnconfiguredBenchmarkGateway()
