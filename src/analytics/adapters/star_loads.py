"""A load's part of the explorer's star: the tenant's dimension rows and breakdown rollups.

Written in the publish's transaction, after the fact rows (and before the swap, PostgreSQL):
the dimensions from the load's numbering (`BreakdownKeys`) and the dates its rows hold, the
rollups: the three core breakdowns per day from the facts, per month from those (a fraction
of their rows), each of the three alone per day from the day core too, and each one or two
of them per month from the month core. A cube of every breakdown per day was measured and
dropped (DECISIONS.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Protocol

from sqlalchemy import Connection, Table, func, insert, literal, select

from analytics.adapters import schema

Named = Callable[[Table], Table]
"""The table a load writes for `table`: its new partition (PostgreSQL) or itself (DuckDB)."""

ALL_MEASURES = ("impressions", "clicks", "conversions", "spend", "revenue", "likes")


class KeyRows(Protocol):
    """A load's numbering of breakdown values (BreakdownKeys, or the bulk path's)."""

    def rows(self, breakdown: str) -> Iterable[tuple[int, str]]:
        """(key, value) of every value of `breakdown`, `unknown` included."""
        ...


def date_rows(tenant_id: str, dates: Iterable[str]) -> list[dict[str, object]]:
    rows = []
    for text in sorted(dates):
        day = dt.date.fromisoformat(text)
        rows.append(
            {
                "tenant_id": tenant_id,
                "metric_date": day,
                "week_start": day - dt.timedelta(days=day.weekday()),
                "month_start": day.replace(day=1),
            }
        )
    return rows


def dimension_rows(tenant_id: str, keys: KeyRows, breakdown: str) -> list[dict[str, object]]:
    return [
        {"tenant_id": tenant_id, f"{breakdown}_key": key, breakdown: value}
        for key, value in keys.rows(breakdown)
    ]


def fill_dimensions(
    connection: Connection,
    tenant_id: str,
    keys: KeyRows,
    dates: Iterable[str],
    named: Named,
) -> None:
    """The tenant's date and breakdown dimension rows of this load (a few hundred rows)."""
    written = [(schema.dim_date, date_rows(tenant_id, dates))]
    written += [
        (table, dimension_rows(tenant_id, keys, breakdown))
        for breakdown, table in schema.breakdown_dimensions.items()
    ]
    for table, rows in written:
        if rows:  # a dataset without metric rows has no dates
            connection.execute(insert(named(table)), rows)


def _roll_up(
    connection: Connection,
    tenant_id: str,
    source: Table,
    target: Table,
    *,
    dates: Table | None = None,
    one_tenant: bool,
) -> None:
    """`target` := the sums of `source` per period and `target`'s breakdown keys; the period
    is the source's own (its day or its month), or the month of its day through the date
    dimension `dates` when given; rows are written in period order (a few thousand a day at
    most: cheap to sort)."""
    keys = [column.name for column in target.columns if column.name.endswith("_key")]
    s = source.c
    if dates is not None:
        period, bucket = "month_start", dates.c.month_start
        on = (dates.c.tenant_id == s.tenant_id) & (dates.c.metric_date == s.metric_date)
        joined = source.join(dates, on)
    else:
        period = "month_start" if "month_start" in s else "metric_date"
        bucket, joined = s[period], source
    groups = [bucket, *(s[key] for key in keys)]
    tenant = literal(tenant_id, schema.tenants.c.tenant_id.type)
    sums = [func.sum(s[name]) for name in ALL_MEASURES]
    grouped = select(tenant, *groups, *sums).select_from(joined).group_by(*groups)
    if not one_tenant:  # DuckDB: one table for every tenant
        grouped = grouped.where(s.tenant_id == tenant_id)
    grouped = grouped.order_by(*groups)
    columns = ["tenant_id", period, *keys, *ALL_MEASURES]
    connection.execute(insert(target).from_select(columns, grouped))


def fill_rollups(
    connection: Connection, tenant_id: str, named: Named, *, one_tenant: bool, day_core: bool = True
) -> None:
    """The daily core from the facts (unless not `day_core`: the bulk path copied it), the
    monthly core and each single breakdown per day from that, and each one or two of the
    core breakdowns per month from the monthly core."""
    core = named(schema.breakdown_day_core)
    facts, dates = named(schema.campaign_daily_metrics), named(schema.dim_date)
    if day_core:
        _roll_up(connection, tenant_id, facts, core, one_tenant=one_tenant)
    month_core = named(schema.breakdown_month_core)
    _roll_up(connection, tenant_id, core, month_core, dates=dates, one_tenant=one_tenant)
    fill_single_rollups(connection, tenant_id, named, one_tenant=one_tenant)
    fill_month_subsets(connection, tenant_id, named, one_tenant=one_tenant)


def fill_month_subsets(
    connection: Connection, tenant_id: str, named: Named, *, one_tenant: bool
) -> None:
    """Each one or two of the core breakdowns per month, from the month core (a few
    hundred rows a year each)."""
    month_core = named(schema.breakdown_month_core)
    for table in schema.breakdown_month_subsets.values():
        _roll_up(connection, tenant_id, month_core, named(table), one_tenant=one_tenant)


def fill_single_rollups(
    connection: Connection, tenant_id: str, named: Named, *, one_tenant: bool
) -> None:
    """Each core breakdown alone per day, from the day core (a few thousand rows a year)."""
    day_core = named(schema.breakdown_day_core)
    for table in schema.breakdown_day_single.values():
        _roll_up(connection, tenant_id, day_core, named(table), one_tenant=one_tenant)
