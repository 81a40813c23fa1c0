"""The catalog under real concurrent clients (threads), on both engines: a sync walk while
rows are added and renamed, one Idempotency-Key raced twenty times, two PATCHes with one
If-Match, and the clock's strictly increasing `updated_at` under concurrent writers."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import ClientFactory
from tests.integration.catalog_support import Tenant, new_tenant
from tests.support import DataDir

CAMPAIGNS = 5_000


@pytest.fixture
def big(make_client: ClientFactory) -> Tenant:
    data = DataDir(
        campaigns=[(f"cmp-{n:05d}", f"Campaign {n}") for n in range(CAMPAIGNS)],
        creators=[("crt-1", "Ann")],
    )
    return new_tenant(make_client, data)


def _edit_until(tenant: Tenant, done: threading.Event, renamed: set[str]) -> int:
    """Insert new campaigns and rename random existing ones until `done`."""
    writes, chooser = 0, random.Random(7)
    while not done.is_set():
        if writes % 2:
            target = f"cmp-{chooser.randrange(CAMPAIGNS):05d}"
            renamed.add(target)  # before the write: a rename may land while the walk reads
            answer = tenant.patch(f"/campaigns/{target}", {"campaign_name": f"R{writes}"})
        else:
            body = {"campaign_id": f"new-{writes:05d}", "campaign_name": "New"}
            answer = tenant.post("/campaigns", body)
        assert answer.status_code in (200, 201), answer.text
        writes += 1
    return writes


def test_a_sync_walk_sees_every_unchanged_campaign_exactly_once_while_others_are_edited(
    big: Tenant,
) -> None:
    renamed: set[str] = set()
    done = threading.Event()
    seen: list[tuple[str, str]] = []
    with ThreadPoolExecutor(1) as pool:
        writer = pool.submit(_edit_until, big, done, renamed)
        cursor, pages = None, 0
        try:
            while True:
                params: dict[str, Any] = {"limit": 37}
                if cursor is not None:
                    params["cursor"] = cursor
                body = big.get("/campaigns", **params).json()
                page = [(item["updated_at"], item["campaign_id"]) for item in body["items"]]
                assert len(set(page)) == len(page)
                seen.extend(page)
                pages += 1
                assert pages < 10 * CAMPAIGNS // 37, "the walk does not end"
                if not body["has_more"]:
                    break
                cursor = body["next_cursor"]
        finally:
            done.set()
        writes = writer.result()
    assert writes > 50
    assert renamed
    assert seen == sorted(set(seen))  # strictly increasing (updated_at, id): nothing repeats
    counts = Counter(campaign_id for _, campaign_id in seen)
    original = {f"cmp-{n:05d}" for n in range(CAMPAIGNS)}
    assert original <= set(counts)  # every campaign at least once
    assert {c for c in original - renamed if counts[c] != 1} == set()  # unchanged: once


def test_twenty_concurrent_posts_with_one_key_write_once_and_answer_alike(big: Tenant) -> None:
    body = {"campaign_id": "raced", "campaign_name": "Raced"}
    start = threading.Barrier(20)

    def post(_: int) -> Any:
        start.wait()
        return big.post("/campaigns", body, **{"Idempotency-Key": "race-1"})

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(post, range(20)))
    created = [answer for answer in answers if answer.status_code == 201]
    assert created
    assert {a.status_code for a in answers} <= {201, 409}
    assert len({(a.text, a.headers["etag"]) for a in created}) == 1
    in_flight = [a.json() for a in answers if a.status_code == 409]
    assert in_flight == [
        {"detail": "a request with this Idempotency-Key is still in flight"}
    ] * len(in_flight)
    stored = big.get("/campaigns/raced")
    assert (stored.json(), stored.headers["etag"]) == (
        created[0].json(),
        created[0].headers["etag"],
    )
    assert big.get("/campaigns", updated_since=stored.json()["updated_at"]).json()["items"] == [
        created[0].json()
    ]
    other = big.post(
        "/campaigns", {**body, "campaign_name": "Else"}, **{"Idempotency-Key": "race-1"}
    )
    assert other.status_code == 422


def test_two_patches_with_one_if_match_apply_one_and_refuse_the_other(big: Tenant) -> None:
    etag = big.get("/campaigns/cmp-00001").headers["etag"]
    start = threading.Barrier(2)

    def patch(name: str) -> Any:
        start.wait()
        return big.patch("/campaigns/cmp-00001", {"campaign_name": name}, **{"If-Match": etag})

    with ThreadPoolExecutor(2) as pool:
        answers = dict(zip(("A", "B"), pool.map(patch, ("A", "B")), strict=True))
    statuses = sorted(answer.status_code for answer in answers.values())
    assert statuses == [200, 412]
    (winner,) = [name for name, answer in answers.items() if answer.status_code == 200]
    assert big.get("/campaigns/cmp-00001").json()["campaign_name"] == winner


def test_concurrent_writers_get_distinct_increasing_updated_at(big: Tenant) -> None:
    def rename(number: int) -> str:
        answer = big.patch(f"/campaigns/cmp-{number % 40:05d}", {"campaign_name": f"N{number}"})
        assert answer.status_code == 200
        return answer.json()["updated_at"]

    with ThreadPoolExecutor(8) as pool:
        stamps = list(pool.map(rename, range(200)))
    assert len(set(stamps)) == 200
    last = big.get("/campaigns", updated_since=max(stamps)).json()["items"]
    assert [item["updated_at"] for item in last] == [max(stamps)]
