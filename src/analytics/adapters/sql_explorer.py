"""`MetricsExplorer` over SQLAlchemy Core: the builder's statement, run by the metrics store
in a transaction scoped to one tenant (under row-level security on PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Row

from analytics.adapters.explorer_sql import explorer_statement
from analytics.adapters.sql_repository import SqlAlchemyMetricsStore
from analytics.domain.explorer import ExplorerQuery, ExplorerRow, Position

_SCALE = Decimal(10000)


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
        statement = explorer_statement(query, self._tenant_id, after=after, limit=limit)
        rows = await self._store.run(self._tenant_id, lambda c: c.execute(statement).all())
        return [_explorer_row(query, row) for row in rows]


def _explorer_row(query: ExplorerQuery, row: Row[Any]) -> ExplorerRow:
    values = row._mapping
    return ExplorerRow(
        period=None if query.granularity == "total" else values["period"],
        keys=tuple(values[name] for name in query.group_by),
        impressions=int(row.impressions),
        clicks=int(row.clicks),
        conversions=int(row.conversions),
        likes=int(row.likes),
        spend=Decimal(row.spend),
        revenue=Decimal(row.revenue),
        ctr=Decimal(int(row.ctr)) / _SCALE,
        cvr=Decimal(int(row.cvr)) / _SCALE,
        roas=Decimal(int(row.roas)) / _SCALE,
        cpc=Decimal(int(row.cpc)) / _SCALE,
        cpm=Decimal(int(row.cpm)) / _SCALE,
    )
