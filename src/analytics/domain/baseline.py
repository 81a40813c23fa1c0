"""Baseline rules: a day far below the campaign's own recent behaviour for that weekday.

For a day D and a rate (CTR or ROAS), the history is the same weekday of the previous
`weeks` weeks (D-7, D-14, ...) on which the campaign had at least `min_impressions`
impressions (and spend, for ROAS). With at least `min_history` such days, let m be their
median and MAD the median of |x - m|. D alerts when it has `min_impressions` itself and

    rate(D) < m - k * 1.4826 * MAD   and   rate(D) < (1 - min_drop) * m

1.4826 * MAD estimates the standard deviation of normal data without letting one past
outlier widen it; `min_drop` keeps a campaign whose history is flat (MAD near 0) from
alerting on a tiny dip. Comparing a Saturday with past Saturdays ignores weekly cycles.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from analytics.domain.models import DailyMetrics

MAD_TO_SIGMA = 1.4826
CTR_BELOW_BASELINE = "ctr_below_baseline"
ROAS_BELOW_BASELINE = "roas_below_baseline"


@dataclass(frozen=True, slots=True)
class BaselineParameters:
    weeks: int = 8
    min_history: int = 4
    min_impressions: int = 1000
    mad_multiplier: float = 3.5
    min_drop: float = 0.25


@dataclass(frozen=True, slots=True)
class BaselineBreach:
    metric_date: dt.date
    rule: str
    value: float
    median: float
    mad: float
    limit: float
    history_days: int


def _ctr(day: DailyMetrics) -> float | None:
    return day.total_clicks / day.total_impressions if day.total_impressions > 0 else None


def _roas(day: DailyMetrics) -> float | None:
    if day.total_spend <= 0:
        return None
    return float(Decimal(day.total_revenue) / Decimal(day.total_spend))


RATES: tuple[tuple[str, Callable[[DailyMetrics], float | None]], ...] = (
    (CTR_BELOW_BASELINE, _ctr),
    (ROAS_BELOW_BASELINE, _roas),
)


def baseline_breaches(
    days: Sequence[DailyMetrics], parameters: BaselineParameters
) -> list[BaselineBreach]:
    """Every (day, rate) far below its weekday baseline, oldest first, CTR before ROAS."""
    by_date = {day.metric_date: day for day in days}
    breaches = []
    for day in sorted(days, key=lambda d: d.metric_date):
        if day.total_impressions < parameters.min_impressions:
            continue  # too little volume to mean anything
        for rule, rate in RATES:
            breach = _breach(day, rule, rate, by_date, parameters)
            if breach is not None:
                breaches.append(breach)
    return breaches


def _breach(
    day: DailyMetrics,
    rule: str,
    rate: Callable[[DailyMetrics], float | None],
    by_date: dict[dt.date, DailyMetrics],
    parameters: BaselineParameters,
) -> BaselineBreach | None:
    value = rate(day)
    if value is None:
        return None
    history = _history(day.metric_date, rate, by_date, parameters)
    if len(history) < parameters.min_history:
        return None
    median = statistics.median(history)
    mad = statistics.median(abs(x - median) for x in history)
    limit = min(
        median - parameters.mad_multiplier * MAD_TO_SIGMA * mad,
        (1 - parameters.min_drop) * median,
    )
    if value >= limit:
        return None
    return BaselineBreach(day.metric_date, rule, value, median, mad, limit, len(history))


def _history(
    date: dt.date,
    rate: Callable[[DailyMetrics], float | None],
    by_date: dict[dt.date, DailyMetrics],
    parameters: BaselineParameters,
) -> list[float]:
    values = []
    for week in range(1, parameters.weeks + 1):
        past = by_date.get(date - dt.timedelta(weeks=week))
        if past is None or past.total_impressions < parameters.min_impressions:
            continue
        value = rate(past)
        if value is not None:
            values.append(value)
    return values
