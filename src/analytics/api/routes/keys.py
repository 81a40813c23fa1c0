"""A tenant's API keys, managed by its admins (CONTRACT.md §6)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from analytics.api.auth import Admin, ServicesDep
from analytics.domain.access import ApiKey, KeyNotFound, Role

router = APIRouter(prefix="/keys", tags=["keys"])


class KeyOut(BaseModel):
    key_id: str
    key_name: str
    role: Role
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls(
            key_id=key.key_id,
            key_name=key.key_name,
            role=key.role,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class KeyListOut(BaseModel):
    items: list[KeyOut]


class NewKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    key_name: str = Field(default="", max_length=200)


class NewKeyOut(KeyOut):
    key: str = Field(description="the key itself: shown this once, never stored")


KeyIdPath = Annotated[str, Path(max_length=32, examples=["abcdefghijklmnop"])]


@router.get("", response_model=KeyListOut)
async def list_keys(principal: Admin, services: ServicesDep) -> KeyListOut:
    """The tenant's keys, oldest first: never their secrets."""
    keys = await services.key_administration.keys(tenant_id=principal.tenant_id)
    return KeyListOut(items=[KeyOut.of(key) for key in keys])


@router.post("", response_model=NewKeyOut, status_code=201)
async def create_key(
    body: NewKeyIn, principal: Admin, services: ServicesDep, response: Response
) -> NewKeyOut:
    """A new key of the caller's tenant; the answer is the only place the key appears."""
    key, secret = await services.key_administration.create_key(
        tenant_id=principal.tenant_id, role=body.role, key_name=body.key_name
    )
    response.headers["Location"] = f"/keys/{key.key_id}"
    response.headers["Cache-Control"] = "no-store"
    return NewKeyOut(**KeyOut.of(key).model_dump(), key=secret)


@router.delete("/{key_id}", status_code=204)
async def revoke_key(key_id: KeyIdPath, principal: Admin, services: ServicesDep) -> Response:
    """Revoke one of the tenant's active keys: every process refuses it within seconds."""
    revoked = await services.key_administration.revoke_key(
        key_id=key_id, tenant_id=principal.tenant_id
    )
    if not revoked:
        raise KeyNotFound(key_id)
    return Response(status_code=204)
