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


class SqlAlchemyMetricsRepository:
    """Runs each question as one bound statement; blocking I/O stays off the event loop."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # At most as many statements in flight as the pool holds connections: requests wait
        # here instead of opening and closing overflow connections under load.
        self._capacity = max(1, engine.pool.size()) if hasattr(engine.pool, "size") else 8
        self._limiter = LoopLocal(lambda: anyio.CapacityLimiter(self._capacity))

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
        try:
            await self._run(lambda connection: connection.execute(text("SELECT 1")).scalar())
        except RepositoryUnavailable:
            return False
        return True

    async def current_dataset(self) -> str | None:
        try:
            row = await self._one("current_dataset", {})
        except RepositoryUnavailable:
            return None
        return None if row is None else row.dataset_name

    async def _one(self, name: str, parameters: Mapping[str, Any]) -> Row[Any] | None:
        return await self._run(lambda c: c.execute(query(name), parameters).one_or_none())

    async def _all_of_campaign(
        self, name: str, parameters: Mapping[str, Any]
    ) -> list[Row[Any]] | None:
        """The rows of a question about one campaign, None if it does not exist: both
        statements on one connection, in one trip to the worker thread."""

        def work(connection: Any) -> list[Row[Any]] | None:
            found = connection.execute(query("find_campaign"), parameters).one_or_none()
            return None if found is None else list(connection.execute(query(name), parameters))

        return await self._run(work)

    async def _run(self, work: Callable[[Any], T]) -> T:
        def in_connection() -> T:
            with self._engine.connect() as connection:
                return work(connection)

        try:
            return await anyio.to_thread.run_sync(in_connection, limiter=self._limiter.get())
        except SQLAlchemyError as error:
            log.error("metrics store query failed: %s", error)
            raise RepositoryUnavailable("the metrics store could not answer") from error
