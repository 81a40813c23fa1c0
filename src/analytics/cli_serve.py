"""`analytics serve`: the HTTP API in one or several worker processes, and the Prometheus
listener on METRICS_PORT served by this supervising process for all of them."""

from __future__ import annotations

import gc
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from analytics import logs
from analytics.adapters.csv_dataset import DatasetRefused
from analytics.adapters.engines import create_database_engine, duckdb_file
from analytics.adapters.load_ledger import load_times
from analytics.api.app import close_app, create_app
from analytics.cli_common import configure_logging, fail
from analytics.settings import ConfigurationError, Settings, load_settings
from analytics.telemetry.exposition import (
    MetricsListener,
    process_exiting,
    scrape_registry,
    use_multiprocess_directory,
)


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
) -> None:
    """Serve the HTTP API, configured by the environment (DATA_DIR, DATABASE_URL, ...)."""
    try:
        settings = load_settings()
    except ConfigurationError as error:
        raise fail(f"configuration error: {error}", 2) from None
    configure_logging(settings.log_level, settings.log_format)
    exposed = settings.metrics_port is not None or settings.metrics_token is not None
    directory = use_multiprocess_directory() if exposed else None  # before any sample
    # uvicorn re-raises the SIGTERM it stopped on once it is done: exit through the
    # `finally` blocks (listener stopped, sample directory removed) instead of dying there
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        _serve(settings, host, port, workers)
    finally:
        if directory is not None:
            directory.remove()


def _exit_on_sigterm(signal_number: int, _: object) -> None:
    raise SystemExit(128 + signal_number)


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    try:
        # Checks configuration and publishes DATA_DIR once, here, before any worker starts.
        app = create_app(settings)
    except ConfigurationError as error:
        raise fail(f"configuration error: {error}", 2) from None
    except DatasetRefused as error:
        raise fail(error.summary()) from None
    # uvicorn applies this in every worker process too (its default would replace ours)
    log_config = logs.logging_config(settings.log_level, settings.log_format)
    options = {"host": host, "port": port, "log_config": log_config, "access_log": False}
    if workers == 1:
        tune_collector()
        with _metrics_listener(settings, app.state.engine):
            uvicorn.run(app, **options)  # type: ignore[arg-type]
        return
    # Each worker builds its own app; what this process published, they find current.
    close_app(app)
    process_exiting()  # this process serves no request: its pool gauges stop counting
    with _ledger_engine(settings) as ledger, _metrics_listener(settings, ledger):
        uvicorn.run(
            "analytics.cli_serve:worker_app",
            factory=True,
            workers=workers,
            **options,  # type: ignore[arg-type]
        )


# Collections of the youngest generation every 50,000 new container objects instead of 700,
# and of the older ones 20 and 100 times rarer than that (the defaults are 10 and 10).
GC_THRESHOLDS = (50_000, 20, 100)


def tune_collector() -> None:
    """The cyclic garbage collector tuned for serving (BENCHMARKS.md, "Metrics explorer at
    20M rows"): the ~150,000 objects made at start-up (the app, its routes and models, the
    modules) live as long as the process, so they are set aside where no collection scans
    them again (`gc.freeze`), and collections come less often. With the defaults a 500-row
    answer of the explorer ran about one young collection, and one answer in ~200 a full
    one over every object of the process: that set the tail (p99 ~230 ms, ~140-160 ms tuned,
    at 16 connections)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def worker_app() -> FastAPI:
    """uvicorn's factory in each worker process: the app, then the collector tuned."""
    app = create_app()
    tune_collector()
    return app


@contextmanager
def _metrics_listener(settings: Settings, ledger: Engine | None) -> Iterator[None]:
    """METRICS_PORT's listener for as long as the API is served: every worker's metrics,
    and the dataset ages read from `ledger` (when there is one to read)."""
    if settings.metrics_port is None:
        yield
        return
    times = None if ledger is None else (lambda: load_times(ledger))
    registry = scrape_registry(times)
    try:
        listener = MetricsListener.start(settings.metrics_host, settings.metrics_port, registry)
    except OSError as error:
        raise fail(f"configuration error: METRICS_PORT: {error.strerror}", 2) from None
    try:
        yield
    finally:
        listener.stop()


@contextmanager
def _ledger_engine(settings: Settings) -> Iterator[Engine | None]:
    """A one-connection engine on the workers' database for the dataset ages; none for
    the embedded in-memory database, which lives inside each worker."""
    url = settings.database_url
    if settings.metrics_port is None or url is None:
        yield None
        return
    engine = create_database_engine(url, pool_size=1, read_only=duckdb_file(url) is not None)
    try:
        yield engine
    finally:
        engine.dispose()
