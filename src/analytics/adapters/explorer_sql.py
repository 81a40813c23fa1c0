"""The metrics explorer's one query builder: a validated `ExplorerQuery` → one bound SELECT,
the same for DuckDB and PostgreSQL (SQLAlchemy Core).

Values (tenant, dates, filter values, the cursor's position) are always bound parameters;
column names come from the schema through the allow-lists of `domain.explorer` only.

It reads the star (migration 0009): the smallest rollup that keeps every dimension the
question groups or filters by (per month when the range is whole months), else the facts;
sums per period and breakdown key first, then the keys' values from the dimension tables.
Periods come from the date dimension (its week and month starts), the same on both engines.

Exact on every engine, as in `sql/campaign_performance.sql`: counts are summed as
NUMERIC(38, 0), money as NUMERIC(38, 2); a rate n / d is rounded to 4 places half away from
zero with integers only, k = floor((20000 n + d) / (2 d)) (n, d >= 0; the rate is k / 10000),
the floor being an exact integer division on each engine (`div` on PostgreSQL, `//` on
HUGEINT on DuckDB, where `/` on decimals is double precision). Money enters rates in cents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Numeric,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from analytics.adapters import schema
from analytics.domain.explorer import AMOUNTS, COUNTS, MEASURES, PERIOD, ExplorerQuery, Position

IDS = ("campaign_id", "creator_id")

WholeNumber = Numeric(38, 0)
Amount = Numeric(38, 2)


class _IntegerDivision(FunctionElement[Any]):
    """floor(a / b) for whole numbers a >= 0, b > 0, exact on every engine."""

    type = WholeNumber
    name = "integer_division"
    inherit_cache = True


@compiles(_IntegerDivision, "postgresql")
def _div_postgresql(element: _IntegerDivision, compiler: Any, **kw: Any) -> str:
    return f"div({compiler.process(element.clauses, **kw)})"


@compiles(_IntegerDivision)
def _div_duckdb(element: _IntegerDivision, compiler: Any, **kw: Any) -> str:
    a, b = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(CAST({a} AS HUGEINT) // CAST({b} AS HUGEINT))"


def _constant(value: int) -> ColumnElement[Any]:
    return literal_column(str(int(value)), WholeNumber)


def _rate(numerator: ColumnElement[Any], denominator: ColumnElement[Any]) -> ColumnElement[Any]:
    """k of round(numerator / denominator, 4) = k / 10000; 0 when the denominator is 0."""
    scaled = _constant(20000) * numerator + denominator
    quotient = _IntegerDivision(scaled, _constant(2) * denominator)
    return case((denominator == 0, _constant(0)), else_=cast(quotient, WholeNumber))


def _sum(column: ColumnElement[Any], kind: Numeric) -> ColumnElement[Any]:
    return cast(func.coalesce(func.sum(column), _constant(0)), kind)


@dataclass(frozen=True, slots=True)
class _Source:
    """A table the totals can be summed from: its period column and the dimensions it keeps
    (breakdowns as keys; ids as themselves)."""

    table: Table
    period: str  # "metric_date" or "month_start"
    breakdowns: tuple[str, ...]
    ids: tuple[str, ...] = ()


# Smallest first: the first that keeps every dimension asked for answers (DECISIONS.md).
_SOURCES = (
    _Source(schema.breakdown_month_core, "month_start", schema.CORE_BREAKDOWNS),
    _Source(schema.breakdown_day_core, "metric_date", schema.CORE_BREAKDOWNS),
    _Source(schema.campaign_daily_metrics, "metric_date", schema.BREAKDOWNS, IDS),
)


def _whole_months(query: ExplorerQuery) -> bool:
    """True when the range is whole months and no bucket is finer than a month."""
    after_last = query.date_to + dt.timedelta(days=1)
    return query.granularity in ("month", "total") and query.date_from.day == after_last.day == 1


def _source(query: ExplorerQuery) -> _Source:
    asked = set(query.group_by) | {name for name, _ in query.filters}
    for source in _SOURCES:
        if source.period == "month_start" and not _whole_months(query):
            continue
        if asked <= set(source.breakdowns) | set(source.ids):
            return source
    raise AssertionError("the facts keep every dimension")  # pragma: no cover


def _key_filter(name: str, values: tuple[str, ...], tenant: ColumnElement[Any]) -> Any:
    """The keys of the tenant's rows whose breakdown `name` is one of `values`."""
    dimension = schema.breakdown_dimensions[name]
    return (
        select(dimension.c[f"{name}_key"])
        .where(dimension.c.tenant_id == tenant, dimension.c[name].in_(values))
        .scalar_subquery()
    )


