"""The result cache in one process, on both engines: repeated reads are answered from it,
every write, load and alert-storing scan is visible on the very next request, tenants never
share an entry, and conditional requests get 304."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from analytics.adapters.dataset_loader import load_dataset
from analytics.domain.catalog import Kind
from tests.conftest import ClientFactory
from tests.integration.benchmark_server import BenchmarkServer, Reply
from tests.integration.catalog_support import SMALL, Tenant, new_tenant, with_keys
from tests.support import DataDir


@pytest.fixture(params=["duckdb", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Both engines; on PostgreSQL a database of this module's own, so that each scan walks
    the tenants of these tests only."""
    return None if request.param == "duckdb" else request.getfixturevalue("module_postgres_url")


HIT = "analytics; hit"
STORED = "analytics; fwd=miss; stored"
PERFORMANCE = "/campaigns/cmp-1/performance"


def _twice(tenant: Tenant, path: str, **params: Any) -> tuple[Any, Any]:
    return tenant.get(path, **params), tenant.get(path, **params)


@pytest.fixture
def tenant(make_client: ClientFactory) -> Tenant:
    return new_tenant(make_client)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (PERFORMANCE, {}),
        ("/creators/top", {"campaign_id": "cmp-1", "limit": 1}),
        ("/campaigns/cmp-1/anomalies", {}),
        ("/metrics", {"date_from": "2026-01-01", "date_to": "2026-01-31", "group_by": "platform"}),
        ("/campaigns", {"limit": 1}),
        ("/campaigns/cmp-2", {}),
        ("/creators", {}),
        ("/creators/crt-1", {}),
        ("/alerts", {}),
    ],
)  # fmt: skip
def test_a_repeated_read_is_answered_from_the_cache_byte_for_byte(
    tenant: Tenant, path: str, params: dict[str, Any]
) -> None:
    first, second = _twice(tenant, path, **params)
    assert first.status_code == 200, first.text
    assert first.headers["cache-status"] == STORED
    assert second.headers["cache-status"] == HIT
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["content-type"] == first.headers["content-type"]


def test_parameter_order_reaches_the_same_entry(tenant: Tenant) -> None:
    viewer = tenant.viewer
    first = tenant.client.get("/creators/top?campaign_id=cmp-1&limit=2", headers=viewer)
    second = tenant.client.get("/creators/top?limit=2&campaign_id=cmp-1", headers=viewer)
    assert second.headers["cache-status"] == HIT
    assert second.content == first.content


def test_if_none_match_with_the_tag_gets_304_without_a_body(tenant: Tenant) -> None:
    first = tenant.get(PERFORMANCE)
    tag = first.headers["etag"]
    for header in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        again = tenant.client.get(PERFORMANCE, headers={**tenant.viewer, "If-None-Match": header})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == tag
    other = tenant.client.get(PERFORMANCE, headers={**tenant.viewer, "If-None-Match": '"x"'})
    assert other.status_code == 200
    assert other.content == first.content


def test_a_client_holding_the_answer_gets_304_even_when_the_entry_was_made_again(
    tenant: Tenant,
) -> None:
    tag = tenant.get(PERFORMANCE).headers["etag"]
    assert tenant.patch("/campaigns/cmp-2", {"status": "paused"}).status_code == 200
    # a new version (a write elsewhere): the answer is made again, the same bytes, the same tag
    again = tenant.client.get(PERFORMANCE, headers={**tenant.viewer, "If-None-Match": tag})
    assert again.status_code == 304
    assert again.headers["cache-status"] == STORED


def test_a_catalog_write_is_in_the_very_next_answer(tenant: Tenant) -> None:
    assert tenant.get(PERFORMANCE).json()["campaign_name"] == "One"
    assert tenant.get(PERFORMANCE).headers["cache-status"] == HIT
    assert tenant.patch("/campaigns/cmp-1", {"campaign_name": "Renamed"}).status_code == 200
    after = tenant.get(PERFORMANCE)
    assert after.json()["campaign_name"] == "Renamed"
    assert after.headers["cache-status"] == STORED
    assert tenant.get("/campaigns/cmp-1").json()["campaign_name"] == "Renamed"


