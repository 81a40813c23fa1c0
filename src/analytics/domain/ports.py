"""Ports: what the use cases need from the outside world, declared as Protocols."""

from __future__ import annotations

from typing import Protocol

from analytics.domain.models import (
    CampaignPerformance,
    ComponentStatus,
    CreatorStats,
    DailyMetrics,
    Thresholds,
)


class CampaignMetricsRepository(Protocol):
    """Read side of the campaign metrics store.

    Methods raise `RepositoryUnavailable` when the store cannot answer.
    """

    async def campaign_performance(self, *, campaign_id: str) -> CampaignPerformance | None:
        """Totals over every metric row of the campaign; None if the campaign does not exist."""
        ...

    async def top_creators(self, *, campaign_id: str, limit: int) -> list[CreatorStats] | None:
        """Per-creator totals, best first (conversions, clicks desc; creator_id asc);
        None if the campaign does not exist."""
        ...

    async def daily_metrics(self, *, campaign_id: str) -> list[DailyMetrics] | None:
        """One entry per day with metric rows, oldest first; None if the campaign does not
        exist."""
        ...

    async def is_available(self) -> bool: ...

    async def current_dataset(self) -> str | None:
        """Name of the dataset being served (newest load), None before any load."""
        ...


class BenchmarkGateway(Protocol):
    """Source of per-campaign anomaly thresholds."""

    async def thresholds_for(self, *, campaign_id: str) -> Thresholds:
        """Raise `BenchmarkUnavailable` when no valid thresholds can be had."""
        ...

    async def status(self) -> ComponentStatus: ...
