"""The anomaly scan of one tenant against fakes: batches, thresholds per campaign, an outage
failing only the campaigns it affects, and alerts stored once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from analytics.domain.alerts import NewAlert
from analytics.domain.models import DailyMetrics, Thresholds
from analytics.domain.scan import ScanSettings, scan_tenant
from tests.unit.fakes import FakeGateway, day


@dataclass
class FakeAlertRepository:
    campaigns: dict[str, list[DailyMetrics]]
    stored: dict[tuple[str, object, str], NewAlert] = field(default_factory=dict)
    batches: list[list[str]] = field(default_factory=list)

    async def campaign_days(self, *, after: str | None, limit: int):
        ids = sorted(c for c in self.campaigns if after is None or c > after)[:limit]
        self.batches.append(ids)
        return [(c, self.campaigns[c]) for c in ids]

    async def store_alerts(self, *, alerts: Sequence[NewAlert]) -> int:
        new = 0
        for alert in alerts:
            key = (alert.campaign_id, alert.metric_date, alert.rule)
            if key not in self.stored:
                self.stored[key] = alert
                new += 1
        return new


BAD_DAY = day(
    "2026-01-03", impressions=1000, clicks=10, conversions=0, spend="50.00", revenue="10.00"
)
LIMITS = Thresholds(min_ctr=Decimal("0.03"), min_roas=Decimal("1"))


async def test_scan_stores_each_issue_once_and_a_rerun_stores_nothing() -> None:
    repository = FakeAlertRepository({f"cmp-{n}": [BAD_DAY] for n in range(5)})
    gateway = FakeGateway({f"cmp-{n}": LIMITS for n in range(5)})
    first = await scan_tenant(repository, gateway, ScanSettings(batch_size=2))
    assert repository.batches == [["cmp-0", "cmp-1"], ["cmp-2", "cmp-3"], ["cmp-4"], []]
    assert (first.campaigns, first.new_alerts, first.status) == (5, 15, "succeeded")
    rules = sorted({rule for _, _, rule in repository.stored})
    assert rules == ["ctr_below_threshold", "roas_below_threshold", "spend_without_conversions"]
    again = await scan_tenant(repository, gateway, ScanSettings(batch_size=2))
    assert (again.campaigns, again.new_alerts) == (5, 0)


async def test_an_outage_fails_only_the_campaigns_without_thresholds() -> None:
    repository = FakeAlertRepository({"cmp-a": [BAD_DAY], "cmp-b": [BAD_DAY], "cmp-c": []})
    gateway = FakeGateway({"cmp-b": LIMITS})  # cmp-a and cmp-c: BenchmarkUnavailable
    failures: list[str] = []
    result = await scan_tenant(
        repository, gateway, ScanSettings(), on_failure=lambda c, _: failures.append(c)
    )
    assert result.status == "partial"
    assert result.detail() == {
        "campaigns": 3,
        "new_alerts": 3,
        "failed_campaigns": [
            {"campaign_id": "cmp-a", "reason": "benchmark thresholds are unavailable"},
            {"campaign_id": "cmp-c", "reason": "benchmark thresholds are unavailable"},
        ],
    }
    assert sorted(failures) == ["cmp-a", "cmp-c"]
    assert {c for c, _, _ in repository.stored} == {"cmp-b"}
    gateway.thresholds["cmp-a"] = LIMITS  # the service is back: the next scan catches up
    later = await scan_tenant(repository, gateway, ScanSettings())
    assert later.new_alerts == 3
    assert {c for c, _, _ in repository.stored} == {"cmp-a", "cmp-b"}


async def test_the_scan_rests_after_each_batch_in_proportion_to_its_time() -> None:
    class SlowRepository(FakeAlertRepository):
        async def campaign_days(self, *, after: str | None, limit: int):
            await asyncio.sleep(0.02)  # the batch's database work
            return await super().campaign_days(after=after, limit=limit)

    repository = SlowRepository({f"cmp-{n}": [BAD_DAY] for n in range(5)})
    gateway = FakeGateway({f"cmp-{n}": LIMITS for n in range(5)})
    rests: list[float] = []

    async def rest(seconds: float) -> None:
        rests.append(seconds)

    paced = ScanSettings(batch_size=2, pause_factor=3)
    result = await scan_tenant(repository, gateway, paced, rest=rest)
    assert result.campaigns == 5
    assert len(rests) == 3  # after each of the three batches, not after the empty read
    assert all(0.06 <= seconds < 3 for seconds in rests)
    unpaced: list[float] = []
    await scan_tenant(repository, gateway, ScanSettings(batch_size=2), rest=unpaced.append)
    assert unpaced == []
