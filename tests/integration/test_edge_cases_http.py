"""The HTTP answers on edge-case data directories (CONTRACT.md §4), compared as exact JSON.

`assert_json` compares types as well as values: a count must be a JSON integer and money or
a rate a JSON float (`0` and `0.0` are different answers).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ClientFactory
from tests.support import DataDir

THRESHOLDS = {"min_ctr": 0.03, "min_roas": 2.5}
ZERO_TOTALS = {
    "total_impressions": 0,
    "total_clicks": 0,
    "total_conversions": 0,
    "total_spend": 0.0,
    "total_revenue": 0.0,
    "ctr": 0.0,
    "cvr": 0.0,
    "roas": 0.0,
}


def typed(value: Any) -> Any:
    """`value` with every scalar tagged by its type, so that 1 != 1.0 and True != 1."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


def assert_json(response: Any, expected: Any) -> None:
    assert response.status_code == 200, response.text
    assert typed(response.json()) == typed(expected)


def single_campaign(
    metrics: list[tuple[object, ...]],
    creators: tuple[str, ...] = ("crt-1", "crt-2"),
    thresholds: dict[str, object] | None = None,
) -> DataDir:
    """Campaign `cmp-1` (and `cmp-other`) with these metric rows; thresholds for both."""
    return DataDir(
        campaigns=[("cmp-1", "One"), ("cmp-other", "Other")],
        creators=[(creator, f"Name of {creator}") for creator in creators],
        metrics=metrics,
        benchmarks={
            "cmp-1": thresholds or THRESHOLDS,
            "cmp-other": THRESHOLDS,
        },
    )


def performance(client: TestClient, campaign_id: str = "cmp-1") -> Any:
    return client.get(f"/campaigns/{campaign_id}/performance")


def anomalies(client: TestClient, campaign_id: str = "cmp-1") -> Any:
    return client.get(f"/campaigns/{campaign_id}/anomalies")


def top(client: TestClient, campaign_id: str = "cmp-1", **params: object) -> Any:
    return client.get("/creators/top", params={"campaign_id": campaign_id, **params})


# --- ranking -------------------------------------------------------------------------------

# Five creators tied on conversions and clicks, in code point order: B < a < ü < U+FF5E < U+1F600.
TIED_IDS = ("crt-B", "crt-a", "crt-ü", "crt-\uff5e", "crt-\U0001f600")


@pytest.fixture
def ranking_client(make_client: ClientFactory) -> TestClient:
    rows: list[tuple[object, ...]] = [
        ("2026-01-01", "cmp-1", "crt-top", 200, 10, 3, "20.00", "1.00"),
        ("2026-01-02", "cmp-1", "crt-top", 200, 10, 2, "20.00", None),
        ("2026-01-01", "cmp-1", "crt-clicks", 800, 40, 3, "8.00", None),
        ("2026-01-01", "cmp-1", "crt-9", 1000, 30, 3, "9.99", None),
        ("2026-01-01", "cmp-1", "crt-10", 300, 10, 1, "5.00", None),
        ("2026-01-03", "cmp-1", "crt-10", 300, 20, 2, "5.01", None),
        # Another campaign's rows never count: crt-9 would lead with them.
        ("2026-01-01", "cmp-other", "crt-9", 5000, 500, 100, "1.00", None),
    ]
    rows += [("2026-01-01", "cmp-1", creator, 100, 10, 1, "1.00", None) for creator in TIED_IDS]
    creators = ("crt-top", "crt-clicks", "crt-9", "crt-10", *TIED_IDS)
    return make_client(single_campaign(rows, creators=creators))


def creator(creator_id: str, counts: tuple[int, int, int], spend: float, ctr: float) -> dict:
    impressions, clicks, conversions = counts
    return {
        "campaign_id": "cmp-1",
        "creator_id": creator_id,
        "creator_name": f"Name of {creator_id}",
        "total_impressions": impressions,
        "total_clicks": clicks,
        "total_conversions": conversions,
        "total_spend": spend,
        "ctr": ctr,
    }


