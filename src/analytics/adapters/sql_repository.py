"""`CampaignMetricsRepository` over SQLAlchemy Core, running the project's `.sql` files."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy import Engine, Row, text
from sqlalchemy.exc import SQLAlchemyError

from analytics.adapters.loop_local import LoopLocal
from analytics.adapters.sql_queries import query
from analytics.domain.errors import RepositoryUnavailable
from analytics.domain.models import (
    CampaignPerformance,
    CreatorStats,
    DailyMetrics,
    PerformanceTotals,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


SERVING_ROLE = "analytics_tenant"  # migration 0005: subject to the row-level security policies
_ENTER_TENANT = text(
    "SELECT set_config('role', :role, true), set_config('analytics.tenant_id', :tenant_id, true)"
)


class SqlAlchemyMetricsStore:
    """The serving side of one database: transactions scoped to one tenant, run off the event
    loop. Shared by every request; `for_tenant` gives the repository of one tenant."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # At most as many statements in flight as the pool holds connections: requests wait
        # here instead of opening and closing overflow connections under load.
        self._capacity = max(1, engine.pool.size()) if hasattr(engine.pool, "size") else 8
        self._limiter = LoopLocal(lambda: anyio.CapacityLimiter(self._capacity))
        self._postgres = engine.dialect.name == "postgresql"

    def for_tenant(self, tenant_id: str) -> SqlAlchemyMetricsRepository:
        return SqlAlchemyMetricsRepository(self, tenant_id)

    async def is_available(self) -> bool:
        try:
            await self.run(None, lambda connection: connection.execute(text("SELECT 1")).scalar())
        except RepositoryUnavailable:
            return False
        return True

    async def run(self, tenant_id: str | None, work: Callable[[Any], T]) -> T:
        """`work(connection)` in one transaction. With a tenant on PostgreSQL, the transaction
        runs as the serving role with `analytics.tenant_id` set, so row-level security hides
        every other tenant's rows, whatever the statement says (the second wall behind the
        `:tenant_id` filter of every query)."""

        def in_transaction() -> T:
            with self._engine.begin() as connection:
                if tenant_id is not None and self._postgres:
                    connection.execute(
                        _ENTER_TENANT, {"role": SERVING_ROLE, "tenant_id": tenant_id}
                    )
                return work(connection)

        try:
            return await anyio.to_thread.run_sync(in_transaction, limiter=self._limiter.get())
        except SQLAlchemyError as error:
            log.error("metrics store query failed: %s", error)
            raise RepositoryUnavailable("the metrics store could not answer") from error


class SqlAlchemyMetricsRepository:
    """One tenant's metrics: every question is one bound statement filtered on `:tenant_id`."""

    def __init__(self, store: SqlAlchemyMetricsStore, tenant_id: str) -> None:
        self._store = store
        self._tenant_id = tenant_id

    async def campaign_performance(self, *, campaign_id: str) -> CampaignPerformance | None:
        row = await self._one("campaign_performance", {"campaign_id": campaign_id})
        if row is None:
            return None
        totals = PerformanceTotals(
            total_impressions=int(row.total_impressions),
            total_clicks=int(row.total_clicks),
            total_conversions=int(row.total_conversions),
            total_spend=Decimal(row.total_spend),
            total_revenue=Decimal(row.total_revenue),
            ctr=float(row.ctr),
            cvr=float(row.cvr),
            roas=float(row.roas),
        )
        return CampaignPerformance(row.campaign_id, row.campaign_name, totals)

    async def top_creators(self, *, campaign_id: str, limit: int) -> list[CreatorStats] | None:
        parameters = {"campaign_id": campaign_id, "limit": limit}
        rows = await self._all_of_campaign("top_creators", parameters)
        if rows is None:
            return None
        return [
            CreatorStats(
                campaign_id=row.campaign_id,
                creator_id=row.creator_id,
                creator_name=row.creator_name,
                total_impressions=int(row.total_impressions),
                total_clicks=int(row.total_clicks),
                total_conversions=int(row.total_conversions),
                total_spend=Decimal(row.total_spend),
                ctr=float(row.ctr),
            )
            for row in rows
        ]

    async def daily_metrics(self, *, campaign_id: str) -> list[DailyMetrics] | None:
        rows = await self._all_of_campaign("daily_anomalies", {"campaign_id": campaign_id})
        if rows is None:
            return None
        return [
            DailyMetrics(
                metric_date=row.metric_date,
                total_impressions=int(row.total_impressions),
                total_clicks=int(row.total_clicks),
                total_conversions=int(row.total_conversions),
                total_spend=Decimal(row.total_spend),
                total_revenue=Decimal(row.total_revenue),
                ctr=float(row.ctr),
                roas=float(row.roas),
            )
            for row in rows
        ]

    async def is_available(self) -> bool:
        return await self._store.is_available()

    async def current_dataset(self) -> str | None:
        try:
            row = await self._one("current_dataset", {})
        except RepositoryUnavailable:
            return None
        return None if row is None else row.dataset_name

    async def _one(self, name: str, parameters: Mapping[str, Any]) -> Row[Any] | None:
        scoped = {**parameters, "tenant_id": self._tenant_id}
        return await self._store.run(
            self._tenant_id, lambda c: c.execute(query(name), scoped).one_or_none()
        )

    async def _all_of_campaign(
        self, name: str, parameters: Mapping[str, Any]
    ) -> list[Row[Any]] | None:
        """The rows of a question about one campaign, None if it does not exist: both
        statements in one transaction, in one trip to the worker thread."""
        scoped = {**parameters, "tenant_id": self._tenant_id}

        def work(connection: Any) -> list[Row[Any]] | None:
            found = connection.execute(query("find_campaign"), scoped).one_or_none()
            return None if found is None else list(connection.execute(query(name), scoped))

        return await self._store.run(self._tenant_id, work)
