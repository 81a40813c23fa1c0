"""The metrics explorer's one query builder: a validated `ExplorerQuery` → one bound SELECT,
the same for DuckDB and PostgreSQL (SQLAlchemy Core).

Values (tenant, dates, filter values, the cursor's position) are always bound parameters;
column names come from the schema through the allow-lists of `domain.explorer` only.

Exact on every engine, as in `sql/campaign_performance.sql`: counts are summed as
NUMERIC(38, 0), money as NUMERIC(38, 2); a rate n / d is rounded to 4 places half away from
zero with integers only, k = floor((20000 n + d) / (2 d)) (n, d >= 0; the rate is k / 10000),
the floor being an exact integer division on each engine (`div` on PostgreSQL, `//` on
HUGEINT on DuckDB, where `/` on decimals is double precision). Money enters rates in cents.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Numeric,
    Select,
    String,
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


def _period(granularity: str, metric_date: ColumnElement[Any]) -> ColumnElement[Any] | None:
    """The first day of the row's bucket (ISO weeks start on Monday); None for `total`."""
    if granularity == "total":
        return None
    if granularity == "day":
        return metric_date
    truncated = func.date_trunc(granularity, cast(metric_date, DateTime()))
    return cast(truncated, Date)


def _sum(column: ColumnElement[Any], kind: Numeric) -> ColumnElement[Any]:
    return cast(func.coalesce(func.sum(column), _constant(0)), kind)


def _totals(query: ExplorerQuery, tenant_id: str) -> Select[Any]:
    facts = schema.campaign_daily_metrics.c
    period = _period(query.granularity, facts.metric_date)
    groups = [] if period is None else [period.label(PERIOD)]
    groups += [facts[name].label(name) for name in query.group_by]
    sums = [
        cast(func.coalesce(func.sum(facts[name]), 0), WholeNumber).label(name) for name in COUNTS
    ]
    sums += [cast(func.coalesce(func.sum(facts[name]), 0), Amount).label(name) for name in AMOUNTS]
    conditions = [
        facts.tenant_id == tenant_id,
        facts.metric_date >= query.date_from,
        facts.metric_date <= query.date_to,
    ]
    conditions += [facts[name].in_(values) if values else false() for name, values in query.filters]
    grouped = select(*groups, *sums).where(*conditions)
    if groups:
        grouped = grouped.group_by(*(column.element for column in groups))
    return grouped.having(func.count() > 0)  # no rows, no group (not even a total)


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
