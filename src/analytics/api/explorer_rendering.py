"""`GET /metrics`'s answer (CONTRACT.md §8) rendered straight from the page with orjson.

The bytes are exactly those FastAPI produced through `MetricsPageOut` with
`response_model_exclude_unset` (checked in tests/unit/test_explorer_rendering.py over random
pages): the model's field order (`period`, the group keys in the schema's order whatever
order `group_by` gave them, then the measures), `period` absent for `total`, money and rates
as the floats nearest their exact values, text as UTF-8. Validating and serialising ~500 row
models cost ~4 ms of a request (BENCHMARKS.md, "Metrics explorer at 20M rows").

Money is given in cents and a rate as k (the rate is k / 10000): `cents / 100` and
`k / 10000` divide whole numbers, which Python rounds correctly to the nearest float, the
float that `float(Decimal)` gives for the same exact value.
"""

from __future__ import annotations

from typing import Any

import orjson

from analytics.api.schemas import MetricsPageOut
from analytics.domain.explorer import DIMENSIONS, ExplorerPage


def _rows(page: ExplorerPage, group_by: tuple[str, ...], period: bool) -> list[dict[str, Any]]:
    keys = [(name, group_by.index(name)) for name in DIMENSIONS if name in group_by]
    rows = []
    for day, values, impressions, clicks, conversions, likes, spend, revenue, *rates in page.rows:
        body: dict[str, Any] = {"period": day} if period else {}
        for name, index in keys:
            body[name] = values[index]
        body["impressions"] = impressions
        body["clicks"] = clicks
        body["conversions"] = conversions
        body["likes"] = likes
        body["spend"] = spend / 100
        body["revenue"] = revenue / 100
        ctr, cvr, roas, cpc, cpm = rates
        body["ctr"] = ctr / 10000
        body["cvr"] = cvr / 10000
        body["roas"] = roas / 10000
        body["cpc"] = cpc / 10000
        body["cpm"] = cpm / 10000
        rows.append(body)
    return rows


def _content(page: ExplorerPage, group_by: tuple[str, ...], period: bool) -> dict[str, Any]:
    return {
        "rows": _rows(page, group_by, period),
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
    }


def explorer_json(page: ExplorerPage, group_by: tuple[str, ...], granularity: str) -> bytes:
    """The page's bytes; through the response model when a count is beyond 64 bits (sums
    are NUMERIC(38, 0)), which orjson refuses and Pydantic prints as digits."""
    period = granularity != "total"
    content = _content(page, group_by, period)
    try:
        return orjson.dumps(content)
    except orjson.JSONEncodeError:
        model = MetricsPageOut.model_validate(content)
        return model.model_dump_json(exclude_unset=True).encode()
