"""`CampaignMetricsRepository` over SQLAlchemy Core, running the project's `.sql` files,
one tenant at a time."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy import Connection, CursorResult, Engine, Executable, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from analytics.adapters.connection_deadlines import DeadlinePassed, Watch, watching
from analytics.adapters.engines import PROBE_POOL_SIZE, create_probe_engine
from analytics.adapters.loop_local import LoopLocal
from analytics.adapters.sql_reads import Reader, SqlAlchemyReader, read_with_driver
from analytics.domain.errors import RepositoryUnavailable
from analytics.domain.models import (
    CampaignPerformance,
    CreatorStats,
    DailyMetrics,
    PerformanceTotals,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
SERVING_ROLE = "analytics_tenant"  # migration 0005: subject to the row-level security policies
_ENTER_TENANT = text(
    "SELECT set_config('role', :role, true), set_config('analytics.tenant_id', :tenant_id, true)"
)
_PROBE = text("SELECT 1")
_ENTER_TENANT_SQL = (  # the same, for the driver's cursor (named-tuple rows: one name each)
    "SELECT set_config('role', %(role)s, true) AS role, "
    "set_config('analytics.tenant_id', %(tenant_id)s, true) AS tenant_id"
)


class StaleConnection(Exception):
    """The first statement of a transaction found its pooled connection dead (the server
    restarted, a backend was terminated): nothing of the work ran, so it may run again."""

    def __init__(self, error: DBAPIError) -> None:
        super().__init__(str(error))
        self.error = error


def first_statement(
    connection: Connection, statement: Executable, parameters: Mapping[str, Any] | None = None
) -> CursorResult[Any]:
    """The transaction's first statement, which also tells a dead connection (what a ping
    at checkout did, without its round trip): `StaleConnection` then, the connection and
    every older pooled one invalidated by SQLAlchemy."""
    try:
        return connection.execute(statement, parameters)
    except DBAPIError as error:
        if error.connection_invalidated:
            raise StaleConnection(error) from error
        raise


@dataclass(frozen=True, slots=True)
class StoreDeadlines:
    """Seconds a PostgreSQL call may take, queueing included, before the store counts as
    unavailable (defaults: those of DATABASE_REQUEST_TIMEOUT and DATABASE_HEALTH_TIMEOUT)."""

    request: float = 5.0
    health: float = 1.0


@dataclass(frozen=True, slots=True)
class _Route:
    """Where calls run: engine, limiter, and deadline (None: DuckDB, which has no network)."""

    engine: Engine
    limiter: LoopLocal[anyio.CapacityLimiter]
    timeout: float | None


class SqlAlchemyMetricsStore:
    """The serving side of one database, shared by every request; `for_tenant` gives the
    repository of one tenant. Blocking I/O stays off the event loop.

    On PostgreSQL every call has a deadline: at it, the caller gets `RepositoryUnavailable`
    at once and the connection the worker thread may be stuck on is cut (see
    `connection_deadlines`). `/health` probes on a pool and limiter of their own.
    """

    def __init__(self, engine: Engine, deadlines: StoreDeadlines = StoreDeadlines()) -> None:
        self._engine = engine
        # At most as many statements in flight as the pool holds connections: requests wait
        # here instead of opening and closing overflow connections under load.
        self._capacity = max(1, engine.pool.size()) if hasattr(engine.pool, "size") else 8
        self._limiter = LoopLocal(lambda: anyio.CapacityLimiter(self._capacity))
        self._postgres = engine.dialect.name == "postgresql"
        if not self._postgres:
            self._queries = self._probes = _Route(engine, self._limiter, None)
            return
        self._queries = _Route(engine, self._limiter, deadlines.request)
        probe = create_probe_engine(engine, pool_timeout=deadlines.health)
        probe_limiter = LoopLocal(lambda: anyio.CapacityLimiter(PROBE_POOL_SIZE))
        self._probes = _Route(probe, probe_limiter, deadlines.health)

    def for_tenant(self, tenant_id: str) -> SqlAlchemyMetricsRepository:
        return SqlAlchemyMetricsRepository(self, tenant_id)

    async def is_available(self) -> bool:
        try:
            await self._run(lambda c: first_statement(c, _PROBE).scalar(), self._probes)
        except RepositoryUnavailable:
            return False
        return True

    async def run(
        self, tenant_id: str, work: Callable[[Connection], T], *, probe: bool = False
    ) -> T:
        """`work(connection)` in one transaction scoped to `tenant_id`. On PostgreSQL the
        transaction runs as the serving role with `analytics.tenant_id` set, so row-level
        security hides every other tenant's rows whatever a statement says: the second wall
        behind the `:tenant_id` filter of every query."""

        def scoped(connection: Connection) -> T:
            if self._postgres:
                scope = {"role": SERVING_ROLE, "tenant_id": tenant_id}
                first_statement(connection, _ENTER_TENANT, scope)
            return work(connection)

        return await self._run(scoped, self._probes if probe else None)

    async def read(self, tenant_id: str, work: Callable[[Reader], T], *, probe: bool = False) -> T:
        """`work(reader)` as `run` would, for questions that only read rows: on PostgreSQL
        through the driver's cursor (`sql_reads`), the same tenant scoping first."""
        if not self._postgres:
            return await self.run(tenant_id, lambda c: work(SqlAlchemyReader(c)), probe=probe)
        enter = (_ENTER_TENANT_SQL, {"role": SERVING_ROLE, "tenant_id": tenant_id})

        def scoped(connection: Connection) -> T:
            return read_with_driver(connection, enter, work, StaleConnection)

        return await self._run(scoped, self._probes if probe else None)

    async def _run(self, work: Callable[[Connection], T], route: _Route | None = None) -> T:
        route = route or self._queries
        if route.timeout is None:
            call = functools.partial(_in_connection, route.engine, work)
            return await self._in_thread(call, route, abandon_on_cancel=False)
        watch = Watch(verifies_connection=True)  # by the first statement, see `run`
        call = functools.partial(_in_watched_connection, route.engine, work, watch)
        try:
            with anyio.move_on_after(route.timeout):
                return await self._in_thread(call, route, abandon_on_cancel=True)
        finally:
            watch.expire()  # a thread left behind (deadline, cancellation) is freed
        log.error("metrics store gave no answer within %s s", route.timeout)
        raise RepositoryUnavailable(f"the metrics store gave no answer within {route.timeout} s")

    @staticmethod
    async def _in_thread(call: Callable[[], T], route: _Route, *, abandon_on_cancel: bool) -> T:
        try:
            return await anyio.to_thread.run_sync(
                call, limiter=route.limiter.get(), abandon_on_cancel=abandon_on_cancel
            )
        except (SQLAlchemyError, DeadlinePassed) as error:
            log.error("metrics store query failed: %s", error)
            raise RepositoryUnavailable("the metrics store could not answer") from error


