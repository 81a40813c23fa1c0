"""The daily anomaly rules of CONTRACT.md §4, on exact daily totals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from analytics.domain.anomalies import daily_issues
from analytics.domain.models import Issue, Thresholds
from tests.unit.fakes import day

THRESHOLDS = Thresholds(min_ctr=Decimal("0.03"), min_roas=Decimal("2.5"))


def test_healthy_day_has_no_issues() -> None:
    assert daily_issues(day("2026-01-01"), THRESHOLDS) == ()


def test_ctr_below_threshold() -> None:
    issues = daily_issues(day("2026-01-01", impressions=1000, clicks=29), THRESHOLDS)
    assert issues == (Issue.CTR_BELOW_THRESHOLD,)


def test_ctr_equal_to_threshold_is_not_below() -> None:
    assert daily_issues(day("2026-01-01", impressions=100, clicks=3), THRESHOLDS) == ()


def test_ctr_is_compared_unrounded_even_when_it_rounds_up_to_the_threshold() -> None:
    # 29_999 / 1_000_000 = 0.029999 rounds to 0.03 but is below 0.03.
    low = day("2026-01-01", impressions=1_000_000, clicks=29_999)
    assert low.ctr == 0.03
    assert daily_issues(low, THRESHOLDS) == (Issue.CTR_BELOW_THRESHOLD,)


def test_ctr_just_above_a_threshold_that_is_not_a_binary_fraction_is_not_below() -> None:
    # 0.1 has no exact binary float; exact comparison must still say 1/10 == 0.1.
    thresholds = Thresholds(min_ctr=Decimal("0.1"), min_roas=Decimal("0"))
    assert daily_issues(day("2026-01-01", impressions=10, clicks=1), thresholds) == ()


def test_zero_impressions_is_not_a_ctr_violation() -> None:
    quiet = day("2026-01-01", impressions=0, clicks=0, conversions=1)
    assert daily_issues(quiet, THRESHOLDS) == ()


def test_roas_below_threshold() -> None:
    issues = daily_issues(day("2026-01-01", spend="100.00", revenue="249.99"), THRESHOLDS)
    assert issues == (Issue.ROAS_BELOW_THRESHOLD,)


def test_roas_equal_to_threshold_is_not_below() -> None:
    assert daily_issues(day("2026-01-01", spend="100.00", revenue="250.00"), THRESHOLDS) == ()


def test_zero_spend_is_not_a_roas_violation_nor_spend_without_conversions() -> None:
    free = day("2026-01-01", spend="0.00", revenue="0.00", conversions=0)
    assert daily_issues(free, THRESHOLDS) == ()


def test_unknown_revenue_counted_as_zero_is_below_any_positive_roas() -> None:
    issues = daily_issues(day("2026-01-01", revenue="0"), THRESHOLDS)
    assert issues == (Issue.ROAS_BELOW_THRESHOLD,)


def test_spend_without_conversions() -> None:
    issues = daily_issues(day("2026-01-01", conversions=0), THRESHOLDS)
    assert issues == (Issue.SPEND_WITHOUT_CONVERSIONS,)


def test_all_three_issues_come_in_contract_order() -> None:
    bad = day("2026-01-01", clicks=10, conversions=0, spend="100.00", revenue="10.00")
    assert daily_issues(bad, THRESHOLDS) == (
        Issue.CTR_BELOW_THRESHOLD,
        Issue.ROAS_BELOW_THRESHOLD,
        Issue.SPEND_WITHOUT_CONVERSIONS,
    )


def test_zero_thresholds_are_never_broken() -> None:
    zero = Thresholds(min_ctr=Decimal("0"), min_roas=Decimal("0"))
    assert daily_issues(day("2026-01-01", clicks=0, revenue="0.00"), zero) == ()


@pytest.mark.parametrize(
    ("impressions", "clicks", "expected"),
    [
        (10**15, 3 * 10**13, ()),  # exactly equal at a huge scale
        (10**15, 3 * 10**13 - 1, (Issue.CTR_BELOW_THRESHOLD,)),  # one click short
    ],
)
def test_comparisons_stay_exact_for_huge_totals(
    impressions: int, clicks: int, expected: tuple[Issue, ...]
) -> None:
    thresholds = Thresholds(min_ctr=Decimal("0.030000000000000000000001"), min_roas=Decimal(0))
    exact = Thresholds(min_ctr=Decimal("0.03"), min_roas=Decimal(0))
    big = day("2026-01-01", impressions=impressions, clicks=clicks)
    assert daily_issues(big, exact) == expected
    assert daily_issues(big, thresholds) == (Issue.CTR_BELOW_THRESHOLD,)