RANKED = [
    creator("crt-top", (400, 20, 5), 40.0, 0.05),
    creator("crt-clicks", (800, 40, 3), 8.0, 0.05),
    creator("crt-10", (600, 30, 3), 10.01, 0.05),
    creator("crt-9", (1000, 30, 3), 9.99, 0.03),
    *(creator(creator_id, (100, 10, 1), 1.0, 0.1) for creator_id in TIED_IDS),
]


def test_ranking_breaks_ties_by_clicks_then_creator_id_as_plain_string(
    ranking_client: TestClient,
) -> None:
    assert_json(
        top(ranking_client, limit=1000), {"campaign_id": "cmp-1", "limit": 1000, "creators": RANKED}
    )


def test_limit_cuts_the_ranking_inside_a_tie(ranking_client: TestClient) -> None:
    assert_json(
        top(ranking_client, limit=3), {"campaign_id": "cmp-1", "limit": 3, "creators": RANKED[:3]}
    )


def test_default_limit_with_fewer_creators_returns_them_all(ranking_client: TestClient) -> None:
    body = top(ranking_client).json()
    assert body["limit"] == 10
    assert [c["creator_id"] for c in body["creators"]] == [c["creator_id"] for c in RANKED]


def test_creator_ranking_sums_every_row_and_zero_impressions_give_ctr_zero(
    make_client: ClientFactory,
) -> None:
    client = make_client(
        single_campaign(
            [
                ("2026-01-01", "cmp-1", "crt-1", 0, 0, 0, "0.10", None),
                ("2026-01-01", "cmp-1", "crt-1", 0, 0, 0, "0.20", None),
                ("2026-01-01", "cmp-1", "crt-2", 0, 3, 1, "0.00", "5.00"),
            ]
        )
    )
    assert_json(
        top(client),
        {
            "campaign_id": "cmp-1",
            "limit": 10,
            "creators": [
                creator("crt-2", (0, 3, 1), 0.0, 0.0),
                creator("crt-1", (0, 0, 0), 0.3, 0.0),
            ],
        },
    )


# --- performance ---------------------------------------------------------------------------


def test_zero_denominators_give_zero_rates(make_client: ClientFactory) -> None:
    client = make_client(
        single_campaign(
            [
                ("2026-01-01", "cmp-1", "crt-1", 0, 0, 0, "0.00", None),
                ("2026-01-01", "cmp-other", "crt-1", 500, 0, 0, "0.00", "25.00"),
            ]
        )
    )
    assert_json(
        performance(client),
        {"campaign_id": "cmp-1", "campaign_name": "One", "totals": ZERO_TOTALS},
    )
    assert_json(
        performance(client, "cmp-other"),
        {
            "campaign_id": "cmp-other",
            "campaign_name": "Other",
            "totals": {**ZERO_TOTALS, "total_impressions": 500, "total_revenue": 25.0},
        },
    )


def test_unknown_revenue_counts_as_zero_and_rows_sharing_a_key_are_all_summed(
    make_client: ClientFactory,
) -> None:
    row = ("2026-01-01", "cmp-1", "crt-1", 100, 5, 1, "12.50")
    client = make_client(single_campaign([(*row, None), (*row, "12.50"), (*row, None)]))
    assert_json(
        performance(client),
        {
            "campaign_id": "cmp-1",
            "campaign_name": "One",
            "totals": {
                "total_impressions": 300,
                "total_clicks": 15,
                "total_conversions": 3,
                "total_spend": 37.5,
                "total_revenue": 12.5,
                "ctr": 0.05,
                "cvr": 0.2,
                "roas": 0.3333,
            },
        },
    )


