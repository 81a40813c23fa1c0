"""Tenants and API keys over SQLAlchemy Core, for the CLI (sync) and the API (async)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine, Row, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from analytics.adapters import schema
from analytics.domain.access import (
    ApiKey,
    Role,
    Tenant,
    UnknownTenant,
    format_key,
    new_key_id,
    new_secret,
    secret_digest,
)
from analytics.domain.errors import RepositoryUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)
_tenants, _keys = schema.tenants, schema.api_keys


class TenantExists(Exception):
    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"tenant '{tenant_id}' already exists")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        tenant_id=row.tenant_id,
        key_name=row.key_name,
        role=Role(row.role),
        secret_sha256=row.secret_sha256,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class SqlAlchemyAccessStore:
    """Tenants and keys. Runs as the database owner, outside the tenants' row-level
    security: a key must be found before its tenant is known. Every method that concerns one
    tenant takes its id and filters on it."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_tenant(self, tenant_id: str, tenant_name: str | None = None) -> Tenant:
        tenant = Tenant(tenant_id, tenant_name or tenant_id, _now())
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(_tenants).values(**tenant_fields(tenant)))
        except IntegrityError:
            raise TenantExists(tenant_id) from None
        return tenant

    def tenants(self) -> list[Tenant]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(_tenants).order_by(_tenants.c.tenant_id))
            return [Tenant(r.tenant_id, r.tenant_name, r.created_at) for r in rows]

    def create_key(
        self, tenant_id: str, role: Role, key_name: str | None = None
    ) -> tuple[ApiKey, str]:
        """A new key of `tenant_id`: (what is stored, the key itself, shown once)."""
        key_id, secret = new_key_id(), new_secret()
        key = ApiKey(key_id, tenant_id, key_name or "", role, secret_digest(secret), _now())
        with self._engine.begin() as connection:
            if not self._tenant_exists(connection, tenant_id):
                raise UnknownTenant(tenant_id)
            connection.execute(
                insert(_keys).values(
                    key_id=key.key_id,
                    tenant_id=key.tenant_id,
                    key_name=key.key_name,
                    role=key.role.value,
                    secret_sha256=key.secret_sha256,
                    created_at=key.created_at,
                )
            )
        return key, format_key(key_id, secret)

    def keys(self, tenant_id: str) -> list[ApiKey]:
        with self._engine.connect() as connection:
            if not self._tenant_exists(connection, tenant_id):
                raise UnknownTenant(tenant_id)
            rows = connection.execute(
                select(_keys).where(_keys.c.tenant_id == tenant_id).order_by(_keys.c.created_at)
            )
            return [_key(row) for row in rows]

    def revoke_key(self, key_id: str, tenant_id: str | None = None) -> bool:
        """Revoke a key (of `tenant_id` only, when given); False when there is no such key
        or it was already revoked."""
        statement = update(_keys).where(_keys.c.key_id == key_id, _keys.c.revoked_at.is_(None))
        if tenant_id is not None:
            statement = statement.where(_keys.c.tenant_id == tenant_id)
        with self._engine.begin() as connection:
            return connection.execute(statement.values(revoked_at=_now())).rowcount == 1

    def find_key(self, key_id: str) -> ApiKey | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(_keys).where(_keys.c.key_id == key_id)).first()
        return None if row is None else _key(row)

    def mark_used(self, key_id: str, at: dt.datetime) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(_keys).where(_keys.c.key_id == key_id).values(last_used_at=at)
            )

    @staticmethod
    def _tenant_exists(connection: Connection, tenant_id: str) -> bool:
        query = select(_tenants.c.tenant_id).where(_tenants.c.tenant_id == tenant_id)
        return connection.execute(query).first() is not None


def add_tenant_if_missing(connection: Connection, tenant_id: str, tenant_name: str) -> bool:
    """Create the tenant in the caller's transaction unless it exists; whether it existed."""
    found = connection.execute(
        select(_tenants.c.tenant_id).where(_tenants.c.tenant_id == tenant_id)
    ).first()
    if found is None:
        tenant = Tenant(tenant_id, tenant_name, _now())
        connection.execute(insert(_tenants).values(**tenant_fields(tenant)))
    return found is not None


def tenant_fields(tenant: Tenant) -> dict[str, Any]:
    return {
        "tenant_id": tenant.tenant_id,
        "tenant_name": tenant.tenant_name,
        "created_at": tenant.created_at,
    }


class AsyncAccessStore:
    """The store's methods off the event loop; database errors become `RepositoryUnavailable`."""

    def __init__(self, store: SqlAlchemyAccessStore) -> None:
        self._store = store

    async def find_key(self, *, key_id: str) -> ApiKey | None:
        return await self._call(self._store.find_key, key_id)

    async def mark_used(self, *, key_id: str, at: dt.datetime) -> None:
        """Best effort: a read-only database (a DuckDB file shared by workers) or a failed
        write never turns an authenticated request into an error."""
        try:
            await anyio.to_thread.run_sync(self._store.mark_used, key_id, at)
        except SQLAlchemyError as error:
            log.debug("last use of key %s not recorded: %s", key_id, error)

    async def create_key(
        self, *, tenant_id: str, role: Role, key_name: str | None
    ) -> tuple[ApiKey, str]:
        return await self._call(self._store.create_key, tenant_id, role, key_name)

    async def keys(self, *, tenant_id: str) -> list[ApiKey]:
        return await self._call(self._store.keys, tenant_id)

    async def revoke_key(self, *, key_id: str, tenant_id: str) -> bool:
        return await self._call(self._store.revoke_key, key_id, tenant_id)

    @staticmethod
    async def _call(function: Callable[..., T], *arguments: Any) -> T:
        try:
            return await anyio.to_thread.run_sync(function, *arguments)
        except SQLAlchemyError as error:
            raise RepositoryUnavailable("the access store could not answer") from error
