"""`analytics` command line: serve the API, migrate a database, load a data directory, and
list the datasets loaded.

Exit codes (README "Command line"): 0 done, 1 data refused, 2 usage or configuration
(including a schema that needs `analytics migrate`), 3 database unreachable or failing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from typer.core import TyperCommand, TyperGroup

from analytics import __version__, logs
from analytics.adapters import migrations
from analytics.adapters.csv_dataset import DatasetRefused
from analytics.adapters.dataset_loader import check_dataset, load_dataset
from analytics.adapters.engines import SchemaNotReady, create_database_engine, prepare_schema
from analytics.adapters.load_ledger import LedgerEntry, recorded_loads
from analytics.adapters.load_phases import reason, seconds_text
from analytics.api.app import close_app, create_app
from analytics.cli_progress import load_progress
from analytics.settings import ConfigurationError, load_settings

if TYPE_CHECKING:
    from typer._click.formatting import HelpFormatter

EXIT_REFUSED = 1  # the data directory breaks the contract: nothing was written
EXIT_USAGE = 2  # bad options or configuration, or a schema to migrate first
EXIT_DATABASE = 3  # the database could not be reached, or failed: nothing was changed
SUPPORTED_DATABASES = ("postgresql", "duckdb")


class _Group(TyperGroup):
    """The command list shows each command's first paragraph whole (wrapped), not cut short."""

    def format_commands(self, ctx: typer.Context, formatter: HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                summary = command.short_help or (command.help or "").split("\n\n")[0]
                rows.append((name, " ".join(summary.split())))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


cli = typer.Typer(
    cls=_Group,
    help="Campaign analytics service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: flags without `<bool>` type labels
)
log = logging.getLogger("analytics")


class _Command(TyperCommand):
    """Usage lines in the usual notation: `DATA_DIR`, not Typer's `{DATA_DIR}`."""

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [re.sub(r"^\{(.+)\}(\.\.\.)?$", r"\1\2", piece) for piece in pieces]


DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="DATABASE_URL",
        metavar="URL",
        help="postgresql+psycopg://user@host:5432/db or duckdb:///path/file.duckdb",
    ),
]
PostgresUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="DATABASE_URL",
        metavar="URL",
        help="postgresql+psycopg://user@host:5432/db (DuckDB files need no migration)",
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


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"analytics {__version__}")
        raise typer.Exit()


@cli.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
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


@contextmanager
def _database(url: str, *, read_only: bool = False) -> Iterator[Engine]:
    """An engine on `url` that has answered once. Exits 2 on a malformed URL, 3 when the
    database cannot be reached or fails later (the command's transaction is rolled back)."""
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() not in SUPPORTED_DATABASES:
            raise ValueError(
                f"unsupported database '{parsed.get_backend_name()}' "
                "(postgresql+psycopg://… or duckdb:///…)"
            )
        engine = create_database_engine(url, read_only=read_only)
    except (ArgumentError, ValueError) as error:
        raise _fail(f"configuration error: --database-url: {error}", EXIT_USAGE) from None
    shown = parsed.render_as_string(hide_password=True)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as error:
        engine.dispose()
        message = f"cannot connect to the database {shown}: {reason(error)}"
        raise _fail(message, EXIT_DATABASE) from None
    try:
        yield engine
    except SQLAlchemyError as error:
        log.debug("database error", exc_info=error)
        raise _fail(f"database error, nothing changed: {reason(error)}", EXIT_DATABASE) from None
    finally:
        engine.dispose()