@pytest.mark.parametrize(
    ("counts", "money", "rates"),
    [
        # 0.00015 -> 0.0002 (binary floating point would give 0.0001); 1.00005 -> 1.0001.
        ((20000, 3, 1), ("200.00", "200.01"), (0.0002, 0.3333, 1.0001)),
        ((20000, 1, 1), ("8.00", "1.00"), (0.0001, 1.0, 0.125)),
        ((8, 1, 0), ("3.00", "2.00"), (0.125, 0.0, 0.6667)),
        ((20000, 2469, 1), ("3.00", "1.00"), (0.1235, 0.0004, 0.3333)),
        ((100_000_000, 4999, 3), ("1.00", "0.00"), (0.0, 0.0006, 0.0)),
        # Totals beyond 2**53: exact arithmetic, not double precision division.
        (
            (3693764448278, 2143591804556, 1),
            ("8037473243.00", "43562688075.15"),
            (0.5803, 0.0, 5.4199),
        ),
    ],
)
def test_rates_are_rounded_half_away_from_zero_at_four_places(
    make_client: ClientFactory,
    counts: tuple[int, int, int],
    money: tuple[str, str],
    rates: tuple[float, float, float],
) -> None:
    client = make_client(single_campaign([("2026-01-01", "cmp-1", "crt-1", *counts, *money)]))
    totals = performance(client).json()["totals"]
    assert typed([totals["ctr"], totals["cvr"], totals["roas"]]) == typed(list(rates))


def test_money_is_summed_exactly(make_client: ClientFactory) -> None:
    rows = [("2026-01-01", "cmp-1", "crt-1", 1, 1, 1, "0.10", "0.10") for _ in range(10)]
    rows += [
        ("2026-01-02", "cmp-other", "crt-1", 1, 1, 1, "0.10", "0.20"),
        ("2026-01-02", "cmp-other", "crt-2", 1, 1, 1, "0.20", "0.10"),
    ]
    client = make_client(single_campaign(rows))
    totals = performance(client).json()["totals"]
    assert typed([totals["total_spend"], totals["total_revenue"], totals["roas"]]) == typed(
        [1.0, 1.0, 1.0]
    )
    other = performance(client, "cmp-other").json()["totals"]
    assert typed([other["total_spend"], other["total_revenue"]]) == typed([0.3, 0.3])
    assert typed(top(client).json()["creators"][0]["total_spend"]) == typed(1.0)


def test_large_counts_are_summed_without_overflow(make_client: ClientFactory) -> None:
    big = 2**63 - 1
    row = ("2026-01-01", "cmp-1", "crt-1", big, 2**62, big, "1.00", "1.00")
    client = make_client(single_campaign([row, row]))
    expected_totals = {
        "total_impressions": 2 * big,
        "total_clicks": 2**63,
        "total_conversions": 2 * big,
        "total_spend": 2.0,
        "total_revenue": 2.0,
        "ctr": 0.5,
        "cvr": 2.0,
        "roas": 1.0,
    }
    assert_json(
        performance(client),
        {"campaign_id": "cmp-1", "campaign_name": "One", "totals": expected_totals},
    )
    assert_json(
        top(client),
        {
            "campaign_id": "cmp-1",
            "limit": 10,
            "creators": [creator("crt-1", (2 * big, 2**63, 2 * big), 2.0, 0.5)],
        },
    )
    assert_json(
        anomalies(client),
        {
            "campaign_id": "cmp-1",
            "thresholds": THRESHOLDS,
            "alerts": [alert("2026-01-01", [ROAS], 0.5, 1.0)],
        },
    )


def test_campaign_without_metrics_answers_zeros_and_empty_lists(
    make_client: ClientFactory,
) -> None:
    client = make_client(single_campaign([("2026-01-01", "cmp-other", "crt-1", 1, 1, 1, "1", "")]))
    assert_json(
        performance(client), {"campaign_id": "cmp-1", "campaign_name": "One", "totals": ZERO_TOTALS}
    )
    assert_json(top(client), {"campaign_id": "cmp-1", "limit": 10, "creators": []})
    assert_json(anomalies(client), {"campaign_id": "cmp-1", "thresholds": THRESHOLDS, "alerts": []})


# --- anomalies -----------------------------------------------------------------------------


def alert(metric_date: str, issues: list[str], ctr: float, roas: float) -> dict:
    return {"metric_date": metric_date, "issues": issues, "ctr": ctr, "roas": roas}


CTR = "ctr_below_threshold"
ROAS = "roas_below_threshold"
SPEND = "spend_without_conversions"