def test_a_threshold_write_and_delete_are_in_the_very_next_anomalies_answer(
    tenant: Tenant,
) -> None:
    path = "/campaigns/cmp-1/anomalies"
    assert tenant.get(path).json()["thresholds"] == {"min_ctr": 0.03, "min_roas": 1.0}
    assert (
        tenant.put("/campaigns/cmp-1/thresholds", {"min_ctr": 0.5, "min_roas": 9}).status_code
        == 200
    )
    assert tenant.get(path).json()["thresholds"] == {"min_ctr": 0.5, "min_roas": 9.0}
    assert tenant.get("/campaigns/cmp-1/thresholds").json() == {"min_ctr": 0.5, "min_roas": 9.0}
    assert tenant.delete("/campaigns/cmp-1/thresholds").status_code == 204
    assert tenant.get(path).json()["thresholds"] == {"min_ctr": 0.03, "min_roas": 1.0}
    assert tenant.get("/campaigns/cmp-1/thresholds").status_code == 404


def test_a_load_between_two_requests_changes_the_second_answer(
    tenant: Tenant, database_url: str | None, tmp_path: Path
) -> None:
    assert _twice(tenant, PERFORMANCE)[1].headers["cache-status"] == HIT
    more = DataDir(
        campaigns=SMALL.campaigns,
        creators=SMALL.creators,
        metrics=[*SMALL.metrics, ("2026-01-03", "cmp-1", "crt-2", 1000, 7, 2, "5.00", "9.00")],
    )
    directory = more.write(tmp_path / "more")
    if database_url is None:  # the embedded database: loaded in the serving process
        load_dataset(
            tenant.client.app.state.engine,
            directory,
            dataset_name="more",
            tenant_id=tenant.tenant_id,
        )
    else:  # as `analytics load` does from anywhere: its own engine, its own connections
        engine = create_engine(database_url)
        try:
            load_dataset(engine, directory, dataset_name="more", tenant_id=tenant.tenant_id)
        finally:
            engine.dispose()
    after = tenant.get(PERFORMANCE).json()["totals"]
    assert after["total_impressions"] == 1200
    assert after["total_clicks"] == 13


def test_a_scan_that_stores_alerts_is_in_the_very_next_alert_feed(tenant: Tenant) -> None:
    assert _twice(tenant, "/alerts")[1].json()["items"] == []
    scheduler = tenant.client.app.state.scheduler  # type: ignore[attr-defined]
    asyncio.run(scheduler.run_now("anomaly_scan"))
    items = tenant.get("/alerts").json()["items"]
    assert {item["campaign_id"] for item in items} == {"cmp-1"}


def test_tenants_never_receive_each_others_cached_answers(
    make_client: ClientFactory, database_url: str | None, tmp_path: Path
) -> None:
    first = new_tenant(make_client)
    other_id = f"t-{uuid.uuid4().hex[:12]}"
    other_data = DataDir(
        campaigns=[("cmp-1", "Other one"), ("cmp-2", "Other two")],
        creators=SMALL.creators,
        metrics=[("2026-01-01", "cmp-1", "crt-2", 999, 9, 9, "9.00", "9.00")],
    )
    engine = first.client.app.state.engine  # type: ignore[attr-defined]
    directory = other_data.write(tmp_path / "other")
    load_dataset(engine, directory, dataset_name="other", tenant_id=other_id, create_tenant=True)
    other = with_keys(first.client, other_id)
    for path, params in [(PERFORMANCE, {}), ("/creators/top", {"campaign_id": "cmp-1"})]:
        mine = _twice(first, path, **params)
        theirs = _twice(other, path, **params)
        assert theirs[0].headers["cache-status"] == STORED  # not the first tenant's entry
        assert theirs[1].headers["cache-status"] == HIT
        assert mine[1].content == mine[0].content
        assert theirs[1].content == theirs[0].content
        assert mine[0].content != theirs[0].content
    assert first.get(PERFORMANCE).json()["campaign_name"] == "One"
    assert other.get(PERFORMANCE).json()["campaign_name"] == "Other one"
    # an ETag of one tenant is no use to the other
    tag = first.get(PERFORMANCE).headers["etag"]
    response = other.client.get(PERFORMANCE, headers={**other.viewer, "If-None-Match": tag})
    assert response.status_code == 200
    assert response.json()["campaign_name"] == "Other one"


