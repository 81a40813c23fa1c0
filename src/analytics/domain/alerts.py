"""Stored alerts: what the anomaly scan keeps of one campaign's days (CONTRACT.md §9).

One alert per (campaign, day, rule): the §4 threshold issues, exactly as
`/campaigns/{id}/anomalies` reports them, and the baseline rules (`baseline.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analytics.domain.anomalies import daily_issues
from analytics.domain.baseline import BaselineParameters, baseline_breaches
from analytics.domain.models import DailyMetrics, Issue, Thresholds

RULES = (*(issue.value for issue in Issue), "ctr_below_baseline", "roas_below_baseline")


@dataclass(frozen=True, slots=True)
class NewAlert:
    campaign_id: str
    metric_date: dt.date
    rule: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredAlert:
    alert_id: str
    campaign_id: str
    metric_date: dt.date
    rule: str
    detail: dict[str, Any]
    created_at: dt.datetime


def _rate(value: float) -> float:
    return round(value, 4)


def threshold_alerts(
    campaign_id: str, days: Sequence[DailyMetrics], thresholds: Thresholds
) -> list[NewAlert]:
    """One alert per issue of every day that `/campaigns/{id}/anomalies` reports."""
    limits = {"min_ctr": float(thresholds.min_ctr), "min_roas": float(thresholds.min_roas)}
    return [
        NewAlert(
            campaign_id, day.metric_date, issue.value, {"ctr": day.ctr, "roas": day.roas, **limits}
        )
        for day in sorted(days, key=lambda d: d.metric_date)
        for issue in daily_issues(day, thresholds)
    ]


def baseline_alerts(
    campaign_id: str, days: Sequence[DailyMetrics], parameters: BaselineParameters
) -> list[NewAlert]:
    """One alert per day and rate far below its weekday baseline."""
    return [
        NewAlert(
            campaign_id,
            breach.metric_date,
            breach.rule,
            {
                "value": _rate(breach.value),
                "baseline_median": _rate(breach.median),
                "baseline_mad": _rate(breach.mad),
                "limit": _rate(breach.limit),
                "history_days": breach.history_days,
            },
        )
        for breach in baseline_breaches(days, parameters)
    ]