def test_anomalies_compare_unrounded_daily_rollups_and_list_days_oldest_first(
    make_client: ClientFactory,
) -> None:
    rows: list[tuple[object, ...]] = [
        # All three issues; unknown revenue is 0.
        ("2026-01-05", "cmp-1", "crt-1", 1000, 10, 0, "100.00", None),
        # Exactly at both thresholds (3/100 = 0.03, 250/100 = 2.5): not below.
        ("2026-01-02", "cmp-1", "crt-1", 100, 3, 1, "100.00", "250.00"),
        # No impressions: no CTR comparison.
        ("2026-01-04", "cmp-1", "crt-1", 0, 0, 1, "10.00", "100.00"),
        # No impressions, spend without conversions: CTR reported 0.0 but not compared.
        ("2026-01-03", "cmp-1", "crt-1", 0, 0, 0, "10.00", "30.00"),
        # No spend: no ROAS comparison, and no spend without conversions.
        ("2026-01-01", "cmp-1", "crt-1", 100, 5, 0, "0.00", "50.00"),
        # crt-1 alone breaks all three rules, the day's total breaks none.
        ("2026-01-06", "cmp-1", "crt-1", 100, 2, 0, "50.00", "100.00"),
        ("2026-01-06", "cmp-1", "crt-2", 100, 4, 2, "50.00", "150.00"),
        # crt-1 alone breaks no rule, the day's total breaks two.
        ("2026-01-07", "cmp-1", "crt-1", 100, 4, 1, "10.00", "30.00"),
        ("2026-01-07", "cmp-1", "crt-2", 1000, 20, 1, "100.00", "200.00"),
        # Unknown revenue on one creator's row: the day's ROAS is 200 / 100.
        ("2026-01-08", "cmp-1", "crt-1", 100, 5, 1, "40.00", None),
        ("2026-01-08", "cmp-1", "crt-2", 100, 5, 0, "60.00", "200.00"),
        # Below the threshold, though rounded to it: 0.02999 -> 0.03, 2.49995 -> 2.5.
        ("2026-01-09", "cmp-1", "crt-1", 200, 10, 1, "200.00", "499.99"),
        ("2025-12-31", "cmp-1", "crt-1", 100000, 2999, 5, "10.00", "100.00"),
    ]
    assert_json(
        anomalies(make_client(single_campaign(rows))),
        {
            "campaign_id": "cmp-1",
            "thresholds": THRESHOLDS,
            "alerts": [
                alert("2025-12-31", [CTR], 0.03, 10.0),
                alert("2026-01-03", [SPEND], 0.0, 3.0),
                alert("2026-01-05", [CTR, ROAS, SPEND], 0.01, 0.0),
                alert("2026-01-07", [CTR, ROAS], 0.0218, 2.0909),
                alert("2026-01-08", [ROAS], 0.05, 2.0),
                alert("2026-01-09", [ROAS], 0.05, 2.5),
            ],
        },
    )


def test_rows_sharing_a_date_campaign_and_creator_are_summed_before_comparison(
    make_client: ClientFactory,
) -> None:
    # Either row alone is an anomaly (CTR 0.01; ROAS 0 and no conversions); together none.
    client = make_client(
        single_campaign(
            [
                ("2026-01-01", "cmp-1", "crt-1", 100, 1, 1, "1.00", "5.00"),
                ("2026-01-01", "cmp-1", "crt-1", 100, 5, 0, "1.00", "0.00"),
            ]
        )
    )
    assert_json(anomalies(client), {"campaign_id": "cmp-1", "thresholds": THRESHOLDS, "alerts": []})


def test_thresholds_are_compared_exactly_as_written(make_client: ClientFactory) -> None:
    # 0.07 and 1.1 are not exact binary fractions; 7/100 and 110/100 are equal, not below.
    thresholds = {"min_ctr": 0.07, "min_roas": 1.1}
    client = make_client(
        single_campaign(
            [("2026-01-01", "cmp-1", "crt-1", 100, 7, 1, "100.00", "110.00")], thresholds=thresholds
        )
    )
    assert_json(anomalies(client), {"campaign_id": "cmp-1", "thresholds": thresholds, "alerts": []})


