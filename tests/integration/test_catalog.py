"""The catalog API (CONTRACT.md §7) on both engines: resources, pages, cursors, ETags,
idempotency, validation, tenants and roles, loads beside edits, stored thresholds."""

from __future__ import annotations

import re
from typing import Any

import pytest

from analytics.adapters import catalog_statements
from analytics.adapters.dataset_loader import load_dataset
from analytics.domain.catalog import Kind
from tests.conftest import ClientFactory
from tests.integration.catalog_support import SMALL, Tenant, new_tenant, walk, with_keys
from tests.support import DataDir

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
NEW = {"campaign_id": "cmp-new", "campaign_name": "New"}


@pytest.fixture
def tenant(make_client: ClientFactory) -> Tenant:
    return new_tenant(make_client)


def test_post_answers_201_with_the_resource_location_and_etag(tenant: Tenant) -> None:
    answer = tenant.post("/campaigns", {"campaign_id": "cmp/ü 1", "campaign_name": "  Ünï  "})
    body = answer.json()
    assert answer.status_code == 201
    assert list(body) == ["campaign_id", "campaign_name", "status", "created_at", "updated_at"]
    assert (body["campaign_id"], body["campaign_name"], body["status"]) == (
        "cmp/ü 1",
        "Ünï",
        "active",
    )
    assert RFC3339_UTC.fullmatch(body["created_at"])
    assert body["created_at"] == body["updated_at"]
    assert answer.headers["location"] == "/campaigns/cmp%2F%C3%BC%201"
    fetched = tenant.get(answer.headers["location"])
    assert (fetched.json(), fetched.headers["etag"]) == (body, answer.headers["etag"])


def test_creator_resource_has_exactly_the_contract_keys(tenant: Tenant) -> None:
    answer = tenant.post("/creators", {"creator_id": "crt-new", "creator_name": "Cy"})
    assert answer.status_code == 201
    assert list(answer.json()) == ["creator_id", "creator_name", "created_at", "updated_at"]
    assert answer.headers["location"] == "/creators/crt-new"


def test_post_of_an_existing_id_is_409_and_changes_nothing(tenant: Tenant) -> None:
    before = tenant.get("/campaigns/cmp-1").json()
    answer = tenant.post("/campaigns", {"campaign_id": "cmp-1", "campaign_name": "Other"})
    assert (answer.status_code, answer.json()) == (
        409,
        {"detail": "campaign 'cmp-1' already exists"},
    )
    assert tenant.get("/campaigns/cmp-1").json() == before


def test_patch_renames_and_archives_with_a_new_etag(tenant: Tenant) -> None:
    etag = tenant.get("/campaigns/cmp-2").headers["etag"]
    answer = tenant.patch("/campaigns/cmp-2", {"campaign_name": "Deux", "status": "archived"})
    assert answer.status_code == 200
    assert (answer.json()["campaign_name"], answer.json()["status"]) == ("Deux", "archived")
    assert answer.headers["etag"] != etag
    assert answer.json()["updated_at"] > answer.json()["created_at"]


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(tenant: Tenant) -> None:
    stale = tenant.get("/campaigns/cmp-2").headers["etag"]
    assert tenant.patch("/campaigns/cmp-2", {"status": "paused"}).status_code == 200
    answer = tenant.patch("/campaigns/cmp-2", {"campaign_name": "Lost"}, **{"If-Match": stale})
    assert answer.status_code == 412
    assert tenant.get("/campaigns/cmp-2").json()["campaign_name"] == "Two"


def test_delete_with_a_stale_if_match_is_412_and_keeps_the_row(tenant: Tenant) -> None:
    stale = tenant.post("/creators", {"creator_id": "c", "creator_name": "C"}).headers["etag"]
    assert tenant.patch("/creators/c", {"creator_name": "D"}).status_code == 200
    assert tenant.delete("/creators/c", **{"If-Match": stale}).status_code == 412
    assert tenant.get("/creators/c").status_code == 200
    current = tenant.get("/creators/c").headers["etag"]
    assert tenant.delete("/creators/c", **{"If-Match": current}).status_code == 204
    assert tenant.get("/creators/c").status_code == 404