def daily_metrics_of(row: Any) -> DailyMetrics:
    """One day of a campaign as the daily questions return it (daily_anomalies.sql and the
    scan's scan_campaign_days.sql share these columns)."""
    return DailyMetrics(
        metric_date=row.metric_date,
        total_impressions=int(row.total_impressions),
        total_clicks=int(row.total_clicks),
        total_conversions=int(row.total_conversions),
        total_spend=Decimal(row.total_spend),
        total_revenue=Decimal(row.total_revenue),
        ctr=float(row.ctr),
        roas=float(row.roas),
    )


class SqlAlchemyMetricsRepository:
    """One tenant's metrics: every question is one bound statement filtered on `:tenant_id`,
    run by the store in a transaction scoped to the same tenant."""

    def __init__(self, store: SqlAlchemyMetricsStore, tenant_id: str) -> None:
        self._store = store
        self._tenant_id = tenant_id

    async def campaign_performance(self, *, campaign_id: str) -> CampaignPerformance | None:
        row = await self._one("campaign_performance", {"campaign_id": campaign_id})
        if row is None:
            return None
        totals = PerformanceTotals(
            total_impressions=int(row.total_impressions),
            total_clicks=int(row.total_clicks),
            total_conversions=int(row.total_conversions),
            total_spend=Decimal(row.total_spend),
            total_revenue=Decimal(row.total_revenue),
            ctr=float(row.ctr),
            cvr=float(row.cvr),
            roas=float(row.roas),
        )
        return CampaignPerformance(row.campaign_id, row.campaign_name, totals)

    async def top_creators(self, *, campaign_id: str, limit: int) -> list[CreatorStats] | None:
        parameters = {"campaign_id": campaign_id, "limit": limit}
        rows = await self._all_of_campaign("top_creators", parameters)
        if rows is None:
            return None
        return [
            CreatorStats(
                campaign_id=row.campaign_id,
                creator_id=row.creator_id,
                creator_name=row.creator_name,
                total_impressions=int(row.total_impressions),
                total_clicks=int(row.total_clicks),
                total_conversions=int(row.total_conversions),
                total_spend=Decimal(row.total_spend),
                ctr=float(row.ctr),
            )
            for row in rows
        ]

    async def daily_metrics(self, *, campaign_id: str) -> list[DailyMetrics] | None:
        rows = await self._all_of_campaign("daily_anomalies", {"campaign_id": campaign_id})
        if rows is None:
            return None
        return [daily_metrics_of(row) for row in rows]

    async def is_available(self) -> bool:
        return await self._store.is_available()

    async def current_dataset(self) -> str | None:
        try:
            row = await self._one("current_dataset", {}, probe=True)
        except RepositoryUnavailable:
            return None
        return None if row is None else row.dataset_name

    async def _one(
        self, name: str, parameters: Mapping[str, Any], *, probe: bool = False
    ) -> Any | None:
        scoped = {**parameters, "tenant_id": self._tenant_id}
        rows = await self._store.read(
            self._tenant_id, lambda reader: reader.rows(name, scoped), probe=probe
        )
        return rows[0] if rows else None

    async def _all_of_campaign(self, name: str, parameters: Mapping[str, Any]) -> list[Any] | None:
        """The rows of a question about one campaign, None if it does not exist: both
        statements in one transaction, in one trip to the worker thread."""
        scoped = {**parameters, "tenant_id": self._tenant_id}

        def work(reader: Reader) -> list[Any] | None:
            found = reader.rows("find_campaign", scoped)
            return reader.rows(name, scoped) if found else None

        return await self._store.read(self._tenant_id, work)


