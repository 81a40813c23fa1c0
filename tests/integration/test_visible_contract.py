"""data/visible/ answers exactly the payloads of CONTRACT.md §4-5."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ClientFactory
from tests.support import VISIBLE_DATA


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client(VISIBLE_DATA, benchmark_fixtures_file=VISIBLE_DATA / "benchmarks.json")


def test_health_reports_fixture_source_and_dataset_name(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "benchmark_service": "fixture",
        "dataset": "visible",
    }


def test_performance_of_cmp_001_matches_the_contract_example(client: TestClient) -> None:
    response = client.get("/campaigns/cmp-001/performance")
    assert response.status_code == 200
    assert response.json() == {
        "campaign_id": "cmp-001",
        "campaign_name": "Spring Launch",
        "totals": {
            "total_impressions": 5000,
            "total_clicks": 212,
            "total_conversions": 21,
            "total_spend": 890.0,
            "total_revenue": 3230.0,
            "ctr": 0.0424,
            "cvr": 0.0991,
            "roas": 3.6292,
        },
    }


def test_money_and_rates_are_json_numbers_not_strings(client: TestClient) -> None:
    body = client.get("/campaigns/cmp-001/performance").text
    assert '"total_spend":890.0' in body
    assert '"roas":3.6292' in body


def test_top_creators_of_cmp_001_match_the_contract_example(client: TestClient) -> None:
    response = client.get("/creators/top", params={"campaign_id": "cmp-001", "limit": 2})
    assert response.status_code == 200
    assert response.json() == {
        "campaign_id": "cmp-001",
        "limit": 2,
        "creators": [
            {
                "campaign_id": "cmp-001",
                "creator_id": "crt-001",
                "creator_name": "Avery",
                "total_impressions": 2200,
                "total_clicks": 110,
                "total_conversions": 12,
                "total_spend": 420.0,
                "ctr": 0.05,
            },
            {
                "campaign_id": "cmp-001",
                "creator_id": "crt-002",
                "creator_name": "Blake",
                "total_impressions": 2000,
                "total_clicks": 70,
                "total_conversions": 6,
                "total_spend": 350.0,
                "ctr": 0.035,
            },
        ],
    }


def test_anomalies_of_cmp_002_match_the_contract_example(client: TestClient) -> None:
    response = client.get("/campaigns/cmp-002/anomalies")
    assert response.status_code == 200
    assert response.json() == {
        "campaign_id": "cmp-002",
        "thresholds": {"min_ctr": 0.03, "min_roas": 2.5},
        "alerts": [
            {
                "metric_date": "2026-01-03",
                "issues": ["ctr_below_threshold", "roas_below_threshold"],
                "ctr": 0.0263,
                "roas": 2.2059,
            }
        ],
    }


def test_cmp_003_has_no_alerts(client: TestClient) -> None:
    assert client.get("/campaigns/cmp-003/anomalies").json()["alerts"] == []


def test_cmp_004_tie_is_broken_by_creator_id(client: TestClient) -> None:
    response = client.get("/creators/top", params={"campaign_id": "cmp-004", "limit": 2})
    assert [c["creator_id"] for c in response.json()["creators"]] == ["crt-003", "crt-004"]


def test_cmp_005_has_exactly_one_alert(client: TestClient) -> None:
    assert client.get("/campaigns/cmp-005/anomalies").json() == {
        "campaign_id": "cmp-005",
        "thresholds": {"min_ctr": 0.03, "min_roas": 1.0},
        "alerts": [
            {
                "metric_date": "2026-01-06",
                "issues": ["roas_below_threshold", "spend_without_conversions"],
                "ctr": 0.05,
                "roas": 0.0,
            }
        ],
    }


def test_default_limit_is_ten(client: TestClient) -> None:
    body = client.get("/creators/top", params={"campaign_id": "cmp-004"}).json()
    assert body["limit"] == 10
    assert [c["creator_id"] for c in body["creators"]] == [
        "crt-003",
        "crt-004",
        "crt-010",
        "crt-001",
        "crt-005",
    ]


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "abc", "2.5", "", "true"])
def test_invalid_limit_is_422(client: TestClient, limit: str) -> None:
    response = client.get("/creators/top", params={"campaign_id": "cmp-001", "limit": limit})
    assert response.status_code == 422


def test_missing_campaign_id_on_top_creators_is_422(client: TestClient) -> None:
    assert client.get("/creators/top").status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/campaigns/cmp-999/performance",
        "/campaigns/cmp-999/anomalies",
        "/creators/top?campaign_id=cmp-999",
    ],
)
def test_unknown_campaign_is_404_on_every_campaign_endpoint(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "campaign 'cmp-999' not found"}


def test_campaign_without_metrics_has_zero_totals(client: TestClient) -> None:
    body = client.get("/campaigns/cmp-006/performance").json()
    assert body["campaign_name"] == 'Été "Preview"'
    assert body["totals"] == {
        "total_impressions": 0,
        "total_clicks": 0,
        "total_conversions": 0,
        "total_spend": 0.0,
        "total_revenue": 0.0,
        "ctr": 0.0,
        "cvr": 0.0,
        "roas": 0.0,
    }
