"""The scheduler's part of the composition root: the jobs, their ledger, and the feeds the
API reads (CONTRACT.md §9). Called by `create_app`, so `serve`, `analytics scheduler` and
`analytics jobs` all run the same wiring."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Engine

from analytics.adapters.engines import duckdb_file
from analytics.adapters.scheduled_jobs import AnomalyScan, heartbeat
from analytics.adapters.scheduler import JobScheduler, ScheduledJob
from analytics.adapters.sql_access import SqlAlchemyAccessStore
from analytics.adapters.sql_alerts import SqlAlchemyAlertRepository
from analytics.adapters.sql_catalog import SqlAlchemyCatalogStore
from analytics.adapters.sql_job_runs import SqlAlchemyJobLedger
from analytics.adapters.sql_repository import SqlAlchemyMetricsStore
from analytics.api.feed_cursors import CursorSigner
from analytics.api.feeds import Feeds
from analytics.api.services import Services
from analytics.domain.baseline import BaselineParameters
from analytics.domain.editing import TenantStoredThresholdsFirst
from analytics.domain.scan import ScanSettings
from analytics.settings import Settings

log = logging.getLogger(__name__)


def _store(services: Services) -> SqlAlchemyMetricsStore:
    assert isinstance(services.metrics, SqlAlchemyMetricsStore)
    return services.metrics


def build_scheduler(settings: Settings, engine: Engine, services: Services) -> JobScheduler:
    """The jobs, not started. Thresholds of a tenant's campaign come from the same source
    `/campaigns/{id}/anomalies` uses: a `BenchmarkGateway` per tenant."""
    catalog = SqlAlchemyCatalogStore(_store(services), engine)
    scan = AnomalyScan(
        _store(services),
        SqlAlchemyAccessStore(engine),
        thresholds_for_tenant=lambda tenant_id: TenantStoredThresholdsFirst(
            catalog.for_tenant(tenant_id), services.gateway
        ),
        settings=ScanSettings(
            baseline=BaselineParameters(
                weeks=settings.baseline_weeks,
                min_history=settings.baseline_min_history,
                min_impressions=settings.baseline_min_impressions,
                mad_multiplier=settings.baseline_mad_multiplier,
                min_drop=settings.baseline_min_drop,
            ),
            batch_size=settings.scan_batch_size,
            pause_factor=settings.scan_pause_factor,
        ),
    )
    jobs = [
        ScheduledJob("heartbeat", settings.schedule_heartbeat, heartbeat),
        ScheduledJob("anomaly_scan", settings.schedule_anomaly_scan, scan),
    ]
    stale = settings.scheduler_stale_run_seconds
    ledger = SqlAlchemyJobLedger(engine, stale_after=dt.timedelta(seconds=stale))
    return JobScheduler(
        jobs,
        ledger,
        poll_seconds=settings.scheduler_poll_seconds,
        keep_alive_seconds=min(30.0, stale / 5),  # several refreshes before a run looks dead
        sole_runner=engine.dialect.name != "postgresql",  # a DuckDB file has one writer
    )


def scheduler_should_run(settings: Settings) -> bool:
    """SCHEDULER_ENABLED, and a database this process may write: a DuckDB file is served
    read-only (several workers share it), so its jobs run in `analytics scheduler` alone."""
    if not settings.scheduler_enabled:
        return False
    if settings.database_url and duckdb_file(settings.database_url) is not None:
        log.warning(
            "scheduler not started: a DuckDB file is served read-only; "
            "run `analytics scheduler` while no service has the file open"
        )
        return False
    return True


def build_feeds(services: Services, key: bytes) -> Feeds:
    store = _store(services)
    return Feeds(
        for_tenant=lambda tenant_id: SqlAlchemyAlertRepository(store, tenant_id),
        cursors=CursorSigner(key),
    )
