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


def _row(row: Any, period: bool, keys: list[tuple[str, int]]) -> dict[str, Any]:
    body: dict[str, Any] = {"period": row.period} if period else {}
    for name, index in keys:
        body[name] = row.keys[index]
    body["impressions"] = row.impressions
    body["clicks"] = row.clicks
    body["conversions"] = row.conversions
    body["likes"] = row.likes
    body["spend"] = row.spend_cents / 100
    body["revenue"] = row.revenue_cents / 100
    body["ctr"] = row.ctr_k / 10000
    body["cvr"] = row.cvr_k / 10000
    body["roas"] = row.roas_k / 10000
    body["cpc"] = row.cpc_k / 10000
    body["cpm"] = row.cpm_k / 10000
    return body


def _content(page: ExplorerPage, group_by: tuple[str, ...], period: bool) -> dict[str, Any]:
    keys = [(name, group_by.index(name)) for name in DIMENSIONS if name in group_by]
    return {
        "rows": [_row(row, period, keys) for row in page.rows],
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
