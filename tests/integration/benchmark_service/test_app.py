"""The benchmark service over HTTP (TestClient), on SQLite and PostgreSQL storage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from analytics.benchmark_service.app import MAX_BODY_BYTES, create_app
from analytics.benchmark_service.settings import BenchmarkSettings
from tests.integration.benchmark_service.conftest import OPERATOR, OPERATOR_TOKEN, path_of

CTR_ROAS = {"min_ctr": 0.03, "min_roas": 2.5}


def put(client: TestClient, campaign_id: str, body: object, **headers: str) -> object:
    content = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.put(path_of(campaign_id), content=content, headers={**OPERATOR, **headers})


def test_health_is_200_ok_when_the_database_answers(service: TestClient) -> None:
    response = service.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})


def test_unknown_campaign_is_404_naming_it(service: TestClient) -> None:
    response = service.get("/benchmarks/cmp-404")
    assert response.status_code == 404
    assert response.json() == {"detail": "no benchmarks for campaign 'cmp-404'"}


def test_put_then_get_gives_the_thresholds_with_the_numbers_as_sent(service: TestClient) -> None:
    created = put(service, "cmp-001", '{"min_ctr": 0.042, "min_roas": 3.60}')
    assert created.status_code == 201
    response = service.get("/benchmarks/cmp-001")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == b'{"min_ctr": 0.042, "min_roas": 3.60}'


def test_second_put_replaces_and_answers_200(service: TestClient) -> None:
    assert put(service, "cmp-001", CTR_ROAS).status_code == 201
    replaced = put(service, "cmp-001", {"min_ctr": 0, "min_roas": 1})
    assert (replaced.status_code, replaced.json()) == (200, {"min_ctr": 0, "min_roas": 1})
    assert service.get("/benchmarks/cmp-001").json() == {"min_ctr": 0, "min_roas": 1}


@pytest.mark.parametrize(
    "campaign_id", ["cmp-ü", "cmp.dot", "a/b", ".", "..", "sp ace", "q?x=1#f", "x" * 255, "%2F"]
)
def test_any_text_id_round_trips_as_one_path_segment(service: TestClient, campaign_id: str) -> None:
    assert put(service, campaign_id, CTR_ROAS).status_code == 201
    assert service.get(path_of(campaign_id)).json() == CTR_ROAS
    assert service.get("/benchmarks/other").status_code == 404


def test_campaigns_are_kept_apart(service: TestClient) -> None:
    put(service, "cmp-1", {"min_ctr": 0.1, "min_roas": 1})
    put(service, "cmp-2", {"min_ctr": 0.2, "min_roas": 2})
    assert service.get("/benchmarks/cmp-1").json() == {"min_ctr": 0.1, "min_roas": 1}
    assert service.get("/benchmarks/cmp-2").json() == {"min_ctr": 0.2, "min_roas": 2}


def test_delete_removes_the_thresholds_then_is_404(service: TestClient) -> None:
    put(service, "cmp-001", CTR_ROAS)
    put(service, "cmp-002", CTR_ROAS)
    deleted = service.delete("/benchmarks/cmp-001", headers=OPERATOR)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert service.get("/benchmarks/cmp-001").status_code == 404
    assert service.get("/benchmarks/cmp-002").json() == CTR_ROAS
    again = service.delete("/benchmarks/cmp-001", headers=OPERATOR)
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"min_ctr": 0.03}, "missing field(s): 'min_roas'"),
        ({**CTR_ROAS, "extra": 1}, "unknown field(s): 'extra'"),
        ({"min_ctr": -1, "min_roas": 2}, "'min_ctr' must not be negative"),
        ({"min_ctr": "0.03", "min_roas": 2}, "'min_ctr' must be a finite number"),
        ('{"min_ctr": NaN, "min_roas": 2}', "NaN is not a finite number"),
        ('{"min_ctr": 1, "min_roas": Infinity}', "Infinity is not a finite number"),
        ("not json", "body is not valid JSON"),
        ("", "body is not valid JSON"),
        (b'{"min_ctr": "\xff"}', "body is not UTF-8 text"),
    ],
)
def test_invalid_body_is_422_naming_the_problem_and_stores_nothing(
    service: TestClient, body: object, detail: str
) -> None:
    response = put(service, "cmp-001", body)
    assert response.status_code == 422
    assert detail in response.json()["detail"]
    assert service.get("/benchmarks/cmp-001").status_code == 404


def test_invalid_body_keeps_the_stored_thresholds(service: TestClient) -> None:
    put(service, "cmp-001", CTR_ROAS)
    assert put(service, "cmp-001", {"min_ctr": -1, "min_roas": 1}).status_code == 422
    assert service.get("/benchmarks/cmp-001").json() == CTR_ROAS


def test_body_over_the_limit_is_413(service: TestClient) -> None:
    padding = " " * MAX_BODY_BYTES
    response = put(service, "cmp-001", f'{{"min_ctr": 0.1, "min_roas": 1}}{padding}')
    assert response.status_code == 413
    assert service.get("/benchmarks/cmp-001").status_code == 404


def test_body_streamed_past_the_limit_without_a_length_is_413(service: TestClient) -> None:
    chunks = (b" " * 1024 for _ in range(MAX_BODY_BYTES // 1024 + 2))
    response = service.put("/benchmarks/cmp-001", content=chunks, headers=OPERATOR)
    assert response.status_code == 413


@pytest.mark.parametrize("campaign_id", ["x" * 256, "a\x00b"])
def test_put_of_an_id_that_can_never_be_stored_is_422(
    service: TestClient, campaign_id: str
) -> None:
    response = put(service, campaign_id, CTR_ROAS)
    assert response.status_code == 422
    assert "campaign id" in response.json()["detail"]


@pytest.mark.parametrize("campaign_id", ["x" * 256, "a\x00b"])
def test_get_and_delete_of_an_id_that_can_never_be_stored_are_404(
    service: TestClient, campaign_id: str
) -> None:
    assert service.get(path_of(campaign_id)).status_code == 404
    assert service.delete(path_of(campaign_id), headers=OPERATOR).status_code == 404


def test_empty_id_is_404(service: TestClient) -> None:
    assert service.get("/benchmarks/").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token-000000", f"Basic {OPERATOR_TOKEN}", OPERATOR_TOKEN],
)
def test_writes_without_the_operator_token_are_401_and_change_nothing(
    service: TestClient, authorization: str | None
) -> None:
    put(service, "cmp-001", CTR_ROAS)
    headers = {} if authorization is None else {"Authorization": authorization}
    for method in ("PUT", "DELETE"):
        response = service.request(
            method, "/benchmarks/cmp-001", content=json.dumps({"min_ctr": 1, "min_roas": 1}),
            headers=headers,
        )  # fmt: skip
        assert response.status_code == 401
        assert response.json() == {"detail": "operator token required"}
        assert response.headers["www-authenticate"] == "Bearer"
    assert service.get("/benchmarks/cmp-001").json() == CTR_ROAS


def test_scheme_is_case_insensitive(service: TestClient) -> None:
    response = put(service, "cmp-001", CTR_ROAS, Authorization=f"bearer {OPERATOR_TOKEN}")
    assert response.status_code == 201


def test_writes_are_refused_403_when_no_operator_token_is_configured(benchmarks_url: str) -> None:
    settings = BenchmarkSettings(database_url=benchmarks_url)
    with TestClient(create_app(settings)) as client:
        response = put(client, "cmp-001", CTR_ROAS)
        assert response.status_code == 403
        assert "no operator token is configured" in response.json()["detail"]
        assert client.delete("/benchmarks/cmp-001", headers=OPERATOR).status_code == 403
        assert client.get("/benchmarks/cmp-001").status_code == 404


def test_other_methods_are_405(service: TestClient) -> None:
    assert service.post("/benchmarks/cmp-001", json=CTR_ROAS, headers=OPERATOR).status_code == 405


def test_storage_that_cannot_be_opened_gives_503_and_degraded_health(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'benchmarks.db'}"
    settings = BenchmarkSettings(database_url=url, operator_token=OPERATOR_TOKEN)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        health = client.get("/health")
        assert (health.status_code, health.json()) == (
            503,
            {"status": "degraded", "database": "error"},
        )
        for response in (client.get("/benchmarks/cmp-001"), put(client, "cmp-001", CTR_ROAS)):
            assert response.status_code == 503
            assert response.json() == {"detail": "benchmark storage is unavailable"}
            assert "missing-dir" not in response.text


def test_unmigrated_storage_gives_503_not_500(tmp_path: Path) -> None:
    settings = BenchmarkSettings(database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/health").status_code == 503
        response = client.get("/benchmarks/cmp-001")
        assert (response.status_code, response.json()["detail"]) == (
            503,
            "benchmark storage is unavailable",
        )