def test_delete_refuses_a_campaign_or_creator_with_metric_rows(tenant: Tenant) -> None:
    campaign = tenant.delete("/campaigns/cmp-1")
    assert (campaign.status_code, campaign.json()) == (
        409,
        {"detail": "campaign 'cmp-1' has metric rows: archive it instead"},
    )
    assert tenant.delete("/creators/crt-1").status_code == 409
    assert tenant.get("/campaigns/cmp-1").status_code == 200


def test_delete_of_a_campaign_without_metrics_removes_it_and_its_thresholds(
    tenant: Tenant,
) -> None:
    assert (
        tenant.put("/campaigns/cmp-2/thresholds", {"min_ctr": 1, "min_roas": 2}).status_code == 200
    )
    assert tenant.delete("/campaigns/cmp-2").status_code == 204
    assert tenant.get("/campaigns/cmp-2").status_code == 404
    assert (
        tenant.post("/campaigns", {"campaign_id": "cmp-2", "campaign_name": "Again"}).status_code
        == 201
    )
    assert tenant.get("/campaigns/cmp-2/thresholds").status_code == 404


def test_a_page_walk_sees_every_row_once_in_updated_at_then_id_order(tenant: Tenant) -> None:
    for number in range(7):
        tenant.post("/creators", {"creator_id": f"new-{number}", "creator_name": "N"})
    pages = walk(tenant, "/creators", limit=3)
    rows = [(item["updated_at"], item["creator_id"]) for page in pages for item in page]
    assert [len(page) for page in pages] == [3, 3, 3]
    assert rows == sorted(set(rows))
    assert len(rows) == 9


def test_has_more_is_false_on_an_exactly_full_last_page(tenant: Tenant) -> None:
    body = tenant.get("/campaigns", limit=2).json()
    assert (len(body["items"]), body["has_more"], body["next_cursor"]) == (2, False, None)


def test_updated_since_keeps_only_rows_updated_at_or_after_it(tenant: Tenant) -> None:
    renamed = tenant.patch("/campaigns/cmp-2", {"campaign_name": "Later"}).json()
    body = tenant.get("/campaigns", updated_since=renamed["updated_at"]).json()
    assert [item["campaign_id"] for item in body["items"]] == ["cmp-2"]


@pytest.mark.parametrize(
    "parameters",
    [{"limit": 0}, {"limit": 1001}, {"limit": "1.0"}, {"updated_since": "2026-01-01"}],
)
def test_bad_page_parameters_are_422(tenant: Tenant, parameters: dict[str, Any]) -> None:
    assert tenant.get("/campaigns", **parameters).status_code == 422


@pytest.mark.parametrize("cursor", ["", "abc", "a.b", "..", "eyJ0Ijox.!!!", "x" * 2000])
def test_a_malformed_cursor_is_422(tenant: Tenant, cursor: str) -> None:
    answer = tenant.get("/campaigns", cursor=cursor)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_a_tampered_cursor_is_422(tenant: Tenant) -> None:
    cursor = tenant.get("/campaigns", limit=1).json()["next_cursor"]
    payload, signature = cursor.split(".")
    forged = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    assert tenant.get("/campaigns", cursor=f"{forged}.{signature}").status_code == 422


def test_a_cursor_of_another_list_is_422(tenant: Tenant) -> None:
    cursor = tenant.get("/creators", limit=1).json()["next_cursor"]
    answer = tenant.get("/campaigns", cursor=cursor)
    assert (answer.status_code, answer.json()["detail"][0]["type"]) == (422, "invalid_cursor")


def test_a_cursor_of_another_tenant_is_422(tenant: Tenant) -> None:
    other = with_keys(tenant.client, "other-" + tenant.tenant_id)
    other.post("/campaigns", {"campaign_id": "a", "campaign_name": "A"})
    other.post("/campaigns", {"campaign_id": "b", "campaign_name": "B"})
    cursor = other.get("/campaigns", limit=1).json()["next_cursor"]
    assert cursor is not None
    assert tenant.get("/campaigns", cursor=cursor).status_code == 422


