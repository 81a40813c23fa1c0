"""The explorer's use case against a fake: pages, `has_more`, and cursors bound to one tenant
and one question."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from analytics.domain.cursors import CursorSigner, InvalidCursor
from analytics.domain.explorer import ExplorerQuery, ExplorerRow, Position
from analytics.domain.exploring import explore_metrics

QUERY = ExplorerQuery(
    dt.date(2026, 1, 1), dt.date(2026, 1, 31), "day", ("platform",), sort="-spend"
)


def _row(day: int, platform: str, spend: str) -> ExplorerRow:
    cents = int(Decimal(spend) * 100)
    return ExplorerRow(dt.date(2026, 1, day), (platform,), 1, 1, 1, 1, cents, 0, 0, 0, 0, 0, 0)


class FakeExplorer:
    def __init__(self, rows: list[ExplorerRow]) -> None:
        self.rows = rows
        self.asked_after: list[Position | None] = []

    async def explore(
        self, *, query: ExplorerQuery, after: Position | None, limit: int
    ) -> list[ExplorerRow]:
        self.asked_after.append(after)
        start = 0 if after is None else [r.position(query) for r in self.rows].index(after) + 1
        return self.rows[start : start + limit]


ROWS = [_row(2, "ios", "9.50"), _row(1, "web", "9.50"), _row(3, "ios", "1.00")]
SIGNER = CursorSigner(b"k" * 32)


async def test_pages_follow_one_another_and_the_last_says_no_more() -> None:
    explorer = FakeExplorer(ROWS)
    first = await explore_metrics(explorer, SIGNER, tenant_id="a", query=QUERY, limit=2)
    assert (first.rows, first.has_more) == (ROWS[:2], True)
    second = await explore_metrics(
        explorer, SIGNER, tenant_id="a", query=QUERY, limit=2, cursor=first.next_cursor
    )
    assert (second.rows, second.has_more, second.next_cursor) == (ROWS[2:], False, None)
    assert explorer.asked_after == [None, (Decimal("9.50"), dt.date(2026, 1, 1), "web")]


async def test_a_cursor_is_refused_for_another_tenant_or_question_or_key() -> None:
    explorer = FakeExplorer(ROWS)
    page = await explore_metrics(explorer, SIGNER, tenant_id="a", query=QUERY, limit=1)
    other_query = ExplorerQuery(QUERY.date_from, QUERY.date_to, "day", ("platform",))
    for signer, tenant, query in (
        (SIGNER, "b", QUERY),
        (SIGNER, "a", other_query),
        (CursorSigner(b"x" * 32), "a", QUERY),
    ):
        with pytest.raises(InvalidCursor):
            await explore_metrics(
                explorer, signer, tenant_id=tenant, query=query, limit=1, cursor=page.next_cursor
            )


def test_the_same_question_spelled_differently_shares_its_cursors() -> None:
    one = ExplorerQuery(QUERY.date_from, QUERY.date_to, filters=(("region", ("US", "EU")),))
    other = ExplorerQuery(QUERY.date_from, QUERY.date_to, filters=(("region", ("EU", "US", "EU")),))
    assert one.canonical() == other.canonical()
