"""The scheduled jobs (CONTRACT.md §9): `heartbeat` and `anomaly_scan`."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import anyio.to_thread

from analytics.adapters.sql_access import SqlAlchemyAccessStore
from analytics.adapters.sql_alerts import SqlAlchemyAlertRepository
from analytics.adapters.sql_repository import SqlAlchemyMetricsStore
from analytics.domain.errors import BenchmarkUnavailable
from analytics.domain.jobs import FAILED, PARTIAL, SUCCEEDED
from analytics.domain.ports import BenchmarkGateway
from analytics.domain.scan import ScanSettings, scan_tenant

log = logging.getLogger(__name__)


def utc_text(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with `Z`."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


async def heartbeat(run_id: str) -> tuple[str, dict[str, Any]]:
    """One structured line with the UTC time; the run itself is the record."""
    now = utc_text(dt.datetime.now(dt.UTC))
    log.info("heartbeat utc=%s run=%s", now, run_id)
    return SUCCEEDED, {"utc": now}


class AnomalyScan:
    """Every campaign of every tenant, one tenant at a time through the tenant-scoped path;
    each tenant's result is recorded as its part of the run."""

    def __init__(
        self,
        store: SqlAlchemyMetricsStore,
        access: SqlAlchemyAccessStore,
        thresholds_for_tenant: Callable[[str], BenchmarkGateway],
        settings: ScanSettings,
    ) -> None:
        self._store = store
        self._access = access
        self._thresholds_for_tenant = thresholds_for_tenant
        self._settings = settings

    async def __call__(self, run_id: str) -> tuple[str, dict[str, Any]]:
        tenants = await anyio.to_thread.run_sync(self._access.tenants)
        statuses: list[str] = []
        totals = {"tenants": 0, "campaigns": 0, "new_alerts": 0, "failed_campaigns": 0}
        for tenant in tenants:
            status, detail = await self._scan(run_id, tenant.tenant_id)
            statuses.append(status)
            totals["tenants"] += 1
            totals["campaigns"] += detail.get("campaigns", 0)
            totals["new_alerts"] += detail.get("new_alerts", 0)
            totals["failed_campaigns"] += len(detail.get("failed_campaigns", []))
        status = FAILED if FAILED in statuses else PARTIAL if PARTIAL in statuses else SUCCEEDED
        return status, totals  # counts only: no tenant's data in the global detail

    async def _scan(self, run_id: str, tenant_id: str) -> tuple[str, dict[str, Any]]:
        repository = SqlAlchemyAlertRepository(self._store, tenant_id)

        def failed(campaign_id: str, error: BenchmarkUnavailable) -> None:
            log.warning(
                "anomaly scan: tenant %s campaign %r: no thresholds: %s",
                tenant_id,
                campaign_id,
                error,
            )

        try:
            result = await scan_tenant(
                repository,
                self._thresholds_for_tenant(tenant_id),
                self._settings,
                offload=anyio.to_thread.run_sync,
                on_failure=failed,
            )
            status, detail = result.status, result.detail()
        except Exception:
            log.exception("anomaly scan of tenant %s failed (run %s)", tenant_id, run_id)
            status, detail = FAILED, {"error": "the scan of this tenant failed"}
        try:
            await repository.record_run_part(run_id=run_id, status=status, detail=detail)
        except Exception:
            log.exception(
                "anomaly scan: tenant %s's part of run %s not recorded", tenant_id, run_id
            )
        return status, detail
