"""The explorer's rates computed in Python from the sums (`rates_of`): §4's rounding (4
places, half away from zero, 0 on a zero denominator), exact at any size, checked against
`Fraction` arithmetic written from the rule."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.adapters.explorer_sql import rate, rates_of
from analytics.adapters.sql_explorer import cents

wholes = st.one_of(
    st.integers(min_value=0, max_value=1000), st.integers(min_value=0, max_value=10**38 - 1)
)
money = wholes.map(
    lambda c: Decimal(c).scaleb(-2) if c < 10**26 else Decimal(f"{c // 100}.{c % 100:02d}")
)


def reference(numerator: int | Fraction, denominator: int | Fraction) -> Fraction:
    """round(n / d, 4), half away from zero (n, d >= 0); 0 when d is 0."""
    if denominator == 0:
        return Fraction(0)
    scaled = Fraction(numerator) / Fraction(denominator) * 10000
    whole = int(scaled)  # floor, for scaled >= 0
    return Fraction(whole + (1 if scaled - whole >= Fraction(1, 2) else 0), 10000)


@settings(max_examples=500)
@given(wholes, wholes)
def test_rate_rounds_half_away_from_zero_at_any_size(numerator: int, denominator: int) -> None:
    assert Fraction(rate(numerator, denominator), 10000) == reference(numerator, denominator)


def test_halves_round_up_and_zero_denominators_give_zero() -> None:
    assert rate(1, 20000) == 1  # 0.00005 -> 0.0001
    assert rate(1, 20001) == 0
    assert rate(5, 0) == 0
    assert rate(0, 7) == 0


@settings(max_examples=300)
@given(money)
def test_cents_of_the_statement_s_text_are_exact_at_any_size(amount: Decimal) -> None:
    assert cents(str(amount)) == Fraction(amount) * 100


def test_cents_take_fewer_places_and_refuse_more() -> None:
    assert [cents("7"), cents("0.5"), cents("0.00"), cents(".25")] == [700, 50, 0, 25]
    with pytest.raises(ValueError, match="not an amount"):
        cents("1.005")


@settings(max_examples=300)
@given(wholes, wholes, wholes, money, money)
def test_every_rate_is_the_rule_s(
    impressions: int, clicks: int, conversions: int, spend: Decimal, revenue: Decimal
) -> None:
    s, r = Fraction(spend), Fraction(revenue)
    expected = (
        reference(clicks, impressions),
        reference(conversions, clicks),
        reference(r, s),
        reference(s, clicks),
        reference(s * 1000, impressions),
    )
    got = rates_of(impressions, clicks, conversions, cents(str(spend)), cents(str(revenue)))
    assert tuple(Fraction(k, 10000) for k in got) == expected
