"""Ports: what the use cases need from the outside world, declared as Protocols."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from analytics.domain.access import ApiKey, Role
from analytics.domain.explorer import ExplorerQuery, ExplorerRow, Position
from analytics.domain.models import (
    CampaignPerformance,
    ComponentStatus,
    CreatorStats,
    DailyMetrics,
    Thresholds,
)

if TYPE_CHECKING:
    from analytics.domain.alerts import NewAlert


class CampaignMetricsRepository(Protocol):
    """Read side of the campaign metrics store.

    Methods raise `RepositoryUnavailable` when the store cannot answer.
    """

    async def campaign_performance(self, *, campaign_id: str) -> CampaignPerformance | None:
        """Totals over every metric row of the campaign; None if the campaign does not exist."""
        ...

    async def top_creators(self, *, campaign_id: str, limit: int) -> list[CreatorStats] | None:
        """Per-creator totals, best first (conversions, clicks desc; creator_id asc);
        None if the campaign does not exist."""
        ...

    async def daily_metrics(self, *, campaign_id: str) -> list[DailyMetrics] | None:
        """One entry per day with metric rows, oldest first; None if the campaign does not
        exist."""
        ...

    async def is_available(self) -> bool: ...

    async def current_dataset(self) -> str | None:
        """Name of the dataset being served (newest load), None before any load."""
        ...


class BenchmarkGateway(Protocol):
    """Source of per-campaign anomaly thresholds."""

    async def thresholds_for(self, *, campaign_id: str) -> Thresholds:
        """Raise `BenchmarkUnavailable` when no valid thresholds can be had."""
        ...

    async def status(self) -> ComponentStatus: ...


class KeyStore(Protocol):
    """Where API keys are looked up (by id) when requests present them."""

    async def find_key(self, *, key_id: str) -> ApiKey | None: ...

    async def mark_used(self, *, key_id: str, at: dt.datetime) -> None: ...


class KeyAdministration(Protocol):
    """A tenant's keys, as its admins manage them."""

    async def create_key(
        self, *, tenant_id: str, role: Role, key_name: str | None
    ) -> tuple[ApiKey, str]:
        """The stored key and the key itself, which is never shown again."""
        ...

    async def keys(self, *, tenant_id: str) -> list[ApiKey]: ...

    async def revoke_key(self, *, key_id: str, tenant_id: str) -> bool:
        """False when the tenant has no such key that is still active."""
        ...


class AlertRepository(Protocol):
    """One tenant's side of the anomaly scan (CONTRACT.md §9)."""

    async def campaign_days(
        self, *, after: str | None, limit: int
    ) -> list[tuple[str, list[DailyMetrics]]]:
        """The tenant's next `limit` campaigns by id after `after` (None: the first), each
        with its days, oldest first (campaigns without metric rows have none)."""
        ...

    async def store_alerts(self, *, alerts: Sequence[NewAlert]) -> int:
        """Store the alerts not stored yet (one per campaign, day and rule); how many were."""
        ...


class MetricsExplorer(Protocol):
    """One tenant's metrics, aggregated as the explorer asks (CONTRACT.md §8)."""

    async def explore(
        self, *, query: ExplorerQuery, after: Position | None, limit: int
    ) -> list[ExplorerRow]:
        """At most `limit` rows in `query.order()`, those after `after` when given.
        Raises `RepositoryUnavailable` when the store cannot answer."""
        ...
