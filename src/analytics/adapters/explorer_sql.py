"""The metrics explorer's one query builder: a validated `ExplorerQuery` → one bound SELECT,
the same for DuckDB and PostgreSQL (SQLAlchemy Core).

Values (tenant, dates, filter values, the cursor's position, the limit) are always bound
parameters; column names come from the schema through the allow-lists of `domain.explorer`
only. A statement depends only on the question's shape (granularity, group and sort keys,
how many values each filter has, whether a position is given, the table it reads), so it is
built once per shape (`explorer_shape`, cached) and the values go in as named parameters
(`explorer_parameters`): building and compiling the statement cost ~4 ms a request, as much
as reading a 500-row answer (BENCHMARKS.md, "Metrics explorer at 20M rows").

It reads the star (migrations 0009-0011): the smallest rollup that keeps every dimension the
question groups or filters by (per month when the range is whole months), else the facts;
sums per period and breakdown key first (none when the rollup is kept at exactly the
question's period and keys: its rows are the answer's), then the keys' values from the
dimension tables.
Periods come from the date dimension (its week and month starts), the same on both engines.

Exact on every engine, as in `sql/campaign_performance.sql`: counts are summed as
NUMERIC(38, 0), money as NUMERIC(38, 2); a rate n / d is rounded to 4 places half away from
zero with integers only, k = floor((20000 n + d) / (2 d)) (n, d >= 0; the rate is k / 10000),
the floor being an exact integer division on each engine (`div` on PostgreSQL, `//` on
HUGEINT on DuckDB, where `/` on decimals is double precision). Money enters rates in cents.
The statement computes only the rate the answer is sorted by (for ORDER BY and the keyset);
the reader computes every rate from the exact sums with the same integers (`rates_of`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Integer,
    Numeric,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from analytics.adapters import schema
from analytics.domain.explorer import (
    AMOUNTS,
    COUNTS,
    MEASURES,
    PERIOD,
    RATES,
    ExplorerQuery,
    Position,
)

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
    return case((denominator == _constant(0), _constant(0)), else_=cast(quotient, WholeNumber))


def _sum(column: ColumnElement[Any], kind: Numeric) -> ColumnElement[Any]:
    return cast(func.coalesce(func.sum(column), _constant(0)), kind)


def _kept(column: ColumnElement[Any], kind: Numeric) -> ColumnElement[Any]:
    """A rollup's sum as `_sum` of its one row gives it."""
    return cast(func.coalesce(column, _constant(0)), kind)


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
    *(
        _Source(table, "month_start", subset)
        for subset, table in schema.breakdown_month_subsets.items()
    ),
    _Source(schema.breakdown_month_core, "month_start", schema.CORE_BREAKDOWNS),
    *(
        _Source(table, "metric_date", (name,))
        for name, table in schema.breakdown_day_single.items()
    ),
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


def _tenant() -> BindParameter[Any]:
    return bindparam("tenant_id", type_=schema.tenants.c.tenant_id.type)


def _values(position: int, count: int) -> list[BindParameter[Any]]:
    """The parameters of the `position`-th filter's `count` values (`filter_<p>_<i>`)."""
    return [bindparam(f"filter_{position}_{index}", type_=String) for index in range(count)]


def _key_filter(name: str, values: list[BindParameter[Any]], tenant: ColumnElement[Any]) -> Any:
    """The keys of the tenant's rows whose breakdown `name` is one of `values`."""
    dimension = schema.breakdown_dimensions[name]
    return (
        select(dimension.c[f"{name}_key"])
        .where(dimension.c.tenant_id == tenant, dimension.c[name].in_(values))
        .scalar_subquery()
    )


def _as_kept(query: ExplorerQuery, source: _Source) -> bool:
    """True when each of the source's rows is one answer row: a rollup of exactly the
    question's period and group keys (a filter can only be on those keys then)."""
    period = {"day": "metric_date", "month": "month_start"}.get(query.granularity)
    return (
        period == source.period and not source.ids and set(query.group_by) == set(source.breakdowns)
    )


