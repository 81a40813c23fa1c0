"""Domain types: immutable values the use cases take and return."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class PerformanceTotals:
    """Campaign totals; money is exact, rates are already rounded for display."""

    total_impressions: int
    total_clicks: int
    total_conversions: int
    total_spend: Decimal
    total_revenue: Decimal
    ctr: float
    cvr: float
    roas: float


@dataclass(frozen=True, slots=True)
class CampaignPerformance:
    campaign_id: str
    campaign_name: str
    totals: PerformanceTotals


@dataclass(frozen=True, slots=True)
class CreatorStats:
    campaign_id: str
    creator_id: str
    creator_name: str
    total_impressions: int
    total_clicks: int
    total_conversions: int
    total_spend: Decimal
    ctr: float


@dataclass(frozen=True, slots=True)
class CreatorRanking:
    campaign_id: str
    limit: int
    creators: tuple[CreatorStats, ...]


@dataclass(frozen=True, slots=True)
class DailyMetrics:
    """One campaign day, all creators and rows summed.

    The totals are exact; `ctr` and `roas` are the rounded values to report.
    """

    metric_date: dt.date
    total_impressions: int
    total_clicks: int
    total_conversions: int
    total_spend: Decimal
    total_revenue: Decimal
    ctr: float
    roas: float


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Minimum acceptable daily rates, exact as the benchmark source wrote them."""

    min_ctr: Decimal
    min_roas: Decimal


class Issue(StrEnum):
    CTR_BELOW_THRESHOLD = "ctr_below_threshold"
    ROAS_BELOW_THRESHOLD = "roas_below_threshold"
    SPEND_WITHOUT_CONVERSIONS = "spend_without_conversions"


@dataclass(frozen=True, slots=True)
class Alert:
    metric_date: dt.date
    issues: tuple[Issue, ...]
    ctr: float
    roas: float


@dataclass(frozen=True, slots=True)
class AnomalyReport:
    campaign_id: str
    thresholds: Thresholds
    alerts: tuple[Alert, ...]


class ComponentStatus(StrEnum):
    OK = "ok"
    FIXTURE = "fixture"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: str
    database: ComponentStatus
    benchmark_service: ComponentStatus
    dataset: str
