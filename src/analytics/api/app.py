"""The composition root: `create_app(settings)` is the one place knowing every concrete class."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

import analytics
from analytics.adapters.benchmark_gateways import (
    FixtureBenchmarkGateway,
    HttpxBenchmarkGateway,
    RetryPolicy,
    UnconfiguredBenchmarkGateway,
    read_fixture_file,
)
from analytics.adapters.csv_dataset import DatasetRefused
from analytics.adapters.dataset_loader import load_dataset
from analytics.adapters.engines import (
    SchemaNotReady,
    create_database_engine,
    embedded_database_url,
    prepare_schema,
)
from analytics.adapters.sql_repository import SqlAlchemyMetricsRepository
from analytics.api.errors import install_error_handlers
from analytics.api.routes import Services, router
from analytics.domain.models import Thresholds
from analytics.domain.ports import BenchmarkGateway
from analytics.settings import ConfigurationError, Settings, load_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service. Without settings (as `uvicorn --factory`), read the environment and
    stop start-up with one clear message on bad configuration or a refused data directory."""
    if settings is None:
        return _create_app_from_environment()
    fixture = _read_fixture(settings)
    engine = _database(settings)
    repository = SqlAlchemyMetricsRepository(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.callback(engine.dispose)
            gateway = await _benchmark_gateway(settings, fixture, stack)
            app.state.services = Services(repository, gateway, settings.dataset)
            yield

    app = FastAPI(
        title="Campaign analytics",
        version=analytics.__version__,
        description="Campaign performance, creator ranking and daily anomaly alerts.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(router)
    return app


def _database(settings: Settings) -> Engine:
    """The engine, its schema checked, and DATA_DIR published through the loader if set."""
    engine = create_database_engine(settings.database_url or embedded_database_url())
    try:
        prepare_schema(engine)
        if settings.data_dir is not None:
            name = settings.dataset or settings.data_dir.name
            load_dataset(engine, settings.data_dir, dataset_name=name)
    except SchemaNotReady as error:
        engine.dispose()
        raise ConfigurationError(f"DATABASE_URL: {error}") from None
    except OperationalError as error:
        engine.dispose()
        log.debug("database connection failed", exc_info=error)
        raise ConfigurationError("DATABASE_URL: the database cannot be reached") from None
    except BaseException:
        engine.dispose()
        raise
    return engine


def _create_app_from_environment() -> FastAPI:
    try:
        return create_app(load_settings())
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


async def _benchmark_gateway(
    settings: Settings, fixture: dict[str, Thresholds] | None, stack: AsyncExitStack
) -> BenchmarkGateway:
    """The fixture file first when configured, then the HTTP service, else nothing usable."""
    gateway: BenchmarkGateway | None = None
    if settings.benchmark_api_base is not None:
        client = httpx.AsyncClient(
            base_url=str(settings.benchmark_api_base),
            timeout=httpx.Timeout(
                settings.benchmark_read_timeout, connect=settings.benchmark_connect_timeout
            ),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
        )
        await stack.enter_async_context(client)
        policy = RetryPolicy(
            max_attempts=settings.benchmark_max_attempts,
            time_budget=settings.benchmark_time_budget,
            health_timeout=settings.benchmark_health_timeout,
        )
        gateway = HttpxBenchmarkGateway(client, policy)
    if fixture is not None:
        return FixtureBenchmarkGateway(fixture, fallback=gateway)
    return gateway or UnconfiguredBenchmarkGateway()
