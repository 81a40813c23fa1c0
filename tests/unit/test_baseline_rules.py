"""Baseline rules: a day far below the same weekday's recent median (median and MAD), with
a minimum volume; silent on low-volume days and on ordinary weekly cycles."""

from __future__ import annotations

import datetime as dt
import random

from analytics.domain.alerts import baseline_alerts
from analytics.domain.baseline import BaselineParameters, baseline_breaches
from tests.unit.fakes import day

START = dt.date(2026, 1, 5)  # a Monday
PARAMETERS = BaselineParameters()


def history(weeks: int = 9, *, seed: int = 7) -> list:
    """`weeks` weeks of ordinary days: weekday CTR ~5%, weekend CTR ~2% (a weekly cycle),
    ROAS ~3, a little noise, 10,000 impressions a day."""
    noise = random.Random(seed)
    days = []
    for n in range(weeks * 7):
        date = START + dt.timedelta(days=n)
        weekend = date.weekday() >= 5
        clicks = (200 if weekend else 500) + noise.randint(-25, 25)
        revenue = 300 + noise.randint(-20, 20)
        days.append(
            day(
                date.isoformat(),
                impressions=10_000,
                clicks=clicks,
                spend="100.00",
                revenue=f"{revenue}.00",
            )
        )
    return days


def replace(days: list, date: dt.date, **totals: object) -> list:
    return [day(date.isoformat(), **totals) if d.metric_date == date else d for d in days]


LAST_WEDNESDAY = START + dt.timedelta(weeks=8, days=2)
LAST_SATURDAY = START + dt.timedelta(weeks=8, days=5)


def test_ordinary_history_with_a_weekend_dip_raises_nothing() -> None:
    assert baseline_breaches(history(), PARAMETERS) == []


def test_a_planted_ctr_drop_fires_on_that_day_only() -> None:
    days = replace(
        history(), LAST_WEDNESDAY, impressions=10_000, clicks=150, spend="100.00", revenue="300.00"
    )
    breaches = baseline_breaches(days, PARAMETERS)
    assert [(b.metric_date, b.rule) for b in breaches] == [(LAST_WEDNESDAY, "ctr_below_baseline")]
    assert breaches[0].history_days == 8
    assert 0.048 < breaches[0].median < 0.052


def test_a_planted_roas_drop_fires() -> None:
    days = replace(
        history(), LAST_WEDNESDAY, impressions=10_000, clicks=500, spend="100.00", revenue="90.00"
    )
    rules = [(b.metric_date, b.rule) for b in baseline_breaches(days, PARAMETERS)]
    assert rules == [(LAST_WEDNESDAY, "roas_below_baseline")]


def test_a_saturday_at_the_usual_weekend_level_is_silent() -> None:
    """2% CTR would be far below a weekday, but it is what Saturdays do."""
    days = replace(
        history(), LAST_SATURDAY, impressions=10_000, clicks=200, spend="100.00", revenue="300.00"
    )
    assert baseline_breaches(days, PARAMETERS) == []


def test_a_low_volume_day_never_alerts_however_low_its_rates() -> None:
    days = replace(
        history(), LAST_WEDNESDAY, impressions=999, clicks=0, spend="100.00", revenue="0.00"
    )
    assert baseline_breaches(days, PARAMETERS) == []


def test_too_little_history_is_silent() -> None:
    days = replace(
        history(weeks=4), START + dt.timedelta(weeks=3, days=2), impressions=10_000, clicks=10
    )
    assert baseline_breaches(days, PARAMETERS) == []  # 3 earlier Wednesdays < min_history 4


def test_low_volume_history_days_do_not_count() -> None:
    days = history()
    for week in range(1, 6):  # 5 of the 8 earlier Wednesdays had almost no traffic
        date = LAST_WEDNESDAY - dt.timedelta(weeks=week)
        days = replace(days, date, impressions=100, clicks=5)
    days = replace(days, LAST_WEDNESDAY, impressions=10_000, clicks=100)
    assert baseline_breaches(days, PARAMETERS) == []  # 3 usable days < 4


def test_a_flat_history_needs_the_minimum_relative_drop() -> None:
    """MAD is 0 for an exactly flat history; a 10% dip is not an anomaly, a 30% one is."""
    flat = [
        day((START + dt.timedelta(days=n)).isoformat(), impressions=10_000, clicks=500)
        for n in range(63)
    ]
    dip = replace(flat, LAST_WEDNESDAY, impressions=10_000, clicks=450)
    assert baseline_breaches(dip, PARAMETERS) == []
    drop = replace(flat, LAST_WEDNESDAY, impressions=10_000, clicks=350)
    assert [b.rule for b in baseline_breaches(drop, PARAMETERS)] == ["ctr_below_baseline"]


def test_baseline_alerts_carry_the_numbers_behind_them() -> None:
    days = replace(
        history(), LAST_WEDNESDAY, impressions=10_000, clicks=150, spend="100.00", revenue="300.00"
    )
    [alert] = baseline_alerts("cmp-1", days, PARAMETERS)
    assert alert.campaign_id == "cmp-1"
    assert alert.rule == "ctr_below_baseline"
    assert alert.detail["value"] == 0.015
    assert set(alert.detail) == {
        "value",
        "baseline_median",
        "baseline_mad",
        "limit",
        "history_days",
    }
