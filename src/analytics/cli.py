"""`analytics` command line: serve the API, migrate a database, load a data directory, and
list the datasets loaded.

Exit codes (README "Command line"): 0 done, 1 data refused, 2 usage or configuration
(including a schema that needs `analytics migrate`), 3 database unreachable or failing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from analytics import __version__
from analytics.adapters import migrations
from analytics.adapters.csv_dataset import DatasetRefused
from analytics.adapters.dataset_loader import check_dataset, load_dataset
from analytics.adapters.engines import SchemaNotReady, prepare_schema
from analytics.adapters.load_ledger import LedgerEntry, recorded_loads
from analytics.adapters.load_phases import seconds_text
from analytics.cli_access import keys_cli, tenants_cli
from analytics.cli_benchmarks import benchmarks_cli
from analytics.cli_common import (
    EXIT_REFUSED,
    EXIT_USAGE,
    Command,
    DatabaseUrl,
    Group,
    PostgresUrl,
    Tenant,
    configure_logging,
    database,
    fail,
)
from analytics.cli_jobs import jobs_cli, scheduler
from analytics.cli_progress import load_progress
from analytics.cli_serve import serve
from analytics.domain.access import DEFAULT_TENANT, UnknownTenant

cli = typer.Typer(
    cls=Group,
    help="Campaign analytics service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: flags without `<bool>` type labels
)
cli.add_typer(tenants_cli, name="tenants")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(jobs_cli, name="jobs")
cli.add_typer(benchmarks_cli, name="benchmarks")
cli.command()(serve)


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


@cli.command(cls=Command)
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
        raise fail("migrate needs a PostgreSQL --database-url (or DATABASE_URL)", EXIT_USAGE)
    try:
        target = migrations.resolve(revision)
    except migrations.UnknownRevision as error:
        raise fail(str(error), EXIT_USAGE) from None
    configure_logging()
    with database(database_url) as engine:
        current = migrations.current_revision(engine)
        try:
            steps = migrations.steps(current, target)
        except migrations.UnknownRevision as error:
            raise fail(str(error), EXIT_USAGE) from None
        if steps < 0 and not downgrade:
            message = (
                f"database schema is at revision {current}, newer than {target}: "
                "nothing done (add --downgrade to go down; it drops what newer revisions added)"
            )
            raise fail(message, EXIT_USAGE)
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


@cli.command(cls=Command)
def load(
    data_dir: DataDir,
    database_url: DatabaseUrl = None,
    dataset: Annotated[
        str | None, typer.Option(metavar="NAME", help="dataset name (default: DATA_DIR's name)")
    ] = None,
    tenant: Tenant = DEFAULT_TENANT,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Only validate DATA_DIR: no database needed, nothing written."
        ),
    ] = False,
) -> None:
    """Validate DATA_DIR and publish it atomically as the current dataset of one tenant."""
    if not data_dir.is_dir():
        raise fail(f"'{data_dir}' is not a directory", EXIT_USAGE)
    configure_logging()
    if check:
        _check(data_dir)
        return
    if not database_url:
        raise fail("load needs --database-url (or DATABASE_URL)", EXIT_USAGE)
    with database(database_url) as engine:
        try:
            prepare_schema(engine)
            with load_progress() as progress:
                name = dataset or data_dir.resolve().name
                result = load_dataset(
                    engine, data_dir, dataset_name=name, tenant_id=tenant, progress=progress
                )
        except SchemaNotReady as error:
            raise fail(str(error), EXIT_USAGE) from None
        except UnknownTenant as error:
            hint = f"create it with `analytics tenants create {tenant}`"
            raise fail(f"{error}: {hint}", EXIT_USAGE) from None
        except DatasetRefused as error:
            raise fail(error.summary(), EXIT_REFUSED) from None
    if not result.loaded:
        typer.echo(f"'{result.dataset_name}' is already loaded with these files: nothing to do")
        return
    typer.echo(f"published '{result.dataset_name}' into tenant '{tenant}': {result.summary()}")


def _check(data_dir: Path) -> None:
    try:
        with load_progress() as progress:
            result = check_dataset(data_dir, progress=progress)
    except DatasetRefused as error:
        raise fail(error.summary(), EXIT_REFUSED) from None
    typer.echo(
        f"data directory '{data_dir}' is valid: {result.campaigns:,} campaigns, "
        f"{result.creators:,} creators, {result.metric_rows:,} metric rows "
        f"(checked in {seconds_text(result.seconds)})"
    )


@cli.command(cls=Command)
def datasets(
    database_url: DatabaseUrl = None,
    tenant: Annotated[
        str | None,
        typer.Option(metavar="ID", help="only this tenant's loads (default: every tenant's)"),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="show the newest N loads")] = 20,
) -> None:
    """List the loaded datasets (the load ledger), newest first: each tenant serves its
    newest."""
    if not database_url:
        raise fail("datasets needs --database-url (or DATABASE_URL)", EXIT_USAGE)
    configure_logging()
    with database(database_url, read_only=True) as engine:
        try:
            entries = recorded_loads(engine, limit=limit, tenant_id=tenant)
        except SchemaNotReady as error:
            raise fail(str(error), EXIT_USAGE) from None
    if not entries:
        typer.echo("no dataset loaded yet")
        return
    typer.echo(ledger_table(entries))


LEDGER_HEADER = ("tenant", "dataset", "loaded at (UTC)", "metric rows", "checksum", "loaded by")
RIGHT_ALIGNED = {3}  # counts


def ledger_table(entries: list[LedgerEntry]) -> str:
    """The entries as aligned text columns under a header."""
    rows = [LEDGER_HEADER] + [
        (
            entry.tenant_id,
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


cli.command(cls=Command)(scheduler)


def main() -> None:
    cli()
