"""The anomaly scan's reads and writes, the alert feed and a tenant's view of job runs, over
SQLAlchemy Core; one tenant at a time, through `SqlAlchemyMetricsStore.run` (on PostgreSQL
under row-level security, as every request)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select

from analytics.adapters import schema
from analytics.adapters.catalog_clock import tick, writer_lock
from analytics.adapters.sql_job_runs import ordered_id
from analytics.adapters.sql_queries import query
from analytics.adapters.sql_repository import SqlAlchemyMetricsStore, daily_metrics_of
from analytics.domain.alerts import NewAlert, StoredAlert
from analytics.domain.jobs import FeedPosition, JobRunView
from analytics.domain.models import DailyMetrics

_alerts, _runs, _parts = schema.alerts, schema.job_runs, schema.job_run_tenants


def _after(columns: tuple[Any, Any], position: FeedPosition | None) -> Any:
    """Rows after `position` in (time, id) order: the keyset of every feed."""
    if position is None:
        return and_(True)
    at, key = columns
    return or_(at > position.at, and_(at == position.at, key > position.key))


class SqlAlchemyAlertRepository:
    """One tenant's alerts and its part of job runs."""

    def __init__(self, store: SqlAlchemyMetricsStore, tenant_id: str) -> None:
        self._store = store
        self._tenant_id = tenant_id

    async def campaign_days(
        self, *, after: str | None, limit: int
    ) -> list[tuple[str, list[DailyMetrics]]]:
        tenant = {"tenant_id": self._tenant_id}

        def work(connection: Connection) -> list[tuple[str, list[DailyMetrics]]]:
            ids = connection.execute(
                query("scan_campaigns"), {**tenant, "after": after or "", "limit": limit}
            ).scalars()
            batch: dict[str, list[DailyMetrics]] = {campaign_id: [] for campaign_id in ids}
            if batch:
                bounds = {"first": min(batch), "last": max(batch)}
                for row in connection.execute(query("scan_campaign_days"), {**tenant, **bounds}):
                    batch[row.campaign_id].append(daily_metrics_of(row))
            return list(batch.items())

        return await self._store.run(self._tenant_id, work)

    async def store_alerts(self, *, alerts: Sequence[NewAlert]) -> int:
        if not alerts:
            return 0
        now = dt.datetime.now(dt.UTC)

        def work(connection: Connection) -> int:
            with writer_lock(connection.engine):
                return stored(connection)

        def stored(connection: Connection) -> int:
            campaigns = {alert.campaign_id for alert in alerts}
            stored = connection.execute(
                select(_alerts.c.campaign_id, _alerts.c.metric_date, _alerts.c.rule).where(
                    _alerts.c.tenant_id == self._tenant_id,
                    _alerts.c.campaign_id.in_(sorted(campaigns)),
                )
            )
            known = {tuple(row) for row in stored}
            rows = [
                {
                    "tenant_id": self._tenant_id,
                    "alert_id": ordered_id(),
                    "campaign_id": alert.campaign_id,
                    "metric_date": alert.metric_date,
                    "rule": alert.rule,
                    "detail": json.dumps(alert.detail),
                    "created_at": now,
                }
                for alert in alerts
                if (alert.campaign_id, alert.metric_date, alert.rule) not in known
            ]
            if rows:
                connection.execute(insert(_alerts), rows)
                # the tenant's write generation: cached answers (GET /alerts) change version
                tick(connection, self._tenant_id)
            connection.commit()
            return len(rows)

        return await self._store.run(self._tenant_id, work)

    async def alerts(
        self,
        *,
        limit: int,
        after: FeedPosition | None = None,
        campaign_id: str | None = None,
        since: dt.datetime | None = None,
        rule: str | None = None,
    ) -> list[StoredAlert]:
        """Up to `limit` alerts in (created_at, alert_id) order after `after`, filtered."""
        statement = select(_alerts).where(
            _alerts.c.tenant_id == self._tenant_id,
            _after((_alerts.c.created_at, _alerts.c.alert_id), after),
        )
        if campaign_id is not None:
            statement = statement.where(_alerts.c.campaign_id == campaign_id)
        if since is not None:
            statement = statement.where(_alerts.c.created_at >= since)
        if rule is not None:
            statement = statement.where(_alerts.c.rule == rule)
        statement = statement.order_by(_alerts.c.created_at, _alerts.c.alert_id).limit(limit)
        rows = await self._store.run(self._tenant_id, lambda c: list(c.execute(statement)))
        return [
            StoredAlert(
                alert_id=row.alert_id,
                campaign_id=row.campaign_id,
                metric_date=row.metric_date,
                rule=row.rule,
                detail=json.loads(row.detail),
                created_at=row.created_at,
            )
            for row in rows
        ]

    async def record_run_part(self, *, run_id: str, status: str, detail: dict[str, Any]) -> None:
        """What run `run_id` did for this tenant."""
        values = {
            "tenant_id": self._tenant_id,
            "run_id": run_id,
            "status": status,
            "detail": json.dumps(detail),
        }

        def work(connection: Connection) -> None:
            connection.execute(insert(_parts).values(**values))
            connection.commit()

        await self._store.run(self._tenant_id, work)

    async def job_runs(self, *, limit: int, after: FeedPosition | None = None) -> list[JobRunView]:
        """Every job run, in (started_at, run_id) order, with only this tenant's part of its
        detail: the global columns of a run carry no tenant's data."""
        statement = (
            select(
                _runs.c.run_id,
                _runs.c.job,
                _runs.c.started_at,
                _runs.c.finished_at,
                _runs.c.status,
                _parts.c.status.label("tenant_status"),
                _parts.c.detail.label("tenant_detail"),
            )
            .select_from(
                _runs.outerjoin(
                    _parts,
                    and_(_parts.c.run_id == _runs.c.run_id, _parts.c.tenant_id == self._tenant_id),
                )
            )
            .where(_after((_runs.c.started_at, _runs.c.run_id), after))
            .order_by(_runs.c.started_at, _runs.c.run_id)
            .limit(limit)
        )
        rows = await self._store.run(self._tenant_id, lambda c: list(c.execute(statement)))
        return [
            JobRunView(
                run_id=row.run_id,
                job=row.job,
                started_at=row.started_at,
                finished_at=row.finished_at,
                status=row.tenant_status or row.status,
                detail=json.loads(row.tenant_detail) if row.tenant_detail else {},
            )
            for row in rows
        ]