def _grouped(query: ExplorerQuery, tenant_id: str) -> tuple[Select[Any], _Source]:
    """The sums per period and group, breakdowns still as keys."""
    source = _source(query)
    rows = source.table.c
    tenant = literal(tenant_id, schema.tenants.c.tenant_id.type)
    joined: Any = source.table
    period: ColumnElement[Any] | None = None
    if query.granularity in ("week", "month") and source.period == "metric_date":
        dates = schema.dim_date.c
        on = and_(dates.tenant_id == tenant, dates.metric_date == rows.metric_date)
        joined = joined.join(schema.dim_date, on)
        period = dates.week_start if query.granularity == "week" else dates.month_start
    elif query.granularity != "total":
        period = rows[source.period]
    groups = [] if period is None else [period.label(PERIOD)]
    groups += [
        rows[name].label(name) if name in source.ids else rows[f"{name}_key"].label(name)
        for name in query.group_by
    ]
    sums = [_sum(rows[name], WholeNumber).label(name) for name in COUNTS]
    sums += [_sum(rows[name], Amount).label(name) for name in AMOUNTS]
    conditions = [
        rows.tenant_id == tenant,
        rows[source.period] >= query.date_from,
        rows[source.period] <= query.date_to,
    ]
    for name, values in query.filters:
        if not values:
            conditions.append(false())
        elif name in source.ids:
            conditions.append(rows[name].in_(values))
        else:
            conditions.append(rows[f"{name}_key"].in_(_key_filter(name, values, tenant)))
    grouped = select(*groups, *sums).select_from(joined).where(*conditions)
    if groups:
        grouped = grouped.group_by(*(column.element for column in groups))
    return grouped.having(func.count() > 0), source  # no rows, no group (not even a total)


def _totals(query: ExplorerQuery, tenant_id: str) -> Select[Any]:
    """The sums per period and group, breakdown keys replaced by their values."""
    grouped, source = _grouped(query, tenant_id)
    sums = grouped.subquery("sums")
    tenant = literal(tenant_id, schema.tenants.c.tenant_id.type)
    joined: Any = sums
    columns: list[ColumnElement[Any]] = [] if query.granularity == "total" else [sums.c[PERIOD]]
    for name in query.group_by:
        if name in source.ids:
            columns.append(sums.c[name])
            continue
        dimension = schema.breakdown_dimensions[name].alias(f"dim_{name}")
        on = and_(dimension.c.tenant_id == tenant, dimension.c[f"{name}_key"] == sums.c[name])
        joined = joined.join(dimension, on)
        columns.append(dimension.c[name].label(name))
    measures = [sums.c[name] for name in (*COUNTS, *AMOUNTS)]
    return select(*columns, *measures).select_from(joined)


def _measured(query: ExplorerQuery, tenant_id: str) -> Select[Any]:
    totals = _totals(query, tenant_id).subquery("totals")
    t = totals.c
    spend_cents = cast(t.spend * _constant(100), WholeNumber)
    revenue_cents = cast(t.revenue * _constant(100), WholeNumber)
    rates = {
        "ctr": _rate(t.clicks, t.impressions),
        "cvr": _rate(t.conversions, t.clicks),
        "roas": _rate(revenue_cents, spend_cents),
        "cpc": _rate(spend_cents, _constant(100) * t.clicks),
        "cpm": _rate(_constant(10) * spend_cents, t.impressions),
    }
    return select(*t, *(rate.label(name) for name, rate in rates.items()))


def _bound(name: str, value: object) -> ColumnElement[Any]:
    """A position value as a bound parameter of the column's type (measures as text cast to
    NUMERIC: exact on every driver, whatever the size)."""
    if name == PERIOD:
        return literal(value, Date)
    if name in COUNTS:
        return cast(literal(str(value), String), WholeNumber)
    if name in AMOUNTS:
        return cast(literal(str(value), String), Amount)
    if name in MEASURES:  # a rate, compared as its k
        return cast(literal(str(int(value * 10000)), String), WholeNumber)  # type: ignore[operator]
    return literal(value, String)


def _after(
    columns: list[tuple[ColumnElement[Any], bool]], values: list[ColumnElement[Any]]
) -> ColumnElement[bool]:
    """Rows after `values` in the order of `columns` ((column, descending) pairs)."""
    alternatives = []
    for index, (column, descending) in enumerate(columns):
        equal = [columns[j][0] == values[j] for j in range(index)]
        beyond = column < values[index] if descending else column > values[index]
        alternatives.append(and_(*equal, beyond))
    return or_(*alternatives)


def explorer_statement(
    query: ExplorerQuery, tenant_id: str, *, after: Position | None, limit: int
) -> Select[Any]:
    """At most `limit` rows of the answer, in `query.order()`, after `after` when given."""
    measured = _measured(query, tenant_id).subquery("measured")
    order = [(measured.c[key.name], key.descending) for key in query.order()]
    statement = select(measured)
    if after:  # an empty position: a one-row answer has no next page
        values = [_bound(key.name, value) for key, value in zip(query.order(), after, strict=True)]
        statement = statement.where(_after(order, values))
    ordering = [column.desc() if descending else column.asc() for column, descending in order]
    return statement.order_by(*ordering).limit(limit)