def test_another_tenants_ids_are_404_everywhere(tenant: Tenant) -> None:
    other = with_keys(tenant.client, "other-" + tenant.tenant_id)
    answers = [
        other.get("/campaigns/cmp-1"),
        other.get("/creators/crt-1"),
        other.patch("/campaigns/cmp-1", {"status": "paused"}),
        other.patch("/creators/crt-1", {"creator_name": "X"}),
        other.delete("/campaigns/cmp-2"),
        other.delete("/creators/crt-2"),
        other.get("/campaigns/cmp-1/thresholds"),
        other.put("/campaigns/cmp-1/thresholds", {"min_ctr": 0, "min_roas": 0}),
        other.delete("/campaigns/cmp-1/thresholds"),
    ]
    assert [answer.status_code for answer in answers] == [404] * len(answers)
    assert answers[0].json() == {"detail": "campaign 'cmp-1' not found"}
    assert other.get("/campaigns").json() == {"items": [], "next_cursor": None, "has_more": False}
    assert tenant.get("/campaigns/cmp-2").json()["status"] == "active"


def test_viewers_and_anonymous_callers_cannot_write(tenant: Tenant) -> None:
    viewer, client = tenant.viewer, tenant.client
    answers = [
        client.post("/campaigns", json=NEW, headers=viewer),
        client.patch("/campaigns/cmp-1", json={"status": "paused"}, headers=viewer),
        client.delete("/campaigns/cmp-2", headers=viewer),
        client.post("/creators", json={"creator_id": "c", "creator_name": "C"}, headers=viewer),
        client.put("/campaigns/cmp-1/thresholds", json={"min_ctr": 0, "min_roas": 0}),
        client.delete("/campaigns/cmp-1/thresholds", headers=viewer),
    ]
    assert [answer.status_code for answer in answers] == [403] * len(answers)
    assert client.get("/campaigns/cmp-1").status_code == 200  # anonymous viewer reads


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"campaign_id": "c", "campaign_name": "   "}, "campaign_name"),
        ({"campaign_id": "c", "campaign_name": "x" * 201}, "campaign_name"),
        ({"campaign_id": "c", "campaign_name": "a\nb"}, "campaign_name"),
        ({"campaign_id": "c", "campaign_name": 5}, "campaign_name"),
        ({"campaign_id": "", "campaign_name": "A"}, "campaign_id"),
        ({"campaign_id": "c" * 256, "campaign_name": "A"}, "campaign_id"),
        ({"campaign_id": "a\x00b", "campaign_name": "A"}, "campaign_id"),
        ({"campaign_id": "c", "campaign_name": "A", "status": "deleted"}, "status"),
        ({"campaign_id": "c", "campaign_name": "A", "budget": 5}, "budget"),
        ({"campaign_name": "A"}, "campaign_id"),
    ],
)
def test_an_invalid_campaign_body_is_422_naming_the_field(
    tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    answer = tenant.post("/campaigns", body)
    assert answer.status_code == 422
    assert [problem["loc"] for problem in answer.json()["detail"]] == [["body", field]]


def test_a_name_of_200_characters_is_accepted(tenant: Tenant) -> None:
    answer = tenant.post("/campaigns", {"campaign_id": "c", "campaign_name": "é" * 200})
    assert answer.status_code == 201


def test_a_body_over_64_kb_is_413(tenant: Tenant) -> None:
    body = {"campaign_id": "c", "campaign_name": "x" * 70_000}
    assert tenant.post("/campaigns", body).status_code == 413
    assert tenant.get("/campaigns/c").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"min_ctr": -0.1, "min_roas": 1},
        {"min_ctr": "0.1", "min_roas": 1},
        {"min_ctr": True, "min_roas": 1},
        {"min_ctr": 0.1},
        {"min_ctr": 0.1, "min_roas": 1, "max": 2},
    ],
)
def test_invalid_thresholds_are_422(tenant: Tenant, body: dict[str, Any]) -> None:
    assert tenant.put("/campaigns/cmp-1/thresholds", body).status_code == 422


def test_thresholds_are_404_until_stored_then_round_trip_then_deleted(tenant: Tenant) -> None:
    assert tenant.get("/campaigns/cmp-1/thresholds").json() == {
        "detail": "campaign 'cmp-1' has no stored thresholds"
    }
    stored = tenant.put("/campaigns/cmp-1/thresholds", {"min_ctr": 0.03, "min_roas": 2.5})
    assert (stored.status_code, stored.json()) == (200, {"min_ctr": 0.03, "min_roas": 2.5})
    assert tenant.get("/campaigns/cmp-1/thresholds").json() == {"min_ctr": 0.03, "min_roas": 2.5}
    assert tenant.delete("/campaigns/cmp-1/thresholds").status_code == 204
    assert tenant.delete("/campaigns/cmp-1/thresholds").status_code == 404
    assert tenant.get("/campaigns/nope/thresholds").json() == {
        "detail": "campaign 'nope' not found"
    }


