"""`CatalogRepository` over SQLAlchemy Core: one tenant's catalog, every call one
transaction on the metrics store's scoped path (tenant filter, row-level security and
deadlines on PostgreSQL), writes committed under the tenant's catalog clock."""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine, and_, delete, insert, or_, select
from sqlalchemy.exc import SQLAlchemyError

from analytics.adapters import catalog_statements as statements
from analytics.adapters import schema
from analytics.adapters.catalog_clock import writer_lock
from analytics.adapters.sql_queries import query
from analytics.adapters.sql_repository import SqlAlchemyMetricsStore
from analytics.domain.catalog import (
    CampaignStatus,
    CatalogItem,
    Changes,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    Kind,
    Outcome,
    Position,
    StoredThresholds,
)
from analytics.domain.models import Thresholds

log = logging.getLogger(__name__)
T = TypeVar("T")
KEEP_IDEMPOTENCY_KEYS = dt.timedelta(hours=24)
# A claim whose request never settled it (its process died) is taken over after this long.
ABANDONED_CLAIM = dt.timedelta(minutes=5)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_keys = schema.idempotency_keys


def cursor_secret(engine: Engine, configured: str | None) -> bytes:
    """CURSOR_SECRET when set; else the database's stored secret (made by migration 0006 on
    PostgreSQL, here on a writable DuckDB), so every worker accepts every other's cursors."""
    if configured:
        return configured.encode()
    table = schema.cursor_secret
    try:
        with engine.begin() as connection:
            stored = connection.execute(select(table.c.secret)).scalar_one_or_none()
            if stored is None:
                stored = secrets.token_hex(32)
                connection.execute(insert(table).values(singleton=1, secret=stored))
        return stored.encode()
    except SQLAlchemyError as error:  # a read-only DuckDB file made before revision 0006
        log.warning("no stored cursor secret (%s): cursors valid in this process only", error)
        return secrets.token_bytes(32)


class SqlAlchemyCatalogStore:
    def __init__(self, store: SqlAlchemyMetricsStore, engine: Engine) -> None:
        self._store = store
        self._engine = engine

    def for_tenant(self, tenant_id: str) -> SqlAlchemyCatalogRepository:
        return SqlAlchemyCatalogRepository(self._store, self._engine, tenant_id)


class SqlAlchemyCatalogRepository:
    def __init__(self, store: SqlAlchemyMetricsStore, engine: Engine, tenant_id: str) -> None:
        self._store = store
        self._engine = engine
        self._tenant_id = tenant_id

    async def _read(self, work: Callable[[Connection], T]) -> T:
        return await self._store.run(self._tenant_id, work)

    async def _write(self, work: Callable[[Connection], T]) -> T:
        """`work` and its commit, under the DuckDB writer lock; any error rolls back."""

        def committed(connection: Connection) -> T:
            with writer_lock(self._engine):
                result = work(connection)
                connection.commit()
                return result

        return await self._store.run(self._tenant_id, committed)

    async def page(
        self, *, kind: Kind, after: Position | None, since: dt.datetime | None, limit: int
    ) -> list[CatalogItem]:
        parameters = {
            "tenant_id": self._tenant_id,
            "since": since or _EPOCH,
            "after_at": after.updated_at if after else _EPOCH,
            "after_id": after.item_id if after else "",
            "limit": limit,
        }
        sql = query(f"catalog_{kind.value}_page")
        rows = await self._read(lambda c: list(c.execute(sql, parameters)))
        return [statements.item_of(kind, row) for row in rows]

    async def get(self, *, kind: Kind, item_id: str) -> CatalogItem | None:
        return await self._read(lambda c: statements.find(c, self._tenant_id, kind, item_id))

    async def create(
        self,
        *,
        kind: Kind,
        item_id: str,
        name: str,
        status: CampaignStatus | None,
        idempotency_key: str | None,
    ) -> CatalogItem:
        item = (item_id, name, status)
        return await self._write(
            lambda c: statements.create(c, self._tenant_id, kind, item, idempotency_key)
        )

    async def update(
        self, *, kind: Kind, item_id: str, changes: Changes, if_match: str | None
    ) -> CatalogItem:
        return await self._write(
            lambda c: statements.change(c, self._tenant_id, kind, item_id, changes, if_match)
        )

    async def delete(self, *, kind: Kind, item_id: str, if_match: str | None) -> None:
        await self._write(lambda c: statements.remove(c, self._tenant_id, kind, item_id, if_match))

    async def thresholds(self, *, campaign_id: str) -> StoredThresholds | None:
        return await self._read(lambda c: statements.thresholds(c, self._tenant_id, campaign_id))

    async def every_thresholds(self) -> dict[str, Thresholds]:
        return await self._read(lambda c: statements.every_thresholds(c, self._tenant_id))

    async def put_thresholds(
        self, *, campaign_id: str, thresholds: Thresholds, if_match: str | None
    ) -> StoredThresholds:
        return await self._write(
            lambda c: statements.put_thresholds(
                c, self._tenant_id, campaign_id, thresholds, if_match
            )
        )

    async def delete_thresholds(self, *, campaign_id: str, if_match: str | None) -> None:
        await self._write(
            lambda c: statements.delete_thresholds(c, self._tenant_id, campaign_id, if_match)
        )

    async def claim(self, *, key: str, fingerprint: str) -> Outcome | None:
        claim_id = uuid.uuid4().hex
        row = await self._write(lambda c: self._claim(c, key, fingerprint, claim_id))
        if row.claim_id == claim_id:
            return None
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused
        if row.status_code is None:
            raise IdempotencyKeyInFlight
        return Outcome(row.status_code, json.loads(row.response_body))

    def _claim(self, connection: Connection, key: str, fingerprint: str, claim_id: str):
        """Purge the tenant's expired keys and abandoned claims, claim `key` unless held,
        and read whoever holds it now."""
        now = dt.datetime.now(dt.UTC)
        tenant = _keys.c.tenant_id == self._tenant_id
        expired = or_(
            _keys.c.created_at < now - KEEP_IDEMPOTENCY_KEYS,
            and_(_keys.c.status_code.is_(None), _keys.c.created_at < now - ABANDONED_CLAIM),
        )
        connection.execute(delete(_keys).where(tenant, expired))
        connection.execute(
            query("idempotency_claim"),
            {
                "tenant_id": self._tenant_id,
                "idempotency_key": key,
                "fingerprint": fingerprint,
                "claim_id": claim_id,
                "created_at": now,
            },
        )
        return connection.execute(select(_keys).where(tenant, _keys.c.idempotency_key == key)).one()

    async def settle(self, *, key: str, outcome: Outcome | None) -> None:
        def work(connection: Connection) -> None:
            if outcome is not None:
                statements.record_outcome(connection, self._tenant_id, key, outcome)
                return
            connection.execute(
                delete(_keys).where(
                    _keys.c.tenant_id == self._tenant_id,
                    _keys.c.idempotency_key == key,
                    _keys.c.status_code.is_(None),
                )
            )

        await self._write(work)
