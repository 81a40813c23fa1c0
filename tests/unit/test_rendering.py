"""The answers rendered with orjson are byte for byte what the response models produced."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.api.rendering import anomalies_json, performance_json, ranking_json
from analytics.api.schemas import AnomaliesOut, CampaignPerformanceOut, TopCreatorsOut
from analytics.domain.models import (
    Alert,
    AnomalyReport,
    CampaignPerformance,
    CreatorRanking,
    CreatorStats,
    Issue,
    PerformanceTotals,
    Thresholds,
)

# any text: control characters, quotes, backslashes, non-BMP, line and paragraph separators
texts = st.text(max_size=40)
counts = st.integers(min_value=0, max_value=10**38 - 1)
money = st.integers(min_value=0, max_value=10**38 - 1).map(lambda cents: Decimal(cents).scaleb(-2))
rates = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(lambda k: k / 10000),
    st.floats(min_value=0, allow_nan=False, allow_infinity=False),
)
thresholds = st.builds(
    Thresholds,
    min_ctr=st.decimals(min_value=0, max_value=100, places=6, allow_nan=False),
    min_roas=st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False),
)
alerts = st.builds(
    Alert,
    metric_date=st.dates(min_value=dt.date(1, 1, 1)),
    issues=st.lists(st.sampled_from(list(Issue)), min_size=1, max_size=3, unique=True).map(tuple),
    ctr=rates,
    roas=rates,
)
totals = st.builds(PerformanceTotals, counts, counts, counts, money, money, rates, rates, rates)
creators = st.builds(CreatorStats, texts, texts, texts, counts, counts, counts, money, rates)


@settings(max_examples=300)
@given(st.builds(CampaignPerformance, texts, texts, totals))
def test_performance_bytes_are_the_response_model_s(value: CampaignPerformance) -> None:
    expected = CampaignPerformanceOut.model_validate(value).model_dump_json().encode()
    assert performance_json(value) == expected


@settings(max_examples=200)
@given(
    st.builds(
        CreatorRanking,
        texts,
        st.integers(min_value=1, max_value=1000),
        st.lists(creators, max_size=12).map(tuple),
    )
)
def test_ranking_bytes_are_the_response_model_s(value: CreatorRanking) -> None:
    expected = TopCreatorsOut.model_validate(value).model_dump_json().encode()
    assert ranking_json(value) == expected


@settings(max_examples=200)
@given(st.builds(AnomalyReport, texts, thresholds, st.lists(alerts, max_size=12).map(tuple)))
def test_anomalies_bytes_are_the_response_model_s(value: AnomalyReport) -> None:
    expected = AnomaliesOut.model_validate(value).model_dump_json().encode()
    assert anomalies_json(value) == expected


def test_an_empty_answer_keeps_its_keys() -> None:
    report = AnomalyReport("c", Thresholds(Decimal("0.03"), Decimal("2.5")), ())
    expected = b'{"campaign_id":"c","thresholds":{"min_ctr":0.03,"min_roas":2.5},"alerts":[]}'
    assert anomalies_json(report) == expected


def test_a_count_beyond_64_bits_is_printed_in_full() -> None:
    totals = PerformanceTotals(2**64, 1, 0, Decimal("1.50"), Decimal("0.00"), 0.0, 0.0, 0.0)
    rendered = performance_json(CampaignPerformance("c", "n", totals))
    assert b'"total_impressions":18446744073709551616,"total_clicks":1,' in rendered
    assert b'"total_spend":1.5,' in rendered
