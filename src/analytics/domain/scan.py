"""Use case: the anomaly scan of one tenant (CONTRACT.md §9).

Every campaign of the tenant, in batches by id: the §4 threshold rules against the
campaign's thresholds (the same `BenchmarkGateway` port `/campaigns/{id}/anomalies` uses),
plus the baseline rules. Alerts not stored yet are stored; a stored one is never stored
again. A campaign whose thresholds cannot be had is recorded as failed (its baseline alerts
are still stored: they need no thresholds); the other campaigns are unaffected, and the
next scan catches up.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from analytics.domain.alerts import NewAlert, baseline_alerts, threshold_alerts
from analytics.domain.baseline import BaselineParameters
from analytics.domain.errors import BenchmarkUnavailable
from analytics.domain.models import DailyMetrics, Thresholds
from analytics.domain.ports import AlertRepository, BenchmarkGateway

T = TypeVar("T")
Offload = Callable[[Callable[[], T]], Awaitable[T]]
THRESHOLDS_UNAVAILABLE = "benchmark thresholds are unavailable"


async def _inline(work: Callable[[], T]) -> T:
    return work()


@dataclass(frozen=True, slots=True)
class ScanSettings:
    baseline: BaselineParameters = field(default_factory=BaselineParameters)
    batch_size: int = 100  # campaigns per database round trip
    concurrent_lookups: int = 8  # threshold lookups in flight at once
    # after each batch, rest this many times as long as the batch took: the scan then takes
    # at most 1 / (1 + pause_factor) of the machine it shares with the API (0: no rest)
    pause_factor: float = 0.0


@dataclass(slots=True)
class TenantScan:
    """What one scan did for one tenant: the run's detail as that tenant sees it."""

    campaigns: int = 0
    new_alerts: int = 0
    failed_campaigns: list[dict[str, str]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "partial" if self.failed_campaigns else "succeeded"

    def detail(self) -> dict[str, object]:
        return {
            "campaigns": self.campaigns,
            "new_alerts": self.new_alerts,
            "failed_campaigns": self.failed_campaigns,
        }


async def scan_tenant(
    repository: AlertRepository,
    gateway: BenchmarkGateway,
    settings: ScanSettings,
    *,
    offload: Offload = _inline,
    on_failure: Callable[[str, BenchmarkUnavailable], None] = lambda *_: None,
    rest: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> TenantScan:
    """Scan every campaign of the repository's tenant; `offload` runs the rule evaluation
    (CPU work) where it cannot hold up the caller's event loop; between batches the scan
    rests (`settings.pause_factor`) so that it leaves the API most of the machine."""
    result, after = TenantScan(), None
    while True:
        started = time.monotonic()
        batch = await repository.campaign_days(after=after, limit=settings.batch_size)
        if not batch:
            return result
        thresholds = await _thresholds(gateway, [c for c, _ in batch], settings, result, on_failure)
        work = functools.partial(_evaluate, batch, thresholds, settings.baseline)
        alerts = await offload(work)
        result.new_alerts += await repository.store_alerts(alerts=alerts)
        result.campaigns += len(batch)
        after = batch[-1][0]
        if settings.pause_factor > 0:
            await rest((time.monotonic() - started) * settings.pause_factor)


async def _thresholds(
    gateway: BenchmarkGateway,
    campaign_ids: Sequence[str],
    settings: ScanSettings,
    result: TenantScan,
    on_failure: Callable[[str, BenchmarkUnavailable], None],
) -> dict[str, Thresholds]:
    """Thresholds of each campaign that has them, a few lookups at a time; the others are
    recorded as failed."""
    slots = asyncio.Semaphore(settings.concurrent_lookups)
    found: dict[str, Thresholds] = {}

    async def lookup(campaign_id: str) -> None:
        async with slots:
            try:
                found[campaign_id] = await gateway.thresholds_for(campaign_id=campaign_id)
            except BenchmarkUnavailable as error:
                on_failure(campaign_id, error)
                failure = {"campaign_id": campaign_id, "reason": THRESHOLDS_UNAVAILABLE}
                result.failed_campaigns.append(failure)

    await asyncio.gather(*(lookup(campaign_id) for campaign_id in campaign_ids))
    result.failed_campaigns.sort(key=lambda failure: failure["campaign_id"])
    return found


def _evaluate(
    batch: Sequence[tuple[str, list[DailyMetrics]]],
    thresholds: dict[str, Thresholds],
    baseline: BaselineParameters,
) -> list[NewAlert]:
    alerts: list[NewAlert] = []
    for campaign_id, days in batch:
        if campaign_id in thresholds:
            alerts.extend(threshold_alerts(campaign_id, days, thresholds[campaign_id]))
        alerts.extend(baseline_alerts(campaign_id, days, baseline))
    return alerts
