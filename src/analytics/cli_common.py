"""What every `analytics` command shares: exit codes, options, failing in one line, the
logging configuration, and opening a database."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from typer.core import TyperCommand, TyperGroup

from analytics import logs
from analytics.adapters.engines import create_database_engine
from analytics.adapters.load_phases import reason
from analytics.domain.access import tenant_id_problem

if TYPE_CHECKING:
    from typer._click.formatting import HelpFormatter

EXIT_REFUSED = 1  # the data directory breaks the contract: nothing was written
EXIT_USAGE = 2  # bad options or configuration, or a schema to migrate first
EXIT_DATABASE = 3  # the database could not be reached, or failed: nothing was changed
SUPPORTED_DATABASES = ("postgresql", "duckdb")
log = logging.getLogger("analytics")


class Group(TyperGroup):
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


class Command(TyperCommand):
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


def _tenant_id(value: str | None) -> str | None:
    if value is not None and (problem := tenant_id_problem(value)) is not None:
        raise typer.BadParameter(problem)
    return value


Tenant = Annotated[
    str,
    typer.Option(
        "--tenant", metavar="ID", callback=_tenant_id, help="the tenant (1-63 of a-z, 0-9, _ -)"
    ),
]


def configure_logging(level: str | None = None, log_format: str | None = None) -> None:
    """The one logging configuration (`analytics.logs`) at `level`, else LOG_LEVEL, in
    `log_format`, else LOG_FORMAT."""
    try:
        logs.configure_logging(
            level or logs.environment_level(), log_format or logs.environment_format()
        )
    except ValueError as error:
        variable = "LOG_FORMAT" if "log format" in str(error) else "LOG_LEVEL"
        raise fail(f"configuration error: {variable}: {error}", 2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


@contextmanager
def database(url: str, *, read_only: bool = False) -> Iterator[Engine]:
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
        raise fail(f"configuration error: --database-url: {error}", EXIT_USAGE) from None
    shown = parsed.render_as_string(hide_password=True)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as error:
        engine.dispose()
        message = f"cannot connect to the database {shown}: {reason(error)}"
        raise fail(message, EXIT_DATABASE) from None
    try:
        yield engine
    except SQLAlchemyError as error:
        log.debug("database error", exc_info=error)
        raise fail(f"database error, nothing changed: {reason(error)}", EXIT_DATABASE) from None
    finally:
        engine.dispose()