def _in_connection(engine: Engine, work: Callable[[Connection], T]) -> T:
    try:
        with engine.connect() as connection:
            return work(connection)
    except StaleConnection as stale:
        raise stale.error from None


def _in_watched_connection(engine: Engine, work: Callable[[Connection], T], watch: Watch) -> T:
    """`work` on a connection watched from checkout to the end of its transaction; once
    more on a new connection when the first statement found the pooled one dead (the pool
    is not pinged at checkout), unless the deadline passed."""
    try:
        return _watched_attempt(engine, work, watch)
    except StaleConnection as stale:
        if watch.expired:
            raise stale.error from None
        log.warning("a pooled connection was dead (%s); running again on a new one", stale)
    try:
        return _watched_attempt(engine, work, watch)
    except StaleConnection as stale:
        raise stale.error from None


def _watched_attempt(engine: Engine, work: Callable[[Connection], T], watch: Watch) -> T:
    with watching(watch), engine.connect() as connection:
        try:
            return work(connection)
        finally:
            _end_watched(connection, watch)


def _end_watched(connection: Connection, watch: Watch) -> None:
    """Roll back while still watched (one more round trip), then stop watching; a connection
    whose deadline passed may have had its socket shut: invalidated, never pooled again."""
    try:
        if not connection.invalidated:
            connection.rollback()
    finally:
        if watch.release():
            connection.invalidate()
