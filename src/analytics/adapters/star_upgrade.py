"""DuckDB: a file made before the explorer's star gets it at start-up (what migration 0009
does on PostgreSQL): each tenant's breakdown values numbered in byte order (key 0 =
`unknown`), the facts' text columns replaced by the keys, the dates and rollups filled.
Table and column names come from the schema only; one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import Connection, Engine, Table, text

from analytics.adapters import schema, star_loads

FACTS = schema.campaign_daily_metrics.name


def _columns(connection: Connection, table: str) -> set[str]:
    statement = text("SELECT column_name FROM information_schema.columns WHERE table_name = :t")
    return set(connection.execute(statement, {"t": table}).scalars())


def _has_rows(connection: Connection, table: str) -> bool:
    return connection.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None  # noqa: S608


def upgrade_text_breakdowns(engine: Engine) -> None:
    """Give an older file's facts their star: the text breakdown columns (revision 0007)
    replaced by keys, or, with none (before 0007), every row `unknown`. Nothing to do when
    the facts are empty or the star is filled."""
    with engine.begin() as connection:
        with_text = set(schema.BREAKDOWNS) <= _columns(connection, FACTS)
        filled = _has_rows(connection, schema.dim_date.name) or not _has_rows(connection, FACTS)
        if filled and not with_text:
            return
        tenants = f"SELECT DISTINCT tenant_id FROM {FACTS}"  # noqa: S608 - schema names only
        for name in schema.BREAKDOWNS:
            dimension = schema.breakdown_dimensions[name].name
            connection.execute(
                text(f"INSERT INTO {dimension} SELECT tenant_id, 0, 'unknown' FROM ({tenants})")  # noqa: S608
            )
            if not with_text:
                continue
            connection.execute(
                text(
                    f"INSERT INTO {dimension} SELECT tenant_id, "  # noqa: S608
                    f"row_number() OVER (PARTITION BY tenant_id ORDER BY {name}), {name} "
                    f"FROM (SELECT DISTINCT tenant_id, {name} FROM {FACTS} "
                    f"WHERE {name} <> 'unknown')"
                )
            )
            connection.execute(
                text(
                    f"UPDATE {FACTS} SET {name}_key = d.{name}_key FROM {dimension} AS d "  # noqa: S608
                    f"WHERE d.tenant_id = {FACTS}.tenant_id AND d.{name} = {FACTS}.{name}"
                )
            )
            connection.execute(text(f"ALTER TABLE {FACTS} DROP COLUMN {name}"))
        connection.execute(
            text(
                f"INSERT INTO {schema.dim_date.name} SELECT tenant_id, metric_date, "  # noqa: S608
                "CAST(date_trunc('week', metric_date) AS DATE), "
                "CAST(date_trunc('month', metric_date) AS DATE) "
                f"FROM (SELECT DISTINCT tenant_id, metric_date FROM {FACTS})"
            )
        )
        for tenant in connection.execute(text(tenants)).scalars().all():
            star_loads.fill_rollups(connection, tenant, lambda table: table, one_tenant=False)


def add_single_rollups(engine: Engine) -> None:
    """A file made before the single-breakdown rollups (what migration 0010 does on
    PostgreSQL): each tenant's, from its day core, when the file has a day core and none of
    them yet. Nothing to do otherwise (a load writes them with the rest of its star)."""
    tables = schema.breakdown_day_single.values()
    _add_missing(engine, tables, schema.breakdown_day_core, star_loads.fill_single_rollups)


def add_month_subsets(engine: Engine) -> None:
    """A file made before the monthly rollups of one or two breakdowns (what migration 0011
    does on PostgreSQL): each tenant's, from its month core, when the file has a month core
    and none of them yet."""
    tables = schema.breakdown_month_subsets.values()
    _add_missing(engine, tables, schema.breakdown_month_core, star_loads.fill_month_subsets)


def _add_missing(
    engine: Engine,
    tables: Iterable[Table],
    source: Table,
    fill: Callable[..., None],
) -> None:
    """`fill` each tenant of `source` when none of `tables` has a row yet."""
    with engine.begin() as connection:
        if any(_has_rows(connection, table.name) for table in tables):
            return
        tenants = text(f"SELECT DISTINCT tenant_id FROM {source.name}")  # noqa: S608 - schema name
        for tenant in connection.execute(tenants).scalars().all():
            fill(connection, tenant, _itself, one_tenant=False)


def _itself(table: Table) -> Table:
    return table
