"""What the routers need, built once by the composition root and read from `app.state`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fastapi import Request

from analytics.domain.cursors import CursorSigner
from analytics.domain.ports import (
    BenchmarkGateway,
    CampaignMetricsRepository,
    KeyAdministration,
    KeyStore,
    MetricsExplorer,
)


class TenantRepositories(Protocol):
    def for_tenant(self, tenant_id: str) -> CampaignMetricsRepository: ...

    async def is_available(self) -> bool: ...


class TenantExplorers(Protocol):
    def for_tenant(self, tenant_id: str) -> MetricsExplorer: ...


@dataclass(frozen=True, slots=True)
class Services:
    metrics: TenantRepositories
    gateway: BenchmarkGateway
    keys: KeyStore
    key_administration: KeyAdministration
    anonymous_tenant: str | None  # None: requests without credentials get 401
    dataset: str | None  # None: as the anonymous tenant's load ledger says
    explorer: TenantExplorers
    cursors: CursorSigner  # signs the page cursors (CURSOR_SECRET)


def services_of(request: Request) -> Services:
    return request.app.state.services
