"""Use case: one page of the metrics explorer's answer (CONTRACT.md §8)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from analytics.domain.cursors import CursorSigner, InvalidCursor
from analytics.domain.explorer import (
    AMOUNTS,
    COUNTS,
    PERIOD,
    RATES,
    ExplorerPage,
    ExplorerQuery,
    Position,
)
from analytics.domain.ports import MetricsExplorer


async def explore_metrics(
    explorer: MetricsExplorer,
    signer: CursorSigner,
    *,
    tenant_id: str,
    query: ExplorerQuery,
    limit: int,
    cursor: str | None = None,
) -> ExplorerPage:
    """The `limit` rows after the cursor's position (from the first row without one), in
    `query.order()`. `has_more` is true exactly when another row follows; the next cursor is
    then signed for this tenant and this question only (`InvalidCursor` otherwise)."""
    scope = f"{tenant_id}\n{query.canonical()}"
    after = None if cursor is None else _position(query, signer.verify(scope, cursor))
    rows = await explorer.explore(query=query, after=after, limit=limit + 1)
    page, has_more = rows[:limit], len(rows) > limit
    next_cursor = signer.sign(scope, _texts(page[-1].position(query))) if has_more else None
    return ExplorerPage(page, next_cursor, has_more)


def _texts(position: Position) -> list[str]:
    return [value.isoformat() if isinstance(value, dt.date) else str(value) for value in position]


def _position(query: ExplorerQuery, texts: list[str]) -> Position:
    keys = query.order()
    if len(texts) != len(keys):
        raise InvalidCursor("malformed cursor")
    try:
        return tuple(_value(key.name, text) for key, text in zip(keys, texts, strict=True))
    except (ValueError, InvalidOperation):
        raise InvalidCursor("malformed cursor") from None


def _value(name: str, text: str) -> object:
    if name == PERIOD:
        return dt.date.fromisoformat(text)
    if name in COUNTS:
        return int(text)
    if name in AMOUNTS or name in RATES:
        return Decimal(text)
    return text