@cli.command(cls=_Command)
def migrate(
    database_url: PostgresUrl = None,
    revision: Annotated[
        str,
        typer.Option(
            metavar="REVISION",
            help="head, or a revision id: 0001, 0002, ... (migrations/versions)",
        ),
    ] = "head",
    downgrade: Annotated[
        bool,
        typer.Option(
            "--downgrade",
            help="Allow going down to an older REVISION (drops what newer ones added).",
        ),
    ] = False,
) -> None:
    """Create or upgrade the PostgreSQL schema (Alembic migrations) to REVISION."""
    if not database_url or not database_url.startswith("postgresql"):
        raise _fail("migrate needs a PostgreSQL --database-url (or DATABASE_URL)", EXIT_USAGE)
    try:
        target = migrations.resolve(revision)
    except migrations.UnknownRevision as error:
        raise _fail(str(error), EXIT_USAGE) from None
    _configure_logging()
    with _database(database_url) as engine:
        current = migrations.current_revision(engine)
        try:
            steps = migrations.steps(current, target)
        except migrations.UnknownRevision as error:
            raise _fail(str(error), EXIT_USAGE) from None
        if steps < 0 and not downgrade:
            message = (
                f"database schema is at revision {current}, newer than {target}: "
                "nothing done (add --downgrade to go down; it drops what newer revisions added)"
            )
            raise _fail(message, EXIT_USAGE)
        if steps > 0:
            migrations.upgrade(engine, target)
        elif steps < 0:
            migrations.downgrade(engine, target)
    verb = "upgraded" if steps > 0 else "downgraded"
    if steps == 0:
        typer.echo(f"schema already at revision {target}: nothing to do")
    else:
        typer.echo(
            f"schema {verb} from {f'revision {current}' if current else 'empty'} to {target}"
        )


DataDir = Annotated[
    Path,
    typer.Argument(metavar="DATA_DIR", help="directory with the CSV files", show_default=False),
]


@cli.command(cls=_Command)
def load(
    data_dir: DataDir,
    database_url: DatabaseUrl = None,
    dataset: Annotated[
        str | None, typer.Option(metavar="NAME", help="dataset name (default: DATA_DIR's name)")
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Only validate DATA_DIR: no database needed, nothing written."
        ),
    ] = False,
) -> None:
    """Validate DATA_DIR and publish it atomically as the current dataset."""
    if not data_dir.is_dir():
        raise _fail(f"'{data_dir}' is not a directory", EXIT_USAGE)
    _configure_logging()
    if check:
        _check(data_dir)
        return
    if not database_url:
        raise _fail("load needs --database-url (or DATABASE_URL)", EXIT_USAGE)
    with _database(database_url) as engine:
        try:
            prepare_schema(engine)
            with load_progress() as progress:
                name = dataset or data_dir.resolve().name
                result = load_dataset(engine, data_dir, dataset_name=name, progress=progress)
        except SchemaNotReady as error:
            raise _fail(str(error), EXIT_USAGE) from None
        except DatasetRefused as error:
            raise _fail(error.summary(), EXIT_REFUSED) from None
    if not result.loaded:
        typer.echo(f"'{result.dataset_name}' is already loaded with these files: nothing to do")
        return
    typer.echo(f"published '{result.dataset_name}': {result.summary()}")


def _check(data_dir: Path) -> None:
    try:
        with load_progress() as progress:
            result = check_dataset(data_dir, progress=progress)
    except DatasetRefused as error:
        raise _fail(error.summary(), EXIT_REFUSED) from None
    typer.echo(
        f"data directory '{data_dir}' is valid: {result.campaigns:,} campaigns, "
        f"{result.creators:,} creators, {result.metric_rows:,} metric rows "
        f"(checked in {seconds_text(result.seconds)})"
    )


@cli.command(cls=_Command)
def datasets(
    database_url: DatabaseUrl = None,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="show the newest N loads")] = 20,
) -> None:
    """List the loaded datasets (the load ledger), newest first: the first is served."""
    if not database_url:
        raise _fail("datasets needs --database-url (or DATABASE_URL)", EXIT_USAGE)
    _configure_logging()
    with _database(database_url, read_only=True) as engine:
        try:
            entries = recorded_loads(engine, limit=limit)
        except SchemaNotReady as error:
            raise _fail(str(error), EXIT_USAGE) from None
    if not entries:
        typer.echo("no dataset loaded yet")
        return
    typer.echo(ledger_table(entries))


LEDGER_HEADER = ("dataset", "loaded at (UTC)", "metric rows", "checksum", "loaded by")
RIGHT_ALIGNED = {2}  # counts


def ledger_table(entries: list[LedgerEntry]) -> str:
    """The entries as aligned text columns under a header."""
    rows = [LEDGER_HEADER] + [
        (
            entry.dataset_name,
            entry.loaded_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{entry.metric_rows:,}",
            entry.checksum[:12],
            entry.loaded_by,
        )
        for entry in entries
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(LEDGER_HEADER))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if column in RIGHT_ALIGNED else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def main() -> None:
    cli()