def _grouped(query: ExplorerQuery, source: _Source) -> Select[Any]:
    """The sums per period and group, breakdowns still as keys (a rollup kept at the
    question's grain read as it is: the same values, nothing to sum)."""
    rows = source.table.c
    kept = _as_kept(query, source)
    tenant = _tenant()
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
    total = _kept if kept else _sum
    sums = [total(rows[name], WholeNumber).label(name) for name in COUNTS]
    sums += [total(rows[name], Amount).label(name) for name in AMOUNTS]
    conditions = [
        rows.tenant_id == tenant,
        rows[source.period] >= bindparam("date_from", type_=Date),
        rows[source.period] <= bindparam("date_to", type_=Date),
    ]
    for position, (name, given) in enumerate(query.filters):
        values = _values(position, len(given))
        if not values:
            conditions.append(false())
        elif name in source.ids:
            conditions.append(rows[name].in_(values))
        else:
            conditions.append(rows[f"{name}_key"].in_(_key_filter(name, values, tenant)))
    grouped = select(*groups, *sums).select_from(joined).where(*conditions)
    if kept:
        return grouped
    if groups:
        grouped = grouped.group_by(*(column.element for column in groups))
    return grouped.having(func.count() > _constant(0))  # no rows, no group (not even a total)


def _totals(query: ExplorerQuery, source: _Source) -> Select[Any]:
    """The sums per period and group, breakdown keys replaced by their values."""
    sums = _grouped(query, source).subquery("sums")
    tenant = _tenant()
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


def _measured(query: ExplorerQuery, source: _Source) -> Select[Any]:
    """The totals, and the rate the answer is sorted by (its k) when it is sorted by one:
    the other rates are computed by the reader from the sums (`rates_of`), with the same
    integers, so PostgreSQL does not spend ~2 ms on five NUMERIC divisions per row of a
    500-row answer that only needs them printed (BENCHMARKS.md)."""
    totals = _totals(query, source).subquery("totals")
    t = totals.c
    sort = (query.sort or "").removeprefix("-")
    if sort not in RATES:
        return select(*t)
    spend_cents = cast(t.spend * _constant(100), WholeNumber)
    revenue_cents = cast(t.revenue * _constant(100), WholeNumber)
    rates = {
        "ctr": lambda: _rate(t.clicks, t.impressions),
        "cvr": lambda: _rate(t.conversions, t.clicks),
        "roas": lambda: _rate(revenue_cents, spend_cents),
        "cpc": lambda: _rate(spend_cents, _constant(100) * t.clicks),
        "cpm": lambda: _rate(_constant(10) * spend_cents, t.impressions),
    }
    return select(*t, rates[sort]().label(sort))


def rate(numerator: int, denominator: int) -> int:
    """`_rate` in Python: k of round(numerator / denominator, 4) = k / 10000, 0 when the
    denominator is 0 (n, d >= 0 whole numbers; exact at any size)."""
    return (20000 * numerator + denominator) // (2 * denominator) if denominator else 0


def rates_of(
    impressions: int, clicks: int, conversions: int, spend_cents: int, revenue_cents: int
) -> tuple[int, int, int, int, int]:
    """The k of ctr, cvr, roas, cpc and cpm, as the statement's `_rate` gives them: `rate`
    written out (called for every row of an answer)."""
    double_impressions, double_clicks = 2 * impressions, 2 * clicks
    return (
        (20000 * clicks + impressions) // double_impressions if impressions else 0,
        (20000 * conversions + clicks) // double_clicks if clicks else 0,
        (20000 * revenue_cents + spend_cents) // (2 * spend_cents) if spend_cents else 0,
        (20000 * spend_cents + 100 * clicks) // (200 * clicks) if clicks else 0,
        (200000 * spend_cents + impressions) // double_impressions if impressions else 0,
    )