def test_stored_thresholds_come_before_the_fixture_file_for_anomalies(tenant: Tenant) -> None:
    from_fixture = tenant.get("/campaigns/cmp-1/anomalies").json()
    assert from_fixture["thresholds"] == {"min_ctr": 0.03, "min_roas": 1.0}
    assert [alert["metric_date"] for alert in from_fixture["alerts"]] == ["2026-01-01"]
    tenant.put("/campaigns/cmp-1/thresholds", {"min_ctr": 0.06, "min_roas": 0})
    stored = tenant.get("/campaigns/cmp-1/anomalies").json()
    assert stored["thresholds"] == {"min_ctr": 0.06, "min_roas": 0.0}
    assert [alert["metric_date"] for alert in stored["alerts"]] == ["2026-01-01", "2026-01-02"]
    tenant.delete("/campaigns/cmp-1/thresholds")
    assert tenant.get("/campaigns/cmp-1/anomalies").json() == from_fixture


def test_stored_thresholds_answer_where_no_benchmark_source_is_configured(
    make_client: ClientFactory,
) -> None:
    bare = DataDir(SMALL.campaigns, SMALL.creators, SMALL.metrics, benchmarks=None)
    tenant = new_tenant(make_client, bare)
    assert tenant.get("/campaigns/cmp-1/anomalies").status_code == 502
    tenant.put("/campaigns/cmp-1/thresholds", {"min_ctr": 0, "min_roas": 0})
    assert tenant.get("/campaigns/cmp-1/anomalies").json()["thresholds"] == {
        "min_ctr": 0.0,
        "min_roas": 0.0,
    }


def test_idempotent_retry_replays_the_first_answer_without_writing(tenant: Tenant) -> None:
    first = tenant.post("/campaigns", NEW, **{"Idempotency-Key": "retry-1"})
    tenant.patch("/campaigns/cmp-new", {"campaign_name": "Renamed since"})
    again = tenant.post("/campaigns", NEW, **{"Idempotency-Key": "retry-1"})
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["etag"] == first.headers["etag"]
    assert tenant.get("/campaigns/cmp-new").json()["campaign_name"] == "Renamed since"


