"""Hostile and unusual requests: NUL and newline ids, over-long ids, sloppy integers, HEAD,
CORS and the OpenAPI document. Every answer is deliberate, identical on both engines."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from analytics.domain.identifiers import MAX_ID_LENGTH
from tests.conftest import ClientFactory
from tests.support import DataDir

NEWLINE_ID = "cmp-\nnl"
SLASH_ID = "cmp/with/slashes"
LONGEST_ID = "c" * MAX_ID_LENGTH
THRESHOLDS = {"min_ctr": 0.03, "min_roas": 2.5}


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    ids = ("cmp-1", NEWLINE_ID, SLASH_ID, LONGEST_ID)
    return make_client(
        DataDir(
            campaigns=[(campaign_id, f"Name {index}") for index, campaign_id in enumerate(ids)],
            creators=[("crt-1", "Avery")],
            metrics=[
                ("2026-01-01", campaign_id, "crt-1", 100, 2, 1, "10.00", "5") for campaign_id in ids
            ],
            benchmarks={campaign_id: THRESHOLDS for campaign_id in ids},
        )
    )


def campaign_paths(campaign_id: str) -> list[str]:
    segment = quote(campaign_id, safe="")
    return [
        f"/campaigns/{segment}/performance",
        f"/campaigns/{segment}/anomalies",
        f"/creators/top?campaign_id={segment}",
    ]


@pytest.mark.parametrize("campaign_id", ["cmp-1\x00", "\x00", "cmp-\x00-1"])
def test_an_id_with_a_nul_byte_is_not_found_without_an_error_log(
    client: TestClient, caplog: pytest.LogCaptureFixture, campaign_id: str
) -> None:
    with caplog.at_level(logging.WARNING):
        for path in campaign_paths(campaign_id):
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.json() == {"detail": f"campaign '{campaign_id}' not found"}
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []
    assert client.get("/health").json()["database"] == "ok"


@pytest.mark.parametrize("campaign_id", [NEWLINE_ID, SLASH_ID, LONGEST_ID])
def test_every_loaded_id_is_reachable_on_every_route(client: TestClient, campaign_id: str) -> None:
    for path in campaign_paths(campaign_id):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.json()["campaign_id"] == campaign_id


@pytest.mark.parametrize("path_of", [0, 1, 2])
def test_an_id_longer_than_the_bound_is_422_with_a_bounded_echo(
    client: TestClient, path_of: int
) -> None:
    response = client.get(campaign_paths("x" * 10_000)[path_of])
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"][-1] == "campaign_id"
    assert problem["type"] == "string_too_long"
    assert len(problem["input"]) <= 65
    assert len(response.content) < 500


@pytest.mark.parametrize("limit", ["1.0", "1_000", "+5", " 1", "1 ", "0x10", "1e2", "٣"])
def test_limit_accepts_plain_digits_only(client: TestClient, limit: str) -> None:
    response = client.get("/creators/top", params={"campaign_id": "cmp-1", "limit": limit})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]


def test_a_huge_limit_is_422_and_never_echoed_whole(client: TestClient) -> None:
    response = client.get("/creators/top", params={"campaign_id": "cmp-1", "limit": "9" * 65_000})
    assert response.status_code == 422
    assert len(response.content) < 500


@pytest.mark.parametrize("limit", ["1", "01", "1000"])
def test_limit_in_plain_digits_is_accepted(client: TestClient, limit: str) -> None:
    response = client.get("/creators/top", params={"campaign_id": "cmp-1", "limit": limit})
    assert response.status_code == 200
    assert response.json()["limit"] == int(limit)


@pytest.mark.parametrize(
    "path", ["/health", "/creators/top?campaign_id=cmp-1", "/openapi.json", "/docs"]
)
def test_head_is_the_get_without_its_body(client: TestClient, path: str) -> None:
    get, head = client.get(path), client.head(path)
    assert (head.status_code, head.content) == (get.status_code, b"")
    assert head.headers["content-length"] == str(len(get.content))


def test_head_on_an_invalid_request_is_the_get_status(client: TestClient) -> None:
    assert client.head("/creators/top").status_code == 422


def test_docs_pages_load_every_asset_from_the_service(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert "http://" not in html
        assert "https://" not in html
        assets = [part.split('"')[1] for part in html.split("src=")[1:]]
        assert assets
        for asset in assets:
            assert client.get(asset).status_code == 200, asset


def test_openapi_documents_examples_errors_and_readable_operation_ids(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operations = {
        path: operation["get"]
        for path, operation in document["paths"].items()
        if path == "/health" or "campaign" in path or path.startswith("/creators")
        if "get" in operation and "catalog" not in operation["get"]["tags"]
    }
    assert {op["operationId"] for op in operations.values()} == {
        "get_health",
        "get_campaign_performance",
        "get_top_creators",
        "get_anomalies",
    }
    for path, operation in operations.items():
        if path == "/health":
            continue
        assert {"404", "422", "503"} <= set(operation["responses"]), path
        (campaign_id,) = [p for p in operation["parameters"] if p["name"] == "campaign_id"]
        assert campaign_id["examples"]["sample"]["value"] == "cmp-001"
        assert campaign_id["schema"]["maxLength"] == MAX_ID_LENGTH
    assert "502" in operations["/campaigns/{campaign_id}/anomalies"]["responses"]
    health = document["components"]["schemas"]["HealthOut"]["properties"]
    assert health["status"]["enum"] == ["ok", "degraded"]
    assert health["database"]["enum"] == ["ok", "error"]
    assert health["benchmark_service"]["enum"] == ["ok", "fixture", "error"]


def test_cors_preflight_is_answered_for_a_configured_origin(make_client: ClientFactory) -> None:
    client = make_client(DataDir(), cors_origins=("https://app.example.com",))
    preflight = client.options(
        "/health",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    simple = client.get("/health", headers={"Origin": "https://app.example.com"})
    assert simple.headers["access-control-allow-origin"] == "https://app.example.com"
    other = client.get("/health", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers


def test_without_cors_origins_no_cors_headers_are_sent(client: TestClient) -> None:
    response = client.get("/health", headers={"Origin": "https://app.example.com"})
    assert "access-control-allow-origin" not in response.headers
