"""Keys, roles and authentication (CONTRACT.md §6) against a fake key store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import pytest

from analytics.adapters.key_cache import CachedKeyStore
from analytics.domain.access import (
    KEY_PREFIX,
    ApiKey,
    Forbidden,
    NotAuthenticated,
    Principal,
    Role,
    format_key,
    new_key_id,
    new_secret,
    parse_key,
    secret_digest,
    tenant_id_problem,
)
from analytics.domain.authentication import MARK_USED_EVERY, authenticate

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


@dataclass
class FakeKeyStore:
    keys: dict[str, ApiKey] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    marked: list[tuple[str, dt.datetime]] = field(default_factory=list)

    async def find_key(self, *, key_id: str) -> ApiKey | None:
        self.lookups.append(key_id)
        return self.keys.get(key_id)

    async def mark_used(self, *, key_id: str, at: dt.datetime) -> None:
        self.marked.append((key_id, at))
        self.keys[key_id] = replace(self.keys[key_id], last_used_at=at)


def issue(store: FakeKeyStore, role: Role = Role.VIEWER, tenant: str = "acme") -> str:
    key_id, secret = new_key_id(), new_secret()
    store.keys[key_id] = ApiKey(key_id, tenant, "test", role, secret_digest(secret), NOW)
    return format_key(key_id, secret)


def test_a_new_key_carries_the_prefix_and_256_random_bits() -> None:
    key = format_key(new_key_id(), new_secret())
    assert key.startswith(KEY_PREFIX)
    parsed = parse_key(key)
    assert parsed is not None
    assert len(parsed.secret) == 43  # 32 bytes, base64url without padding
    assert len({new_secret() for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "cak_",
        "Bearer",
        "cak_abc_def",
        "x" * 10_000,
        "cak_" + "A" * 16 + "_" + "a" * 43,
        "ck_" + "a" * 16 + "_" + "b" * 43,
        "cak_" + "a" * 16 + "_" + "b" * 42 + "é",
    ],
)
def test_malformed_keys_do_not_parse(presented: str) -> None:
    assert parse_key(presented) is None


@pytest.mark.parametrize("tenant_id", ["default", "acme", "a", "a-b_c9", "0" * 63])
def test_valid_tenant_ids(tenant_id: str) -> None:
    assert tenant_id_problem(tenant_id) is None


@pytest.mark.parametrize("tenant_id", ["", "Acme", "-a", "_a", "a b", "a.b", "é", "a" * 64])
def test_invalid_tenant_ids(tenant_id: str) -> None:
    assert tenant_id_problem(tenant_id) is not None


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        (Role.VIEWER, Role.VIEWER, True),
        (Role.VIEWER, Role.EDITOR, False),
        (Role.EDITOR, Role.EDITOR, True),
        (Role.EDITOR, Role.ADMIN, False),
        (Role.ADMIN, Role.VIEWER, True),
        (Role.ADMIN, Role.ADMIN, True),
    ],
)
def test_roles_are_ordered_viewer_editor_admin(role: Role, needed: Role, allowed: bool) -> None:
    principal = Principal("acme", role, "k")
    if allowed:
        principal.require(needed)
    else:
        with pytest.raises(Forbidden):
            principal.require(needed)


async def test_no_key_reads_the_anonymous_tenant_as_viewer() -> None:
    principal = await authenticate(None, FakeKeyStore(), anonymous_tenant="default", now=NOW)
    assert principal == Principal("default", Role.VIEWER, None)


async def test_no_key_without_an_anonymous_tenant_is_not_authenticated() -> None:
    with pytest.raises(NotAuthenticated):
        await authenticate(None, FakeKeyStore(), anonymous_tenant=None, now=NOW)


async def test_a_valid_key_gives_its_tenant_and_role() -> None:
    store = FakeKeyStore()
    key = issue(store, Role.EDITOR, tenant="acme")
    principal = await authenticate(key, store, anonymous_tenant="default", now=NOW)
    assert (principal.tenant_id, principal.role) == ("acme", Role.EDITOR)


async def test_a_key_with_a_wrong_secret_is_refused() -> None:
    store = FakeKeyStore()
    key = issue(store)
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    with pytest.raises(NotAuthenticated):
        await authenticate(wrong, store, anonymous_tenant="default", now=NOW)


async def test_a_revoked_key_is_refused_even_with_anonymous_access_on() -> None:
    store = FakeKeyStore()
    key = issue(store)
    key_id = next(iter(store.keys))
    store.keys[key_id] = replace(store.keys[key_id], revoked_at=NOW)
    with pytest.raises(NotAuthenticated):
        await authenticate(key, store, anonymous_tenant="default", now=NOW)


async def test_a_malformed_key_is_refused_without_a_lookup() -> None:
    store = FakeKeyStore()
    with pytest.raises(NotAuthenticated):
        await authenticate("not-a-key", store, anonymous_tenant="default", now=NOW)
    assert store.lookups == []


async def test_last_used_is_written_at_most_once_a_minute() -> None:
    store = FakeKeyStore()
    key = issue(store)
    for seconds in (0, 1, 30, 59):
        await authenticate(
            key, store, anonymous_tenant=None, now=NOW + dt.timedelta(seconds=seconds)
        )
    assert len(store.marked) == 1
    await authenticate(key, store, anonymous_tenant=None, now=NOW + MARK_USED_EVERY)
    assert len(store.marked) == 2


async def test_the_cache_asks_the_store_once_per_key_within_its_lifetime() -> None:
    store = FakeKeyStore()
    cache = CachedKeyStore(store, ttl=60)
    key = issue(store)
    for _ in range(5):
        await authenticate(key, cache, anonymous_tenant=None, now=NOW)
    for _ in range(5):
        assert await cache.find_key(key_id="unknownunknownun") is None
    assert len(store.lookups) == 2


async def test_the_cache_sees_a_revocation_once_its_entry_expires() -> None:
    store = FakeKeyStore()
    cache = CachedKeyStore(store, ttl=0)
    key = issue(store)
    await authenticate(key, cache, anonymous_tenant=None, now=NOW)
    key_id = next(iter(store.keys))
    store.keys[key_id] = replace(store.keys[key_id], revoked_at=NOW)
    with pytest.raises(NotAuthenticated):
        await authenticate(key, cache, anonymous_tenant=None, now=NOW)


async def test_the_cache_is_bounded() -> None:
    store = FakeKeyStore()
    cache = CachedKeyStore(store, ttl=60, max_entries=3)
    for index in range(10):
        await cache.find_key(key_id=f"{index:016d}")
    assert len(cache._entries) == 3