def test_an_idempotency_key_with_another_body_is_422(tenant: Tenant) -> None:
    tenant.post("/campaigns", NEW, **{"Idempotency-Key": "k"})
    answer = tenant.post("/campaigns", {**NEW, "campaign_name": "Else"}, **{"Idempotency-Key": "k"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


def test_idempotency_keys_are_per_tenant(tenant: Tenant) -> None:
    other = with_keys(tenant.client, "other-" + tenant.tenant_id)
    assert tenant.post("/campaigns", NEW, **{"Idempotency-Key": "k"}).status_code == 201
    assert other.post("/campaigns", NEW, **{"Idempotency-Key": "k"}).status_code == 201


@pytest.mark.parametrize("key", ["x" * 256, "tab\there"])
def test_an_invalid_idempotency_key_is_422(tenant: Tenant, key: str) -> None:
    answer = tenant.post("/campaigns", NEW, **{"Idempotency-Key": key})
    assert answer.status_code == 422
    assert tenant.get("/campaigns/cmp-new").status_code == 404


def test_a_write_failing_between_its_statements_leaves_nothing_and_a_retry_succeeds_once(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> None:
        raise RuntimeError("injected between the insert and the recorded answer")

    monkeypatch.setattr(catalog_statements, "record_outcome", broken)
    failed = tenant.post("/campaigns", NEW, **{"Idempotency-Key": "flaky"})
    assert failed.status_code == 500
    assert tenant.get("/campaigns/cmp-new").status_code == 404
    monkeypatch.undo()
    retried = tenant.post("/campaigns", NEW, **{"Idempotency-Key": "flaky"})
    replayed = tenant.post("/campaigns", NEW, **{"Idempotency-Key": "flaky"})
    assert (retried.status_code, replayed.status_code) == (201, 201)
    assert replayed.json() == retried.json()


def test_a_request_in_flight_makes_its_key_409(tenant: Tenant) -> None:
    import asyncio

    catalog = tenant.client.app.state.catalog.for_tenant(tenant.tenant_id)  # type: ignore[attr-defined]
    from analytics.domain.editing import fingerprint

    held = fingerprint("POST", "/campaigns", {**NEW, "status": "active"})  # defaults filled
    assert asyncio.run(catalog.claim(key="busy", fingerprint=held)) is None
    answer = tenant.post("/campaigns", NEW, **{"Idempotency-Key": "busy"})
    assert (answer.status_code, answer.json()) == (
        409,
        {"detail": "a request with this Idempotency-Key is still in flight"},
    )
    assert tenant.get("/campaigns/cmp-new").status_code == 404


def test_a_load_after_api_edits_keeps_them_file_names_win_and_metrics_are_replaced(
    tenant: Tenant, tmp_path: Any
) -> None:
    tenant.post("/campaigns", {"campaign_id": "api-1", "campaign_name": "From the API"})
    tenant.post("/creators", {"creator_id": "api-c", "creator_name": "Early"})
    tenant.patch("/campaigns/cmp-1", {"campaign_name": "Renamed by API", "status": "paused"})
    tenant.put("/campaigns/cmp-1/thresholds", {"min_ctr": 0.5, "min_roas": 0.5})
    unchanged = tenant.get("/campaigns/cmp-2").json()
    renamed_before = tenant.get("/campaigns/cmp-1").json()
    newer = DataDir(
        campaigns=[("cmp-1", "File name"), ("cmp-2", "Two"), ("cmp-3", "Three")],
        creators=[("crt-1", "Ann")],
        metrics=[("2026-02-01", "cmp-3", "crt-1", 10, 1, 1, "1.00", "2.00")],
    ).write(tmp_path / "newer")
    engine = tenant.client.app.state.engine  # type: ignore[attr-defined]
    load_dataset(engine, newer, dataset_name="newer", tenant_id=tenant.tenant_id)
    assert tenant.get("/campaigns/api-1").json()["campaign_name"] == "From the API"
    assert tenant.get("/creators/api-c").status_code == 200
    cmp_1 = tenant.get("/campaigns/cmp-1").json()
    assert (cmp_1["campaign_name"], cmp_1["status"]) == ("File name", "paused")
    assert cmp_1["updated_at"] > renamed_before["updated_at"]
    assert tenant.get("/campaigns/cmp-2").json() == unchanged
    assert tenant.get("/campaigns/cmp-1/thresholds").json() == {"min_ctr": 0.5, "min_roas": 0.5}
    totals = tenant.get("/campaigns/cmp-1/performance").json()["totals"]
    assert totals["total_impressions"] == 0
    assert tenant.get("/campaigns/cmp-3/performance").json()["totals"]["total_clicks"] == 1
    assert tenant.delete("/campaigns/cmp-1").status_code == 204  # no metric rows any more
    synced = [item["campaign_id"] for page in walk(tenant, "/campaigns", 2) for item in page]
    assert sorted(synced) == ["api-1", "cmp-2", "cmp-3"]
    assert synced[-1] == "cmp-3"  # changed by the load: synced last


def test_openapi_documents_every_status_and_header_of_the_catalog(tenant: Tenant) -> None:
    paths = tenant.client.get("/openapi.json").json()["paths"]
    post = paths["/campaigns"]["post"]["responses"]
    assert {"201", "401", "403", "409", "413", "422", "503"} <= set(post)
    assert set(post["201"]["headers"]) == {"Location", "ETag"}
    item = paths["/campaigns/{campaign_id}"]
    assert set(item["get"]["responses"]["200"]["headers"]) == {"ETag"}
    assert {"404", "412", "422"} <= set(item["patch"]["responses"])
    assert {"404", "409", "412"} <= set(item["delete"]["responses"])
    headers = {p["name"] for p in paths["/campaigns"]["post"]["parameters"]}
    assert headers == {"Idempotency-Key"}
    assert {p["name"] for p in item["patch"]["parameters"]} == {"campaign_id", "If-Match"}
    assert set(paths["/campaigns/{campaign_id}/thresholds"]) == {"get", "put", "delete"}
    assert Kind.CREATORS.value == "creators"
    assert "/creators/{creator_id}" in paths
