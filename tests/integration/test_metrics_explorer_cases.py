"""`GET /metrics` edge cases on each engine: calendar buckets, empty answers, `unknown`
breakdowns, pagination, and a 422 naming the parameter for every invalid one."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.conftest import ClientFactory
from tests.explorer_reference import Dataset, answer
from tests.support import VISIBLE_DATA


def _row(day: str, **values: str) -> dict[str, str]:
    row = {
        "metric_date": day,
        "campaign_id": "cmp-1",
        "creator_id": "crt-1",
        "impressions": "1000",
        "clicks": "30",
        "conversions": "3",
        "spend": "12.34",
        "revenue": "",
        "likes": "5",
    }
    return row | values


CALENDAR = [
    _row("2020-12-27"),  # Sunday of ISO week 52 of 2020
    _row("2020-12-28", platform="ios"),  # Monday of ISO week 53 of 2020
    _row("2021-01-03", platform="ios", revenue="7.77"),  # Sunday, still week 53 of 2020
    _row("2021-01-04"),  # ISO week 1 of 2021
    _row("2024-12-30", region="EU"),  # Monday of ISO week 1 of 2025
    _row("2025-01-05", region="EU", impressions="0", clicks="0", conversions="0"),
    _row("2024-02-29", spend="0"),  # leap day
    _row("2025-02-28"),
    _row("2025-04-30"),
    _row("2025-05-31"),
]


@pytest.fixture
def client(make_client: ClientFactory, tmp_path: Any) -> TestClient:
    # One directory name for every test: the same files under the same dataset name are
    # already the session database's current dataset, and not loaded again (these tests
    # only read).
    calendar = Dataset(CALENDAR, campaigns=["cmp-1"], creators=["crt-1"])
    return make_client(calendar.write(tmp_path / "calendar"))


def _rows(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/metrics", params=params)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


@pytest.mark.parametrize(
    ("date_from", "date_to", "granularity", "periods"),
    [
        ("2020-12-27", "2021-01-04", "week", ["2020-12-21", "2020-12-28", "2021-01-04"]),
        ("2024-12-30", "2025-01-05", "week", ["2024-12-30"]),
        (
            "2024-02-01",
            "2025-05-31",
            "month",
            ["2024-02-01", "2024-12-01", "2025-01-01", "2025-02-01", "2025-04-01", "2025-05-01"],
        ),
        ("2024-02-29", "2024-02-29", "day", ["2024-02-29"]),
    ],
)
def test_calendar_buckets_match_the_reference(
    client: TestClient, date_from: str, date_to: str, granularity: str, periods: list[str]
) -> None:
    params = {"date_from": date_from, "date_to": date_to, "granularity": granularity}
    rows = _rows(client, **params)
    assert [row["period"] for row in rows] == periods
    assert rows == answer(CALENDAR, params)


def test_a_week_53_row_sums_both_years(client: TestClient) -> None:
    rows = _rows(client, date_from="2020-12-28", date_to="2021-01-03", granularity="week")
    assert rows == [
        {
            "period": "2020-12-28",
            "impressions": 2000, "clicks": 60, "conversions": 6, "likes": 10,
            "spend": 24.68, "revenue": 7.77,
            "ctr": 0.03, "cvr": 0.1, "roas": 0.3148, "cpc": 0.4113, "cpm": 12.34,
        }
    ]  # fmt: skip


def test_zero_denominators_give_zero_rates(client: TestClient) -> None:
    (row,) = _rows(client, date_from="2025-01-05", date_to="2025-01-05")
    assert {name: row[name] for name in ("ctr", "cvr", "cpc", "cpm", "roas")} == dict.fromkeys(
        ("ctr", "cvr", "cpc", "cpm", "roas"), 0.0
    )


def test_no_rows_no_groups_not_even_a_total(client: TestClient) -> None:
    assert _rows(client, date_from="2023-01-01", date_to="2023-12-31") == []
    assert _rows(client, date_from="2020-01-01", date_to="2022-12-31", platform="web") == []
    assert _rows(client, date_from="2020-01-01", date_to="2022-12-31", platform="a\x00") == []


def test_filters_or_within_and_across(client: TestClient) -> None:
    params = {"date_from": "2020-01-01", "date_to": "2022-12-31", "group_by": "platform"}
    both = _rows(client, **params, platform=["ios", "unknown"], region="unknown")
    assert [(row["platform"], row["impressions"]) for row in both] == [
        ("ios", 2000),
        ("unknown", 2000),
    ]


def test_every_breakdown_is_unknown_without_the_columns(make_client: ClientFactory) -> None:
    client = make_client(VISIBLE_DATA)
    keys = "platform,region,device_type,age_group,gender,placement"
    rows = _rows(client, date_from="2025-01-01", date_to="2027-12-31", group_by=keys)
    assert len(rows) == 1
    assert {name: rows[0][name] for name in keys.split(",")} == dict.fromkeys(
        keys.split(","), "unknown"
    )
    assert (rows[0]["impressions"], rows[0]["likes"]) == (19600, 0)


def test_pages_concatenate_to_the_whole_answer(client: TestClient) -> None:
    params = {"date_from": "2020-01-01", "date_to": "2022-12-31", "granularity": "day"}
    params |= {"group_by": "platform,region", "sort": "-ctr"}
    whole = _rows(client, **params, limit=1000)
    for limit in (1, 2, 3):
        rows, cursor = [], None
        while True:
            resume = {} if cursor is None else {"cursor": cursor}
            page = client.get("/metrics", params={**params, "limit": limit, **resume}).json()
            rows += page["rows"]
            if not page["has_more"]:
                assert page["next_cursor"] is None
                break
            cursor = page["next_cursor"]
        assert rows == whole


BASE = {"date_from": "2026-01-01", "date_to": "2026-01-31"}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"date_to": "2026-01-31"}, "date_from"),
        ({"date_from": "2026-01-01"}, "date_to"),
        ({**BASE, "date_from": "2026-13-01"}, "date_from"),
        ({**BASE, "date_from": "20260101"}, "date_from"),
        ({**BASE, "date_from": "1767225600"}, "date_from"),
        ({**BASE, "date_to": "2026-01-01T00:00:00"}, "date_to"),
        ({**BASE, "date_to": "2025-12-31"}, "date_to"),
        ({"date_from": "2020-01-01", "date_to": "2023-01-02"}, "date_to"),
        ({**BASE, "granularity": "year"}, "granularity"),
        ({**BASE, "group_by": "country"}, "group_by"),
        ({**BASE, "group_by": "platform,platform"}, "group_by"),
        ({**BASE, "group_by": "platform,"}, "group_by"),
        ({**BASE, "sort": "country"}, "sort"),
        ({**BASE, "sort": "platform"}, "sort"),
        ({**BASE, "sort": "period"}, "sort"),
        ({**BASE, "sort": "--spend"}, "sort"),
        ({**BASE, "limit": "0"}, "limit"),
        ({**BASE, "limit": "1001"}, "limit"),
        ({**BASE, "limit": "1.5"}, "limit"),
        ({**BASE, "limit": "ten"}, "limit"),
        ({**BASE, "platform": ""}, "platform"),
        ({**BASE, "region": "x" * 300}, "region"),
        ({**BASE, "cursor": "garbage"}, "cursor"),
        ({**BASE, "cursor": "W10.AAAA"}, "cursor"),
        ({**BASE, "cursor": ""}, "cursor"),
        ({**BASE, "country": "FR"}, "country"),
        ({**BASE, "offset": "10"}, "offset"),
    ],
)
def test_every_invalid_parameter_is_a_422_naming_it(
    client: TestClient, params: dict[str, str], named: str
) -> None:
    response = client.get("/metrics", params=params)
    assert response.status_code == 422, response.text
    details = response.json()["detail"]
    assert ["query", named] in [detail["loc"][:2] for detail in details]


def test_unknown_keys_are_answered_with_what_is_allowed(client: TestClient) -> None:
    for params in (
        {**BASE, "country": "FR"},
        {**BASE, "group_by": "country"},
        {**BASE, "sort": "x", "group_by": "platform"},
    ):
        message = client.get("/metrics", params=params).json()["detail"][0]["msg"]
        assert "allowed: " in message
        assert "platform" in message


def test_a_cursor_does_not_carry_over_to_another_question(client: TestClient) -> None:
    params = {"date_from": "2020-01-01", "date_to": "2022-12-31", "granularity": "day", "limit": 1}
    cursor = client.get("/metrics", params=params).json()["next_cursor"]
    assert client.get("/metrics", params={**params, "cursor": cursor}).status_code == 200
    for changed in ({"granularity": "week"}, {"date_to": "2022-12-30"}, {"platform": "ios"}):
        response = client.get("/metrics", params={**params, **changed, "cursor": cursor})
        assert response.status_code == 422
    payload, signature = cursor.split(".")
    forged = client.get("/metrics", params={**params, "cursor": f"{payload}x.{signature}"})
    assert forged.status_code == 422


PARAMETER_NAMES = [
    "date_from", "date_to", "granularity", "group_by", "campaign_id", "creator_id", "platform",
    "region", "device_type", "age_group", "gender", "placement", "sort", "limit", "cursor",
]  # fmt: skip


def test_openapi_documents_every_parameter(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/metrics"]["get"]
    assert [parameter["name"] for parameter in operation["parameters"]] == PARAMETER_NAMES
    assert all(parameter.get("description") for parameter in operation["parameters"])


def test_no_query_string_is_a_500(client: TestClient) -> None:
    text = st.text(st.characters(codec="utf-8"), max_size=30)
    names = st.sampled_from([*PARAMETER_NAMES, "offset", ""])

    @hypothesis_settings(max_examples=80, deadline=None)
    @given(
        pairs=st.lists(st.tuples(names, text | st.sampled_from(["2026-01-01", "-spend", "x\x00"])))
    )
    def check(pairs: list[tuple[str, str]]) -> None:
        response = client.get("/metrics", params=[*BASE.items(), *pairs])
        assert response.status_code in (200, 422), response.text

    check()
