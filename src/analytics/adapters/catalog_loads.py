"""How a load writes the catalog: the dimension files are staged in temporary tables, then
merged into campaigns and creators under the tenant's catalog clock, as API writes are.

New ids are inserted (`active`, created and updated at the load's timestamp); an existing id
whose name differs takes the file's name and the new `updated_at`, so syncing clients see
the change; an unchanged row keeps its `updated_at`. Nothing is deleted: campaigns and
creators created through the API, their statuses and stored thresholds stay.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, MetaData, String, Table, text

from analytics.adapters import schema
from analytics.adapters.catalog_clock import tick

_staging_metadata = MetaData()
STAGING = {
    table.name: Table(
        f"{table.name}__staging",
        _staging_metadata,
        Column("tenant_id", String),
        Column("item_id", String),
        Column("name", String),
        prefixes=["TEMPORARY"],
    )
    for table in (schema.campaigns, schema.creators)
}


def create_staging(connection: Connection) -> dict[str, Table]:
    """Empty staging tables for this transaction, by dimension table name."""
    for staging in STAGING.values():
        connection.execute(text(f"DROP TABLE IF EXISTS {staging.name}"))
        staging.create(connection)
    return STAGING


def merge_dimensions(connection: Connection, tenant_id: str) -> None:
    """Upsert the staged rows (names from the file win) at the tenant's next catalog
    timestamp, holding its clock until the load commits."""
    stamp = tick(connection, tenant_id)
    for table, key, name, extra in (
        ("campaigns", "campaign_id", "campaign_name", ("status",)),
        ("creators", "creator_id", "creator_name", ()),
    ):
        extra_columns = "".join(f", {column}" for column in extra)
        extra_values = ", 'active'" if extra else ""
        staging = STAGING[table].name
        connection.execute(
            text(
                f"INSERT INTO {table} (tenant_id, {key}, {name}{extra_columns}, "  # noqa: S608
                f"created_at, updated_at) SELECT s.tenant_id, s.item_id, s.name{extra_values}, "
                f"CAST(:stamp AS TIMESTAMP WITH TIME ZONE), "
                f"CAST(:stamp AS TIMESTAMP WITH TIME ZONE) FROM {staging} AS s "
                f"ON CONFLICT (tenant_id, {key}) DO UPDATE "
                f"SET {name} = excluded.{name}, updated_at = excluded.updated_at "
                f"WHERE {table}.{name} <> excluded.{name}"
            ),
            {"stamp": stamp},
        )
        STAGING[table].drop(connection)


def add_missing_catalog_columns(connection: Connection) -> None:
    """DuckDB files made before the catalog (revision 0006 on PostgreSQL): add its columns,
    filled with their defaults (`active`, the upgrade's time). `create_all` adds only tables."""
    for table, columns in (
        ("campaigns", ("status VARCHAR DEFAULT 'active'",)),
        ("campaigns", _TIMES),
        ("creators", _TIMES),
    ):
        for column in columns:
            connection.execute(text(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column}"))


_TIMES = (
    "created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP",
    "updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP",
)
