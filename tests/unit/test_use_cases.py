"""The use cases against fakes: what they return, raise and ask of their ports."""

from __future__ import annotations

from decimal import Decimal

import pytest

from analytics.domain.anomalies import detect_anomalies
from analytics.domain.errors import BenchmarkUnavailable, CampaignNotFound
from analytics.domain.health import service_health
from analytics.domain.models import (
    Alert,
    CampaignPerformance,
    ComponentStatus,
    CreatorStats,
    Issue,
    PerformanceTotals,
    Thresholds,
)
from analytics.domain.performance import campaign_performance
from analytics.domain.ranking import top_creators
from tests.unit.fakes import FakeGateway, FakeRepository, day

THRESHOLDS = Thresholds(min_ctr=Decimal("0.03"), min_roas=Decimal("2.5"))


def _creator(creator_id: str, conversions: int) -> CreatorStats:
    return CreatorStats(
        "cmp-1", creator_id, creator_id.upper(), 100, 10, conversions, Decimal(1), 0.1
    )


async def test_performance_returns_what_the_repository_computed() -> None:
    totals = PerformanceTotals(10, 1, 0, Decimal("1.00"), Decimal("0"), 0.1, 0.0, 0.0)
    expected = CampaignPerformance("cmp-1", "One", totals)
    repository = FakeRepository(performance={"cmp-1": expected})
    assert await campaign_performance(repository, campaign_id="cmp-1") is expected


async def test_performance_of_unknown_campaign_raises_not_found() -> None:
    with pytest.raises(CampaignNotFound, match="campaign 'nope' not found"):
        await campaign_performance(FakeRepository(), campaign_id="nope")


async def test_ranking_asks_the_repository_for_limit_creators() -> None:
    creators = [_creator("crt-1", 5), _creator("crt-2", 3), _creator("crt-3", 1)]
    repository = FakeRepository(campaigns={"cmp-1": "One"}, creators={"cmp-1": creators})
    ranking = await top_creators(repository, campaign_id="cmp-1", limit=2)
    assert ranking.limit == 2
    assert [c.creator_id for c in ranking.creators] == ["crt-1", "crt-2"]
    assert ("top_creators", {"campaign_id": "cmp-1", "limit": 2}) in repository.calls


async def test_ranking_of_a_campaign_without_metrics_is_empty() -> None:
    repository = FakeRepository(campaigns={"cmp-1": "One"})
    ranking = await top_creators(repository, campaign_id="cmp-1")
    assert ranking.creators == ()
    assert ranking.limit == 10


async def test_ranking_of_unknown_campaign_raises_not_found() -> None:
    with pytest.raises(CampaignNotFound):
        await top_creators(FakeRepository(), campaign_id="nope", limit=3)


@pytest.mark.parametrize("limit", [0, -1, 1001])
async def test_ranking_refuses_a_limit_out_of_range(limit: int) -> None:
    repository = FakeRepository(campaigns={"cmp-1": "One"})
    with pytest.raises(ValueError, match="limit"):
        await top_creators(repository, campaign_id="cmp-1", limit=limit)
    assert repository.calls == []


async def test_anomalies_report_only_days_with_issues_oldest_first() -> None:
    days = [
        day("2026-01-03", conversions=0),
        day("2026-01-01", clicks=10),
        day("2026-01-02"),
    ]
    repository = FakeRepository(campaigns={"cmp-1": "One"}, days={"cmp-1": days})
    gateway = FakeGateway(thresholds={"cmp-1": THRESHOLDS})
    report = await detect_anomalies(repository, gateway, campaign_id="cmp-1")
    assert report.thresholds == THRESHOLDS
    assert report.alerts == (
        Alert(days[1].metric_date, (Issue.CTR_BELOW_THRESHOLD,), 0.01, 3.0),
        Alert(days[0].metric_date, (Issue.SPEND_WITHOUT_CONVERSIONS,), 0.05, 3.0),
    )


async def test_anomalies_without_violations_is_an_empty_list() -> None:
    repository = FakeRepository(campaigns={"cmp-1": "One"}, days={"cmp-1": [day("2026-01-01")]})
    gateway = FakeGateway(thresholds={"cmp-1": THRESHOLDS})
    assert (await detect_anomalies(repository, gateway, campaign_id="cmp-1")).alerts == ()


async def test_anomalies_of_a_campaign_without_metrics_is_empty() -> None:
    repository = FakeRepository(campaigns={"cmp-1": "One"})
    gateway = FakeGateway(thresholds={"cmp-1": THRESHOLDS})
    assert (await detect_anomalies(repository, gateway, campaign_id="cmp-1")).alerts == ()


async def test_anomalies_of_unknown_campaign_never_ask_for_thresholds() -> None:
    gateway = FakeGateway(thresholds={"nope": THRESHOLDS})
    with pytest.raises(CampaignNotFound):
        await detect_anomalies(FakeRepository(), gateway, campaign_id="nope")
    assert gateway.asked == []


async def test_anomalies_without_thresholds_fail_instead_of_inventing_defaults() -> None:
    repository = FakeRepository(campaigns={"cmp-1": "One"}, days={"cmp-1": [day("2026-01-01")]})
    with pytest.raises(BenchmarkUnavailable):
        await detect_anomalies(repository, FakeGateway(), campaign_id="cmp-1")


@pytest.mark.parametrize(
    ("database_up", "benchmark", "status"),
    [
        (True, ComponentStatus.OK, "ok"),
        (True, ComponentStatus.FIXTURE, "ok"),
        (True, ComponentStatus.ERROR, "degraded"),
        (False, ComponentStatus.OK, "degraded"),
        (False, ComponentStatus.FIXTURE, "degraded"),
    ],
)
async def test_health_is_ok_only_when_database_and_benchmark_source_are_usable(
    database_up: bool, benchmark: ComponentStatus, status: str
) -> None:
    report = await service_health(
        FakeRepository(available=database_up), FakeGateway(state=benchmark), dataset="visible"
    )
    assert report.status == status
    assert report.database == (ComponentStatus.OK if database_up else ComponentStatus.ERROR)
    assert report.benchmark_service == benchmark
    assert report.dataset == "visible"
