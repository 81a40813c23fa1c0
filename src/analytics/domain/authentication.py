"""Use case: who is calling? An API key, or the anonymous tenant, or nobody (CONTRACT.md §6)."""

from __future__ import annotations

import datetime as dt

from analytics.domain.access import NotAuthenticated, Principal, Role, parse_key, secret_matches
from analytics.domain.ports import KeyStore

MARK_USED_EVERY = dt.timedelta(minutes=1)


async def authenticate(
    presented_key: str | None,
    keys: KeyStore,
    *,
    anonymous_tenant: str | None,
    now: dt.datetime,
) -> Principal:
    """The caller of a request.

    No key: a viewer of the anonymous tenant when there is one, else `NotAuthenticated`. A key
    that is malformed, unknown, revoked or whose secret does not match (compared in constant
    time): `NotAuthenticated`, the same for all four. A key's `last_used_at` is written at
    most once a minute, so that a busy key costs no write per request.
    """
    if presented_key is None:
        if anonymous_tenant is None:
            raise NotAuthenticated("authentication required")
        return Principal(anonymous_tenant, Role.VIEWER)
    parsed = parse_key(presented_key)
    key = None if parsed is None else await keys.find_key(key_id=parsed.key_id)
    if (
        parsed is None
        or key is None
        or key.revoked_at is not None
        or not secret_matches(parsed.secret, key.secret_sha256)
    ):
        raise NotAuthenticated("invalid API key")
    if key.last_used_at is None or now - key.last_used_at >= MARK_USED_EVERY:
        await keys.mark_used(key_id=key.key_id, at=now)
    return Principal(key.tenant_id, key.role, key.key_id)
