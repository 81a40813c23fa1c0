"""Two guarantees of the catalog (CONTRACT.md §7) on both engines: Idempotency-Keys expire
after 24 hours and the service purges them itself; `updated_at` strictly increases in
commit order under concurrent writers, so a sync client never misses a change."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, text

from analytics.domain.editing import fingerprint
from tests.conftest import ClientFactory
from tests.integration.catalog_support import Tenant, new_tenant
from tests.support import DataDir

KEYS = "SELECT idempotency_key FROM idempotency_keys WHERE tenant_id = :t ORDER BY 1"


@pytest.fixture
def tenant(make_client: ClientFactory) -> Tenant:
    data = DataDir(
        campaigns=[(f"cmp-{n:02d}", f"Campaign {n}") for n in range(20)],
        creators=[("crt-1", "Ann")],
    )
    return new_tenant(make_client, data)


def _engine(tenant: Tenant) -> Engine:
    return tenant.client.app.state.engine  # type: ignore[attr-defined]


def _age(tenant: Tenant, key: str, age: dt.timedelta) -> None:
    """As if the request with `key` had been made `age` ago."""
    with _engine(tenant).begin() as connection:
        connection.execute(
            text(
                "UPDATE idempotency_keys SET created_at = :at "
                "WHERE tenant_id = :t AND idempotency_key = :k"
            ),
            {"at": dt.datetime.now(dt.UTC) - age, "t": tenant.tenant_id, "k": key},
        )


def _keys(tenant: Tenant) -> list[str]:
    with _engine(tenant).connect() as connection:
        return list(connection.execute(text(KEYS), {"t": tenant.tenant_id}).scalars())


def test_idempotency_keys_older_than_24_hours_are_purged_by_the_service(tenant: Tenant) -> None:
    def post(key: str, campaign_id: str) -> Any:
        body = {"campaign_id": campaign_id, "campaign_name": "Kept"}
        return tenant.post("/campaigns", body, **{"Idempotency-Key": key})

    assert post("old", "c-old").status_code == 201
    assert post("recent", "c-recent").status_code == 201
    _age(tenant, "old", dt.timedelta(hours=24, minutes=1))
    _age(tenant, "recent", dt.timedelta(hours=23, minutes=59))

    assert post("next", "c-next").status_code == 201  # any later idempotent write purges
    assert _keys(tenant) == ["next", "recent"]
    # the expired key is free again: another body is a new request, not a 422 ...
    assert post("old", "c-other").status_code == 201
    # ... while the recent one still replays its first answer, or refuses another body
    assert post("recent", "c-recent").status_code == 201
    assert post("recent", "c-else").status_code == 422
    assert tenant.get("/campaigns/c-else").status_code == 404


def test_a_claim_abandoned_by_a_dead_request_is_taken_over_after_five_minutes(
    tenant: Tenant,
) -> None:
    body = {"campaign_id": "c-stuck", "campaign_name": "Stuck"}
    same = fingerprint("POST", "/campaigns", {**body, "status": "active"})
    with _engine(tenant).begin() as connection:  # in flight, as a killed process left it
        connection.execute(
            text(
                "INSERT INTO idempotency_keys (tenant_id, idempotency_key, fingerprint, "
                "claim_id, created_at) VALUES (:t, 'stuck', :f, 'gone', :at)"
            ),
            {"t": tenant.tenant_id, "f": same, "at": dt.datetime.now(dt.UTC)},
        )
    assert tenant.post("/campaigns", body, **{"Idempotency-Key": "stuck"}).status_code == 409
    _age(tenant, "stuck", dt.timedelta(minutes=6))
    assert tenant.post("/campaigns", body, **{"Idempotency-Key": "stuck"}).status_code == 201


def test_updated_at_increases_in_commit_order_under_concurrent_writers(tenant: Tenant) -> None:
    """A reader polling what changed since the start sees every newly visible change stamped
    after everything it had already seen: a commit never lands behind a page already read."""
    start = tenant.get("/campaigns", limit=1).json()["items"][0]["updated_at"]
    done = threading.Event()
    polls: list[dict[str, str]] = []

    def write(number: int) -> None:
        body = {"campaign_name": f"N{number}"} if number % 3 else {"status": "paused"}
        answer = tenant.patch(f"/campaigns/cmp-{number % 20:02d}", body)
        assert answer.status_code == 200, answer.text

    def poll() -> None:
        while not done.is_set():
            items = tenant.get("/campaigns", updated_since=start, limit=1000).json()["items"]
            polls.append({item["campaign_id"]: item["updated_at"] for item in items})

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(write, range(300)))
    finally:
        done.set()
        reader.join(30)
    assert len(polls) >= 5
    seen: set[tuple[str, str]] = set()
    newest = ""
    for snapshot in polls:
        new = {(c, at) for c, at in snapshot.items() if (c, at) not in seen}
        assert all(at > newest for _, at in new), (newest, sorted(new, key=lambda n: n[1])[:3])
        seen |= new
        newest = max([newest, *(at for _, at in new)])
