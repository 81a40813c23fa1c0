"""`analytics benchmarks …`: serve the benchmark service (CONTRACT.md §3), migrate its
database and load thresholds into it. Configured by `BENCHMARKS_*` variables (README)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from analytics import logs
from analytics.benchmark_service.app import create_app
from analytics.benchmark_service.schema import SchemaNotReady, migrate
from analytics.benchmark_service.settings import (
    BenchmarkSettings,
    ConfigurationError,
    load_settings,
)
from analytics.benchmark_service.storage import SqlThresholdStore, create_storage_engine
from analytics.benchmark_service.thresholds import Invalid, Thresholds, read_thresholds_file
from analytics.cli_common import (
    EXIT_DATABASE,
    EXIT_REFUSED,
    EXIT_USAGE,
    Command,
    Group,
    configure_logging,
    fail,
)

benchmarks_cli = typer.Typer(
    cls=Group,
    help="The benchmark service: per-campaign thresholds over HTTP (CONTRACT.md §3).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

BenchmarksUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="BENCHMARKS_DATABASE_URL",
        metavar="URL",
        help="sqlite:///benchmarks.db (default) or postgresql+psycopg://user@host/db",
        show_default=False,
    ),
]
ThresholdsFile = Annotated[
    Path,
    typer.Argument(metavar="FILE", help="a benchmarks.json", show_default=False),
]


def _settings(database_url: str | None) -> BenchmarkSettings:
    overrides = {} if database_url is None else {"database_url": database_url}
    try:
        return load_settings(**overrides)
    except ConfigurationError as error:
        raise fail(f"configuration error: {error}", EXIT_USAGE) from None


def _read(path: Path) -> dict[str, Thresholds]:
    try:
        return read_thresholds_file(path)
    except Invalid as error:
        raise fail(str(error), EXIT_REFUSED) from None


@contextmanager
def _migrated(url: str) -> Iterator[Engine]:
    """An engine on `url` with the schema at its latest version; exits 3 on a database
    failure (nothing changed), 2 on a schema newer than this program."""
    shown = make_url(url).render_as_string(hide_password=True)
    engine = create_storage_engine(url)
    try:
        before, after = migrate(engine)
        if after != before:
            typer.echo(f"benchmark schema upgraded from version {before} to {after}", err=True)
        yield engine
    except SchemaNotReady as error:
        raise fail(str(error), EXIT_USAGE) from None
    except SQLAlchemyError as error:
        reason = str(error.orig if error.orig is not None else error).splitlines()[0]
        raise fail(f"benchmark database {shown} failed: {reason}", EXIT_DATABASE) from None
    finally:
        engine.dispose()


@benchmarks_cli.command("serve", cls=Command)
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8090,
    seed: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="a benchmarks.json whose campaigns are stored when they have no thresholds "
            "yet (stored ones win, so restarts keep operators' edits)",
        ),
    ] = None,
    database_url: BenchmarksUrl = None,
) -> None:
    """Migrate the benchmark database, seed it if asked, and serve the benchmark service."""
    settings = _settings(database_url)
    configure_logging()
    entries = _read(seed) if seed is not None else {}
    with _migrated(settings.database_url) as engine:
        added = SqlThresholdStore(engine).add_missing(entries)
    if seed is not None:
        typer.echo(f"seeded {added} of {len(entries)} campaign(s) from '{seed}'", err=True)
    log_config = logs.logging_config(logs.environment_level())
    uvicorn.run(create_app(settings), host=host, port=port, log_config=log_config)


@benchmarks_cli.command("migrate", cls=Command)
def migrate_command(database_url: BenchmarksUrl = None) -> None:
    """Create or upgrade the benchmark service's schema (its own version table)."""
    settings = _settings(database_url)
    configure_logging()
    with _migrated(settings.database_url):
        pass
    typer.echo("benchmark schema is up to date")


@benchmarks_cli.command("load", cls=Command)
def load(file: ThresholdsFile, database_url: BenchmarksUrl = None) -> None:
    """Store every campaign of FILE, replacing its thresholds (the file wins); campaigns not
    in FILE are left alone. All or nothing: a refused file changes nothing."""
    settings = _settings(database_url)
    configure_logging()
    entries = _read(file)
    with _migrated(settings.database_url) as engine:
        written = SqlThresholdStore(engine).replace(entries)
    typer.echo(f"stored thresholds of {written} campaign(s) from '{file}'")
