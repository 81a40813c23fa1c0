"""Response bodies: exactly the keys of CONTRACT.md §4, numbers as JSON numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PerformanceTotalsOut(_Out):
    total_impressions: int
    total_clicks: int
    total_conversions: int
    total_spend: float
    total_revenue: float
    ctr: float
    cvr: float
    roas: float


class CampaignPerformanceOut(_Out):
    campaign_id: str
    campaign_name: str
    totals: PerformanceTotalsOut


class CreatorOut(_Out):
    campaign_id: str
    creator_id: str
    creator_name: str
    total_impressions: int
    total_clicks: int
    total_conversions: int
    total_spend: float
    ctr: float


class TopCreatorsOut(_Out):
    campaign_id: str
    limit: int
    creators: list[CreatorOut]


class ThresholdsOut(_Out):
    min_ctr: float
    min_roas: float


class AlertOut(_Out):
    metric_date: dt.date
    issues: list[str]
    ctr: float
    roas: float


class AnomaliesOut(_Out):
    campaign_id: str
    thresholds: ThresholdsOut
    alerts: list[AlertOut]


class HealthOut(_Out):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "error"]
    benchmark_service: Literal["ok", "fixture", "error"]
    dataset: str
    cache: Literal["ok", "error", "off"] | None = None  # only with REDIS_URL set


class ErrorOut(BaseModel):
    detail: str


class ValidationProblemOut(BaseModel):
    type: str
    loc: list[str | int]
    msg: str
    input: Any = None


class ValidationErrorOut(BaseModel):
    """422: what was wrong and where; an echoed input is cut to its first 64 characters."""

    detail: list[ValidationProblemOut]


class MetricsRowOut(BaseModel):
    """One group of `GET /metrics`: `period` (absent for `total`) and the group_by keys
    (only those asked for) first, then the measures."""

    period: dt.date | None = None
    campaign_id: str | None = None
    creator_id: str | None = None
    platform: str | None = None
    region: str | None = None
    device_type: str | None = None
    age_group: str | None = None
    gender: str | None = None
    placement: str | None = None
    impressions: int
    clicks: int
    conversions: int
    likes: int
    spend: float
    revenue: float
    ctr: float
    cvr: float
    roas: float
    cpc: float
    cpm: float


class MetricsPageOut(BaseModel):
    rows: list[MetricsRowOut]
    next_cursor: str | None
    has_more: bool
