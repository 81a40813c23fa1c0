"""`GET /metrics` answered by `ExplorerShortcut` is what the route answers, byte for byte and
header for header, on each engine; whatever the shortcut does not take (an unknown or
repeated parameter, a refused value, a foreign cursor, no caller, a store that fails) the
route answers as before."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from analytics.api import explorer_shortcut
from analytics.api.explorer_shortcut import ExplorerShortcut, parameters_of
from analytics.domain.errors import RepositoryUnavailable
from tests.conftest import ClientFactory
from tests.explorer_reference import Dataset

ROWS = [
    {
        "metric_date": f"2025-0{month}-1{day}",
        "campaign_id": "cmp-1",
        "creator_id": "crt-1",
        "impressions": str(1000 * month + day),
        "clicks": str(30 + day),
        "conversions": str(day),
        "spend": f"{12 + day}.3{month}",
        "revenue": "" if day == 2 else f"{40 + month}.0{day}",
        "likes": str(day),
        "platform": ("ios", "web", "")[day % 3],
        "region": ("EU", "US")[month % 2],
    }
    for month in range(1, 7)
    for day in range(1, 5)
]
QUESTIONS = [
    "date_from=2025-01-01&date_to=2025-06-30",
    "date_from=2025-01-01&date_to=2025-06-30&granularity=month&group_by=platform,region",
    "date_from=2025-01-01&date_to=2025-06-30&granularity=day&group_by=platform&limit=5",
    "date_from=2025-01-01&date_to=2025-06-30&granularity=week&sort=-roas&platform=ios&platform=web",
    "date_from=2025-02-01&date_to=2025-02-28&group_by=region&region=EU&region=unknown&sort=cpm",
    "date_from=2026-01-01&date_to=2026-01-31",  # no rows
    # the route's: unknown, repeated and refused parameters, a foreign cursor
    "date_from=2025-01-01&date_to=2025-06-30&colour=red",
    "date_from=2025-01-01&date_to=2025-06-30&limit=5&limit=6",
    "date_from=2025-01-01&date_to=2025-06-30&group_by=platform&group_by=region",
    "date_from=2025-01-01&date_to=2025-06-30&granularity=hour",
    "date_from=2025-01-01&date_to=2025-06-30&limit=",
    "date_from=2025-01-01&date_to=2025-06-30&cursor=nonsense",
    "date_from=2025-06-30&date_to=2025-01-01",
    "",
]


@pytest.fixture
def client(make_client: ClientFactory, tmp_path: Any) -> TestClient:
    data = Dataset(ROWS, campaigns=["cmp-1"], creators=["crt-1"]).write(tmp_path)
    return make_client(data, cache_enabled=False)  # every answer made, not replayed


@pytest.fixture
def route_only(monkeypatch: pytest.MonkeyPatch) -> Any:
    """While active, the shortcut hands every request to the route."""

    async def passing(self: ExplorerShortcut, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    class Switch:
        def __enter__(self) -> None:
            monkeypatch.setattr(ExplorerShortcut, "__call__", passing)

        def __exit__(self, *_: object) -> None:
            monkeypatch.undo()

    return Switch()


def _answer(client: TestClient, query: str, method: str = "GET") -> tuple[int, list, bytes]:
    response = client.request(method, f"/metrics?{query}")
    headers = [(k, v) for k, v in response.headers.items() if k != "x-request-id"]
    return response.status_code, headers, response.content


def _pages(client: TestClient, query: str) -> list[tuple[int, list, bytes]]:
    """Every page of the question, following its cursors."""
    answers, cursor = [], None
    for _ in range(50):
        resume = "" if cursor is None else f"&cursor={cursor}"
        answers.append(_answer(client, f"{query}&limit=2{resume}"))
        page = client.get(f"/metrics?{query}&limit=2{resume}").json()
        if not page.get("has_more"):
            return answers
        cursor = page["next_cursor"]
    raise AssertionError("pagination does not end")


def test_every_answer_is_the_route_s(client: TestClient, route_only: Any) -> None:
    taken = [_answer(client, query) for query in QUESTIONS]
    heads = [_answer(client, query, "HEAD") for query in QUESTIONS[:3]]
    paged = _pages(client, QUESTIONS[1])
    with route_only:
        assert [_answer(client, query) for query in QUESTIONS] == taken
        assert [_answer(client, query, "HEAD") for query in QUESTIONS[:3]] == heads
        assert _pages(client, QUESTIONS[1]) == paged
    # a repeated `limit` or `group_by`: the route reads the last one, as FastAPI does
    assert [status for status, _, _ in taken] == [200] * 6 + [422, 200, 200] + [422] * 5
    assert len(paged) > 2


def test_a_caller_the_route_refuses_is_refused_as_before(
    make_client: ClientFactory, tmp_path: Any, route_only: Any
) -> None:
    data = Dataset(ROWS, campaigns=["cmp-1"], creators=["crt-1"]).write(tmp_path)
    closed = make_client(data, anonymous_tenant="")
    query = QUESTIONS[1]
    for headers in ({}, {"Authorization": "Bearer cak_nope"}, {"Authorization": "Basic x"}):
        taken = closed.get(f"/metrics?{query}", headers=headers)
        with route_only:
            routed = closed.get(f"/metrics?{query}", headers=headers)
        assert (taken.status_code, taken.content) == (routed.status_code, routed.content)
        assert taken.status_code == 401


def test_a_store_that_fails_is_answered_by_the_app_s_handler(
    client: TestClient, route_only: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(*_: Any, **__: Any) -> bytes:
        raise RepositoryUnavailable("the database went away")

    monkeypatch.setattr(explorer_shortcut, "metrics_page", failing)
    taken = _answer(client, QUESTIONS[1])
    assert taken[0] == 503
    monkeypatch.setattr("analytics.api.routes.metrics.metrics_page", failing)
    with route_only:
        assert _answer(client, QUESTIONS[1]) == taken


def test_the_shortcut_answers_valid_questions_itself(client: TestClient) -> None:
    """It is in the way of every valid question (the route is not called)."""
    app: Any = client.app
    calls = []
    shortcut = _shortcut_of(app)
    inner = shortcut.app

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope.get("query_string"))
        await inner(scope, receive, send)

    shortcut.app = counting
    try:
        assert client.get(f"/metrics?{QUESTIONS[1]}").status_code == 200
        assert calls == []
        assert client.get(f"/metrics?{QUESTIONS[6]}").status_code == 422
        assert calls == [QUESTIONS[6].encode()]
    finally:
        shortcut.app = inner


def _shortcut_of(app: Any) -> ExplorerShortcut:
    layer = app.middleware_stack
    for _ in range(30):
        if isinstance(layer, ExplorerShortcut):
            return layer
        layer = layer.app
    raise AssertionError("no ExplorerShortcut in the middleware stack")


@pytest.mark.parametrize(
    ("query", "taken"),
    [
        ("date_from=2025-01-01&date_to=2025-01-31", True),
        ("date_from=2025-01-01&date_to=2025-01-31&platform=a&platform=b&region=c", True),
        ("date_from=2025-01-01&date_to=2025-01-31&sort=-spend&limit=10&granularity=day", True),
        ("date_from=2025-01-01&date_to=2025-01-31&x=1", False),
        ("date_from=2025-01-01&date_to=2025-01-31&sort=spend&sort=cpm", False),
        ("date_from=2025-01-01&date_from=2025-01-02&date_to=2025-01-31", False),
        ("date_from=2025-1-1&date_to=2025-01-31", False),
        ("date_to=2025-01-31", False),
        ("date_from=2025-01-01&date_to=2025-01-31&platform=", False),
    ],
)
def test_only_what_the_model_accepts_as_fastapi_reads_it_is_taken(query: str, taken: bool) -> None:
    assert (parameters_of(query.encode()) is not None) is taken