def _bound(name: str, index: int) -> ColumnElement[Any]:
    """The position's `index`-th value, of the column's type (measures are given as text
    cast to NUMERIC: exact on every driver, whatever the size)."""
    parameter = f"after_{index}"
    if name == PERIOD:
        return bindparam(parameter, type_=Date)
    if name in COUNTS:
        return cast(bindparam(parameter, type_=String), WholeNumber)
    if name in AMOUNTS:
        return cast(bindparam(parameter, type_=String), Amount)
    if name in MEASURES:  # a rate, compared as its k
        return cast(bindparam(parameter, type_=String), WholeNumber)
    return bindparam(parameter, type_=String)


def _position_value(name: str, value: Any) -> object:
    """A position value as `_bound`'s parameter takes it."""
    if name == PERIOD:
        return value
    if name in COUNTS or name in AMOUNTS:
        return str(value)
    if name in MEASURES:  # a rate (4 places) as its k, exactly
        numerator, denominator = value.as_integer_ratio()
        return str(numerator * 10000 // denominator)
    return value


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


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a statement depends on: not the values (dates, filter values, position)."""

    granularity: str
    group_by: tuple[str, ...]
    filters: tuple[tuple[str, int], ...]  # (dimension, how many values)
    sort: str | None
    after: bool  # a position is given (an empty one: a one-row answer has no next page)
    source: _Source


def explorer_shape(query: ExplorerQuery, after: Position | None) -> Select[Any]:
    """The statement answering every question of `query`'s shape: at most `:row_limit` rows
    in `query.order()`, after the position `:after_<i>` when one is given."""
    filters = tuple((name, len(values)) for name, values in query.filters)
    shape = _Shape(
        query.granularity, query.group_by, filters, query.sort, bool(after), _source(query)
    )
    return _statement(shape)


@lru_cache(maxsize=512)
def _statement(shape: _Shape) -> Select[Any]:
    # the shape's questions differ in values only: the builder reads none of them here
    filters = tuple((name, ("",) * count) for name, count in shape.filters)
    day = dt.date.min
    query = ExplorerQuery(day, day, shape.granularity, shape.group_by, filters, shape.sort)
    measured = _measured(query, shape.source).subquery("measured")
    order = [(measured.c[key.name], key.descending) for key in query.order()]
    statement = select(*(_as_read(column) for column in measured.c))
    if shape.after:
        values = [_bound(key.name, index) for index, key in enumerate(query.order())]
        statement = statement.where(_after(order, values))
    ordering = [column.desc() if descending else column.asc() for column, descending in order]
    return statement.order_by(*ordering).limit(bindparam("row_limit", type_=Integer))


def _as_read(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """Sums are read as text ("12.30"): drivers make a `Decimal` of each NUMERIC, which the
    reader would only take apart again (~1 µs a value; BENCHMARKS.md)."""
    if column.name in COUNTS or column.name in AMOUNTS:
        return cast(column, String).label(column.name)
    return column


def explorer_parameters(
    query: ExplorerQuery, tenant_id: str, *, after: Position | None, limit: int
) -> dict[str, Any]:
    """The values of `explorer_shape(query, after)`'s parameters."""
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "date_from": query.date_from,
        "date_to": query.date_to,
        "row_limit": limit,
    }
    for position, (_, given) in enumerate(query.filters):
        values.update((f"filter_{position}_{index}", value) for index, value in enumerate(given))
    if after:
        keys = query.order()
        values.update(
            (f"after_{index}", _position_value(key.name, value))
            for index, (key, value) in enumerate(zip(keys, after, strict=True))
        )
    return values


def explorer_statement(
    query: ExplorerQuery, tenant_id: str, *, after: Position | None, limit: int
) -> Select[Any]:
    """At most `limit` rows of the answer, in `query.order()`, after `after` when given: the
    shape's statement with its values bound (for tools that print the SQL)."""
    parameters = explorer_parameters(query, tenant_id, after=after, limit=limit)
    return explorer_shape(query, after).params(parameters)