def test_campaign_with_metrics_and_no_violations_has_no_alerts(make_client: ClientFactory) -> None:
    client = make_client(
        single_campaign(
            [
                ("2026-01-01", "cmp-1", "crt-1", 100, 10, 1, "10.00", "100.00"),
                ("2026-01-02", "cmp-1", "crt-2", 0, 0, 0, "0.00", None),
            ]
        )
    )
    assert_json(anomalies(client), {"campaign_id": "cmp-1", "thresholds": THRESHOLDS, "alerts": []})


# --- ids in URLs ---------------------------------------------------------------------------

URL_IDS = {
    "cmp-%C3%BC": "cmp-ü",
    "cmp.dot": "cmp.dot",
    "cmp/slash": "cmp/slash",
    "cmp%2Fslash": "cmp/slash",
    "cmp%20100%25": "cmp 100%",
}


@pytest.fixture
def odd_ids_client(make_client: ClientFactory) -> TestClient:
    ids = sorted(set(URL_IDS.values()))
    return make_client(
        DataDir(
            campaigns=[(campaign_id, f"Campaign {campaign_id}") for campaign_id in ids],
            creators=[("crt-ü", "Zoë 李")],
            metrics=[
                ("2026-01-01", campaign_id, "crt-ü", 100, 1, 0, "10.00", None)
                for campaign_id in ids
            ],
            benchmarks={campaign_id: THRESHOLDS for campaign_id in ids},
        )
    )


@pytest.mark.parametrize(("in_url", "campaign_id"), URL_IDS.items())
def test_odd_ids_in_the_url_path_reach_their_campaign(
    odd_ids_client: TestClient, in_url: str, campaign_id: str
) -> None:
    totals = {
        **ZERO_TOTALS,
        "total_impressions": 100,
        "total_clicks": 1,
        "total_spend": 10.0,
        "ctr": 0.01,
    }
    assert_json(
        odd_ids_client.get(f"/campaigns/{in_url}/performance"),
        {"campaign_id": campaign_id, "campaign_name": f"Campaign {campaign_id}", "totals": totals},
    )
    assert_json(
        odd_ids_client.get(f"/campaigns/{in_url}/anomalies"),
        {
            "campaign_id": campaign_id,
            "thresholds": THRESHOLDS,
            "alerts": [alert("2026-01-01", [CTR, ROAS, SPEND], 0.01, 0.0)],
        },
    )


def test_odd_ids_in_the_query_string_reach_their_campaign(odd_ids_client: TestClient) -> None:
    body = top(odd_ids_client, "cmp 100%").json()
    assert body["campaign_id"] == "cmp 100%"
    assert [(c["creator_id"], c["creator_name"]) for c in body["creators"]] == [("crt-ü", "Zoë 李")]


@pytest.mark.parametrize("endpoint", ["performance", "anomalies"])
def test_unknown_non_ascii_id_is_404_naming_it(odd_ids_client: TestClient, endpoint: str) -> None:
    response = odd_ids_client.get(f"/campaigns/cmp-%C3%B6/{endpoint}")
    assert response.status_code == 404
    assert response.json() == {"detail": "campaign 'cmp-ö' not found"}


# --- the shape of every answer -------------------------------------------------------------


def test_each_endpoint_returns_exactly_the_contract_keys(make_client: ClientFactory) -> None:
    client = make_client(
        single_campaign([("2026-01-01", "cmp-1", "crt-1", 100, 1, 0, "10.00", None)])
    )
    body = performance(client).json()
    assert set(body) == {"campaign_id", "campaign_name", "totals"}
    assert set(body["totals"]) == set(ZERO_TOTALS)
    body = top(client).json()
    assert set(body) == {"campaign_id", "limit", "creators"}
    assert set(body["creators"][0]) == {
        "campaign_id",
        "creator_id",
        "creator_name",
        "total_impressions",
        "total_clicks",
        "total_conversions",
        "total_spend",
        "ctr",
    }
    body = anomalies(client).json()
    assert set(body) == {"campaign_id", "thresholds", "alerts"}
    assert set(body["thresholds"]) == {"min_ctr", "min_roas"}
    assert set(body["alerts"][0]) == {"metric_date", "issues", "ctr", "roas"}