def test_catalog_resources_keep_their_own_etags_for_if_match_and_if_none_match(
    tenant: Tenant,
) -> None:
    first, second = _twice(tenant, "/campaigns/cmp-2")
    tag = first.headers["etag"]
    assert second.headers["cache-status"] == HIT
    assert second.headers["etag"] == tag  # the resource's version, not a digest of the body
    not_modified = tenant.client.get(
        "/campaigns/cmp-2", headers={**tenant.viewer, "If-None-Match": tag}
    )
    assert not_modified.status_code == 304
    changed = tenant.patch("/campaigns/cmp-2", {"status": "paused"}, **{"If-Match": tag})
    assert changed.status_code == 200
    stale = tenant.patch("/campaigns/cmp-2", {"status": "active"}, **{"If-Match": tag})
    assert stale.status_code == 412
    now = tenant.get("/campaigns/cmp-2")
    assert now.headers["etag"] == changed.headers["etag"] != tag
    assert now.json()["status"] == "paused"


def test_errors_and_missing_things_are_never_cached(tenant: Tenant) -> None:
    missing = _twice(tenant, "/campaigns/cmp-404/performance")
    assert [r.status_code for r in missing] == [404, 404]
    assert all("cache-status" not in r.headers for r in missing)
    invalid = _twice(tenant, "/creators/top", campaign_id="cmp-1", limit=0)
    assert [r.status_code for r in invalid] == [422, 422]
    assert (
        tenant.post("/campaigns", {"campaign_id": "cmp-404", "campaign_name": "Late"}).status_code
        == 201
    )
    assert tenant.get("/campaigns/cmp-404/performance").status_code == 200


def test_answers_that_used_the_benchmark_service_are_never_cached(
    make_client: ClientFactory, benchmark_server: BenchmarkServer
) -> None:
    tenant = new_tenant(
        make_client,
        DataDir(SMALL.campaigns, SMALL.creators, SMALL.metrics),  # no fixture file
        benchmark_api_base=benchmark_server.base_url,
    )
    path = "/campaigns/cmp-1/anomalies"
    benchmark_server.script(Reply(status=404, body=b"{}"))
    refused = tenant.get(path)
    assert refused.status_code == 502
    benchmark_server.script(
        Reply(body=b'{"min_ctr": 0.03, "min_roas": 1.0}'),
        Reply(body=b'{"min_ctr": 0.5, "min_roas": 2.0}'),
    )
    first, second = _twice(tenant, path)
    assert first.json()["thresholds"] == {"min_ctr": 0.03, "min_roas": 1.0}
    assert second.json()["thresholds"] == {"min_ctr": 0.5, "min_roas": 2.0}
    assert "cache-status" not in second.headers
    # stored thresholds need no benchmark service: that answer is cached again
    tenant.put("/campaigns/cmp-1/thresholds", {"min_ctr": 0.1, "min_roas": 0.1})
    assert _twice(tenant, path)[1].headers["cache-status"] == HIT


def test_without_the_cache_nothing_is_stored_and_answers_are_the_same(
    make_client: ClientFactory,
) -> None:
    cached = new_tenant(make_client)
    uncached = new_tenant(make_client, cache_enabled=False)
    for response in _twice(uncached, PERFORMANCE):
        assert "cache-status" not in response.headers
        assert "etag" not in response.headers
        assert response.content == cached.get(PERFORMANCE).content


def test_the_catalog_item_answer_changes_after_a_delete_and_create(tenant: Tenant) -> None:
    path = f"/{Kind.CREATORS.value}/crt-new"
    assert tenant.get(path).status_code == 404
    assert (
        tenant.post("/creators", {"creator_id": "crt-new", "creator_name": "A"}).status_code == 201
    )
    assert _twice(tenant, path)[1].json()["creator_name"] == "A"
    assert tenant.delete(path).status_code == 204
    assert tenant.get(path).status_code == 404
