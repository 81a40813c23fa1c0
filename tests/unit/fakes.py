"""Hand-written fakes of the domain ports that record how they were used."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from analytics.domain.errors import BenchmarkUnavailable
from analytics.domain.models import (
    CampaignPerformance,
    ComponentStatus,
    CreatorStats,
    DailyMetrics,
    Thresholds,
)


def rounded_rate(numerator: Decimal | int, denominator: Decimal | int) -> float:
    if denominator == 0:
        return 0.0
    rate = Decimal(numerator) / Decimal(denominator)
    return float(rate.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def day(
    date: str,
    *,
    impressions: int = 1000,
    clicks: int = 50,
    conversions: int = 5,
    spend: str = "100.00",
    revenue: str = "300.00",
) -> DailyMetrics:
    """A daily rollup with rounded rates computed the way the SQL computes them."""
    return DailyMetrics(
        metric_date=dt.date.fromisoformat(date),
        total_impressions=impressions,
        total_clicks=clicks,
        total_conversions=conversions,
        total_spend=Decimal(spend),
        total_revenue=Decimal(revenue),
        ctr=rounded_rate(clicks, impressions),
        roas=rounded_rate(Decimal(revenue), Decimal(spend)),
    )


@dataclass
class FakeRepository:
    campaigns: dict[str, str] = field(default_factory=dict)
    performance: dict[str, CampaignPerformance] = field(default_factory=dict)
    creators: dict[str, list[CreatorStats]] = field(default_factory=dict)
    days: dict[str, list[DailyMetrics]] = field(default_factory=dict)
    available: bool = True
    dataset_name: str | None = None
    calls: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    async def campaign_performance(self, *, campaign_id: str) -> CampaignPerformance | None:
        self.calls.append(("campaign_performance", {"campaign_id": campaign_id}))
        return self.performance.get(campaign_id)

    async def top_creators(self, *, campaign_id: str, limit: int) -> list[CreatorStats] | None:
        self.calls.append(("top_creators", {"campaign_id": campaign_id, "limit": limit}))
        if campaign_id not in self.campaigns:
            return None
        return self.creators.get(campaign_id, [])[:limit]

    async def daily_metrics(self, *, campaign_id: str) -> list[DailyMetrics] | None:
        self.calls.append(("daily_metrics", {"campaign_id": campaign_id}))
        if campaign_id not in self.campaigns:
            return None
        return self.days.get(campaign_id, [])

    async def is_available(self) -> bool:
        return self.available

    async def current_dataset(self) -> str | None:
        return self.dataset_name


@dataclass
class FakeGateway:
    thresholds: dict[str, Thresholds] = field(default_factory=dict)
    state: ComponentStatus = ComponentStatus.OK
    asked: list[str] = field(default_factory=list)

    async def thresholds_for(self, *, campaign_id: str) -> Thresholds:
        self.asked.append(campaign_id)
        if campaign_id not in self.thresholds:
            raise BenchmarkUnavailable(f"no thresholds for {campaign_id}")
        return self.thresholds[campaign_id]

    async def status(self) -> ComponentStatus:
        return self.state
