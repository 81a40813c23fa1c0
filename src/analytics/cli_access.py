"""`analytics tenants …` and `analytics keys …`: who may read and write which tenant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated

import typer

from analytics.adapters.engines import SchemaNotReady, prepare_schema
from analytics.adapters.sql_access import SqlAlchemyAccessStore, TenantExists
from analytics.cli_common import (
    EXIT_USAGE,
    Command,
    DatabaseUrl,
    Group,
    Tenant,
    configure_logging,
    database,
    fail,
)
from analytics.domain.access import Role, UnknownTenant, tenant_id_problem

EXIT_NOT_FOUND = 1  # the key or tenant named does not exist (or is already revoked)

tenants_cli = typer.Typer(
    cls=Group, help="Create and list tenants.", no_args_is_help=True, rich_markup_mode=None
)
keys_cli = typer.Typer(
    cls=Group,
    help="Create, list and revoke a tenant's API keys.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@contextmanager
def _store(database_url: str | None) -> Iterator[SqlAlchemyAccessStore]:
    if not database_url:
        raise fail("this command needs --database-url (or DATABASE_URL)", EXIT_USAGE)
    configure_logging()
    with database(database_url) as engine:
        try:
            prepare_schema(engine)
        except SchemaNotReady as error:
            raise fail(str(error), EXIT_USAGE) from None
        yield SqlAlchemyAccessStore(engine)


def _table(header: Sequence[str], rows: list[Sequence[str]]) -> str:
    everything = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(row[column]) for row in everything) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in everything
    )


def _when(moment: dt.datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@tenants_cli.command("create", cls=Command)
def create_tenant(
    tenant_id: Annotated[str, typer.Argument(metavar="ID", help="1-63 of a-z, 0-9, _ and -")],
    name: Annotated[str | None, typer.Option(metavar="NAME", help="display name")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a tenant: its own campaigns, creators, metrics and keys."""
    if (problem := tenant_id_problem(tenant_id)) is not None:
        raise fail(f"invalid tenant id '{tenant_id}': {problem}", EXIT_USAGE)
    with _store(database_url) as store:
        try:
            tenant = store.create_tenant(tenant_id, name)
        except TenantExists as error:
            raise fail(str(error), EXIT_USAGE) from None
    typer.echo(f"created tenant '{tenant.tenant_id}' ({tenant.tenant_name})")


@tenants_cli.command("list", cls=Command)
def list_tenants(database_url: DatabaseUrl = None) -> None:
    """List the tenants."""
    with _store(database_url) as store:
        tenants = store.tenants()
    rows = [(t.tenant_id, t.tenant_name, _when(t.created_at)) for t in tenants]
    typer.echo(_table(("tenant", "name", "created (UTC)"), rows))


@keys_cli.command("create", cls=Command)
def create_key(
    tenant: Tenant,
    role: Annotated[Role, typer.Option(metavar="ROLE", help="viewer, editor or admin")],
    name: Annotated[str, typer.Option(metavar="NAME", help="what the key is for")] = "",
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API key and print it: this is the only time it is shown (only its SHA-256
    digest is stored)."""
    with _store(database_url) as store:
        try:
            key, secret = store.create_key(tenant, role, name)
        except UnknownTenant as error:
            raise fail(str(error), EXIT_USAGE) from None
    typer.echo(secret)
    typer.echo(
        f"key {key.key_id} ({key.role}) of tenant '{key.tenant_id}' created; "
        "store it now, it cannot be shown again",
        err=True,
    )


@keys_cli.command("list", cls=Command)
def list_keys(tenant: Tenant, database_url: DatabaseUrl = None) -> None:
    """List a tenant's keys (never their secrets)."""
    with _store(database_url) as store:
        try:
            keys = store.keys(tenant)
        except UnknownTenant as error:
            raise fail(str(error), EXIT_USAGE) from None
    header = ("key id", "name", "role", "created (UTC)", "last used (UTC)", "revoked (UTC)")
    rows = [
        (
            k.key_id,
            k.key_name,
            k.role.value,
            _when(k.created_at),
            _when(k.last_used_at),
            _when(k.revoked_at),
        )
        for k in keys
    ]
    typer.echo(_table(header, rows))


@keys_cli.command("revoke", cls=Command)
def revoke_key(
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="as `keys list` shows it")],
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a key: every running process refuses it within seconds."""
    with _store(database_url) as store:
        revoked = store.revoke_key(key_id)
    if not revoked:
        raise fail(f"no active key '{key_id}'", EXIT_NOT_FOUND)
    typer.echo(f"revoked key {key_id}")
