"""`GET /metrics` (CONTRACT.md §8) against an independent reference computed from the raw
rows, on DuckDB and PostgreSQL, the two answering the same bytes."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from analytics.api.app import create_app
from analytics.settings import Settings
from tests.explorer_reference import KEYS, Dataset, answer

MEASURES = ("impressions", "clicks", "conversions", "likes", "spend", "revenue")
RATES = ("ctr", "cvr", "roas", "cpc", "cpm")
VALUES = {
    "campaign_id": ["cmp-1", "cmp-10", "cmp-9", "cmp-ü"],
    "creator_id": ["crt-1", "crt-2", "Émile"],
    "platform": ["ios", "android", "web", "", "unknown"],
    "region": ["EU", "US", "", "Ñ-region"],
    "device_type": ["mobile", "desktop", ""],
    "age_group": ["18-24", "25-34", ""],
    "gender": ["f", "m", ""],
    "placement": ["feed", "story", 'a,b "quoted"', ""],
}
# ISO weeks 53 (2020, 2026) and week 1 across year ends, February of leap and common years.
SPECIAL_DAYS = [
    "2020-12-27", "2020-12-28", "2021-01-03", "2021-01-04",
    "2024-02-28", "2024-02-29", "2024-03-01", "2024-12-29", "2024-12-30", "2025-01-01",
    "2025-02-28", "2025-03-01", "2025-04-30", "2025-05-31",
    "2026-12-27", "2026-12-28", "2027-01-03", "2027-01-04",
]  # fmt: skip
FIRST, LAST = dt.date(2020, 12, 20), dt.date(2027, 1, 10)


def _random_rows(seed: int, count: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    span = (LAST - FIRST).days
    rows = []
    for index in range(count):
        day = SPECIAL_DAYS[index] if index < len(SPECIAL_DAYS) else None
        day = day or (FIRST + dt.timedelta(days=rng.randrange(span + 1))).isoformat()
        impressions = rng.choice([0, rng.randrange(1, 5000)])
        clicks = rng.randrange(impressions + 1) if impressions else rng.choice([0, 3])
        row = {key: rng.choice(values) for key, values in VALUES.items()}
        row |= {
            "metric_date": day,
            "impressions": str(impressions),
            "clicks": str(clicks),
            "conversions": str(rng.randrange(clicks + 1)),
            "spend": rng.choice(["0", "0.01", f"{rng.randrange(100000) / 100:.2f}"]),
            "revenue": rng.choice(["", "0", f"{rng.randrange(300000) / 100:.2f}"]),
            "likes": rng.choice(["", "0", str(rng.randrange(200))]),
        }
        rows.append(row)
    return rows


ROWS = _random_rows(seed=8, count=400)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Dataset(ROWS).write(tmp_path_factory.mktemp("explorer") / "data")


@pytest.fixture
def clients(data_dir: Path, postgres_url: str) -> Iterator[dict[str, TestClient]]:
    """The same data served by each engine."""
    opened = {}
    for name, url in (("duckdb", None), ("postgresql", postgres_url)):
        client = TestClient(create_app(Settings(data_dir=data_dir, database_url=url)))
        opened[name] = client.__enter__()
    yield opened
    for client in opened.values():
        client.__exit__(None, None, None)


def _get(client: TestClient, params: dict[str, Any]) -> tuple[int, bytes]:
    response = client.get("/metrics", params=params)
    return response.status_code, response.content


def _all_pages(client: TestClient, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    rows, cursor = [], None
    for _ in range(2000):
        resume = {} if cursor is None else {"cursor": cursor}
        page = client.get("/metrics", params={**params, "limit": limit, **resume}).json()
        rows += page["rows"]
        assert page["has_more"] == (page["next_cursor"] is not None)
        if not page["has_more"]:
            return rows
        cursor = page["next_cursor"]
    raise AssertionError("pagination does not end")


@st.composite
def questions(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(st.dates(FIRST - dt.timedelta(days=5), LAST))
    end = draw(
        st.dates(
            start,
            min(
                LAST + dt.timedelta(days=5),
                start.replace(year=start.year + 3) - dt.timedelta(days=1),
            ),
        )
    )
    if draw(st.booleans()):  # whole months: the monthly rollups answer (read as they are
        # when grouped by exactly their breakdowns)
        start = start.replace(day=1)
        end = (end.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        end = min(end, start.replace(year=start.year + 3) - dt.timedelta(days=1))
    group_by = draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=3))
    params: dict[str, Any] = {
        "date_from": start.isoformat(),
        "date_to": end.isoformat(),
        "granularity": draw(st.sampled_from(["day", "week", "month", "total"])),
        "group_by": ",".join(group_by),
    }
    for key in draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=2)):
        choices = sorted({value or "unknown" for value in VALUES[key]})
        params[key] = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=3))
    sortable = [*MEASURES, *RATES, *group_by]
    if sort := draw(st.none() | st.sampled_from(sortable)):
        params["sort"] = draw(st.sampled_from(["", "-"])) + sort
    return params


def test_every_answer_is_the_reference_and_the_same_bytes_on_both_engines(
    clients: dict[str, TestClient],
) -> None:
    @hypothesis_settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(params=questions(), limit=st.integers(1, 7))
    def check(params: dict[str, Any], limit: int) -> None:
        expected = answer(ROWS, params)
        whole = {**params, "limit": 1000}
        status, body = _get(clients["duckdb"], whole)
        assert (status, body) == _get(clients["postgresql"], whole)
        assert status == 200
        page = clients["duckdb"].get("/metrics", params=whole).json()
        assert page["rows"] == expected
        assert (page["has_more"], page["next_cursor"]) == (False, None)
        for client in clients.values():
            assert _all_pages(client, params, limit) == expected

    check()


CORE = ("platform", "region", "device_type")
KEPT_GROUPS = [[name] for name in CORE] + [list(pair) for pair in combinations(CORE, 2)]


@pytest.mark.parametrize("group_by", KEPT_GROUPS, ids=",".join)
@pytest.mark.parametrize("granularity", ["day", "month"])
def test_rollups_read_as_they_are_answer_as_the_reference(
    clients: dict[str, TestClient], group_by: list[str], granularity: str
) -> None:
    """Grouped by exactly a rollup's breakdowns per its period (its rows are the answer's):
    whole years, one month, filtered by one of its keys, sorted by a rate, in pages."""
    questions = [
        {"date_from": "2024-01-01", "date_to": "2026-12-31"},
        {"date_from": "2024-02-01", "date_to": "2024-02-29"},
        {
            "date_from": "2025-01-01",
            "date_to": "2025-12-31",
            group_by[-1]: ["unknown", "EU", "ios"],
        },
        {"date_from": "2024-01-01", "date_to": "2026-12-31", "sort": "-roas"},
    ]
    for question in questions:
        params = {**question, "granularity": granularity, "group_by": ",".join(group_by)}
        whole = {**params, "limit": 1000}
        status, body = _get(clients["postgresql"], whole)
        assert (status, body) == _get(clients["duckdb"], whole)
        assert clients["postgresql"].get("/metrics", params=whole).json()["rows"] == answer(
            ROWS, params
        )
        assert _all_pages(clients["postgresql"], params, 3) == answer(ROWS, params)
