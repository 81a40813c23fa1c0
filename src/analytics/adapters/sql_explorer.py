"""`MetricsExplorer` over SQLAlchemy Core: the builder's statement, run by the metrics store
in a transaction scoped to one tenant (under row-level security on PostgreSQL).

The statement is the builder's cached one for the question's shape, its values passed as
parameters; on PostgreSQL it goes straight to the driver's cursor (`SqlAlchemyMetricsStore.
read`), so a 500-row answer skips SQLAlchemy's per-row result processing. Rows are read by
position: the period (unless `total`), the group keys, the counts and the amounts as text
(then the sort's rate, not read: the rates are computed here from the sums, exactly as the
statement computes that one; BENCHMARKS.md, "Metrics explorer at 20M rows")."""

from __future__ import annotations

from typing import Any

from analytics.adapters.explorer_sql import explorer_parameters, explorer_shape, rates_of
from analytics.adapters.sql_repository import SqlAlchemyMetricsStore
from analytics.domain.explorer import ExplorerQuery, ExplorerRow, Position


class SqlAlchemyExplorers:
    """The explorer of each tenant, over one metrics store."""

    def __init__(self, store: SqlAlchemyMetricsStore) -> None:
        self._store = store

    def for_tenant(self, tenant_id: str) -> SqlAlchemyMetricsExplorer:
        return SqlAlchemyMetricsExplorer(self._store, tenant_id)


class SqlAlchemyMetricsExplorer:
    def __init__(self, store: SqlAlchemyMetricsStore, tenant_id: str) -> None:
        self._store = store
        self._tenant_id = tenant_id

    async def explore(
        self, *, query: ExplorerQuery, after: Position | None, limit: int
    ) -> list[ExplorerRow]:
        statement = explorer_shape(query, after)
        parameters = explorer_parameters(query, self._tenant_id, after=after, limit=limit)
        rows = await self._store.read(
            self._tenant_id, lambda reader: reader.statement_rows(statement, parameters)
        )
        return _explorer_rows(query, rows)


def cents(amount: str) -> int:
    """A sum of money as the statement prints it ("12.30", "0.00") in cents, exactly."""
    whole, _, fraction = amount.partition(".")
    if len(fraction) > 2:
        raise ValueError(f"not an amount of money: {amount!r}")
    return int(whole + fraction.ljust(2, "0"))


def _explorer_rows(query: ExplorerQuery, rows: list[Any]) -> list[ExplorerRow]:
    dated = query.granularity != "total"
    start = 1 if dated else 0  # the group keys' first column
    end = start + len(query.group_by)  # the counts' first
    make, answer = tuple.__new__, []  # the named tuple's own __new__ is a Python call
    for row in rows:
        impressions, clicks, conversions, likes, spend, revenue = row[end : end + 6]
        impressions, clicks, conversions = int(impressions), int(clicks), int(conversions)
        # the statement prints amounts with 2 places: "12.30" -> 1230 (else `cents`)
        spend = int(spend[:-3] + spend[-2:]) if spend[-3:-2] == "." else cents(spend)
        revenue = int(revenue[:-3] + revenue[-2:]) if revenue[-3:-2] == "." else cents(revenue)
        rates = rates_of(impressions, clicks, conversions, spend, revenue)
        period = row[0] if dated else None
        measures = (impressions, clicks, conversions, int(likes), spend, revenue, *rates)
        answer.append(make(ExplorerRow, (period, row[start:end], *measures)))
    return answer
