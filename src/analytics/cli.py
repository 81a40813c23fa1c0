"""`analytics` command line: serve the API, migrate a database, load a data directory."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from analytics import logs
from analytics.adapters import migrations
from analytics.adapters.csv_dataset import DatasetRefused
from analytics.adapters.dataset_loader import load_dataset
from analytics.adapters.engines import SchemaNotReady, create_database_engine, prepare_schema
from analytics.api.app import close_app, create_app
from analytics.settings import ConfigurationError, load_settings

cli = typer.Typer(
    help="Campaign analytics service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
log = logging.getLogger("analytics")
LOG_PROGRESS_EVERY_SECONDS = 10

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", envvar="DATABASE_URL", help="postgresql+psycopg://… or duckdb:///file"
    ),
]


def _configure_logging(level: str | None = None) -> None:
    """The one logging configuration (`analytics.logs`) at `level`, else LOG_LEVEL."""
    try:
        logs.configure_logging(level or logs.environment_level())
    except ValueError as error:
        raise _fail(f"configuration error: LOG_LEVEL: {error}", 2) from None


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


@cli.callback()
def _root() -> None:
    """Campaign analytics: performance, creator ranking and anomaly alerts over daily metrics."""


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
) -> None:
    """Serve the HTTP API, configured by the environment (DATA_DIR, DATABASE_URL, ...)."""
    try:
        settings = load_settings()
        _configure_logging(settings.log_level)
        # Checks configuration and publishes DATA_DIR once, here, before any worker starts.
        app = create_app(settings)
    except ConfigurationError as error:
        raise _fail(f"configuration error: {error}", 2) from None
    except DatasetRefused as error:
        raise _fail(error.summary()) from None
    # uvicorn applies this in every worker process too (its default would replace ours)
    log_config = logs.logging_config(settings.log_level)
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_config=log_config)
        return
    # Each worker builds its own app; what this process published, they find current.
    close_app(app)
    uvicorn.run(
        "analytics.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config,
    )


@cli.command()
def migrate(database_url: DatabaseUrl = None, revision: str = "head") -> None:
    """Create or upgrade the PostgreSQL schema (Alembic) to REVISION."""
    if not database_url or not database_url.startswith("postgresql"):
        raise _fail("migrate needs a PostgreSQL --database-url (or DATABASE_URL)", 2)
    _configure_logging()
    engine = create_database_engine(database_url)
    try:
        migrations.upgrade(engine, revision)
        typer.echo(f"schema at revision {migrations.current_revision(engine)}")
    finally:
        engine.dispose()


@cli.command()
def load(
    data_dir: Annotated[Path, typer.Argument(help="directory with the CSV files")],
    database_url: DatabaseUrl = None,
    dataset: Annotated[
        str | None, typer.Option(help="dataset name (default: directory name)")
    ] = None,
) -> None:
    """Validate DATA_DIR and publish it atomically as the current dataset."""
    if not database_url:
        raise _fail("load needs --database-url (or DATABASE_URL)", 2)
    if not data_dir.is_dir():
        raise _fail(f"'{data_dir}' is not a directory", 2)
    _configure_logging()
    engine = create_database_engine(database_url)
    try:
        prepare_schema(engine)
        with _progress() as progress:
            result = load_dataset(
                engine, data_dir, dataset_name=dataset or data_dir.resolve().name, progress=progress
            )
    except SchemaNotReady as error:
        raise _fail(str(error), 2) from None
    except DatasetRefused as error:
        raise _fail(error.summary()) from None
    except SQLAlchemyError as error:
        log.debug("load failed", exc_info=error)
        first_line = str(getattr(error, "orig", error)).splitlines()[0]
        raise _fail(f"load failed, nothing changed: database error: {first_line}") from None
    finally:
        engine.dispose()
    if not result.loaded:
        typer.echo(f"'{result.dataset_name}' is already loaded with these files: nothing to do")
        return
    rate = result.metric_rows / result.seconds if result.seconds else 0
    typer.echo(
        f"published '{result.dataset_name}': {result.campaigns} campaigns, {result.creators} "
        f"creators, {result.metric_rows} metric rows in {result.seconds:.1f} s ({rate:,.0f} rows/s)"
    )


@contextmanager
def _progress() -> Iterator[Callable[[int], None]]:
    """A Rich progress line with rows/s on a terminal; periodic log lines otherwise."""
    if not sys.stderr.isatty():
        last_logged = time.monotonic()

        def log_now_and_then(rows: int) -> None:
            nonlocal last_logged
            if time.monotonic() - last_logged >= LOG_PROGRESS_EVERY_SECONDS:
                last_logged = time.monotonic()
                log.info("validated and copied %s metric rows", f"{rows:,}")

        yield log_now_and_then
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.completed:,.0f} metric rows"),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("load", total=None, rate="-")

        def advance(rows: int) -> None:
            bar.update(task, completed=rows)
            speed = bar.tasks[task].speed
            bar.update(task, rate=f"{speed:,.0f}" if speed else "-")

        yield advance


def main() -> None:
    cli()
