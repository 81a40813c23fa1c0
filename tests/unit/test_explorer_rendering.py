"""`GET /metrics` rendered with orjson is byte for byte what the response model produced from
the route's former dictionaries (FastAPI: `MetricsPageOut`, `response_model_exclude_unset`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.api.explorer_rendering import explorer_json
from analytics.api.schemas import MetricsPageOut
from analytics.domain.explorer import (
    AMOUNTS,
    COUNTS,
    DIMENSIONS,
    GRANULARITIES,
    RATES,
    ExplorerPage,
    ExplorerRow,
)

# any text: control characters, quotes, backslashes, non-BMP, line and paragraph separators
texts = st.text(max_size=40)
counts = st.one_of(
    st.integers(min_value=0, max_value=2**63 - 1), st.integers(min_value=0, max_value=10**38 - 1)
)
# money in cents and rates as k (k / 10000), as rows carry them
money = st.integers(min_value=0, max_value=10**38 - 1)
rates = st.integers(min_value=0, max_value=10**38 - 1)
group_bys = st.lists(st.sampled_from(DIMENSIONS), unique=True, max_size=4).map(tuple)


def _model_bytes(page: ExplorerPage, group_by: tuple[str, ...], granularity: str) -> bytes:
    """What the route returned before: its dictionaries through the response model, with
    money and rates as the floats of their exact `Decimal` values."""

    def row(r: ExplorerRow) -> dict[str, Any]:
        body: dict[str, Any] = {} if r.period is None else {"period": r.period.isoformat()}
        body.update(zip(group_by, r.keys, strict=True))
        body.update((name, getattr(r, name)) for name in COUNTS)
        body.update((name, float(r.measure(name))) for name in (*AMOUNTS, *RATES))
        return body

    content = {
        "rows": [row(r) for r in page.rows],
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
    }
    return MetricsPageOut.model_validate(content).model_dump_json(exclude_unset=True).encode()


@st.composite
def pages(draw: st.DrawFn, huge: bool) -> tuple[ExplorerPage, tuple[str, ...], str]:
    granularity = draw(st.sampled_from(GRANULARITIES))
    group_by = draw(group_bys)
    count = counts if huge else st.integers(min_value=0, max_value=2**63 - 1)
    period = st.none() if granularity == "total" else st.dates(min_value=dt.date(1, 1, 1))
    row = st.builds(
        ExplorerRow,
        period,
        st.tuples(*(texts for _ in group_by)),
        count,
        count,
        count,
        count,
        money,
        money,
        rates,
        rates,
        rates,
        rates,
        rates,
    )
    rows = draw(st.lists(row, max_size=8))
    cursor = draw(st.none() | st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.="))
    return ExplorerPage(rows, cursor, cursor is not None), group_by, granularity


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(pages(huge=False))
def test_page_bytes_are_the_response_model_s(drawn: tuple[ExplorerPage, Any, str]) -> None:
    assert explorer_json(*drawn) == _model_bytes(*drawn)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(pages(huge=True))
def test_counts_beyond_64_bits_are_printed_as_the_model_does(
    drawn: tuple[ExplorerPage, Any, str],
) -> None:
    assert explorer_json(*drawn) == _model_bytes(*drawn)


def test_group_keys_come_in_the_schema_s_order_and_total_has_no_period() -> None:
    row = ExplorerRow(None, ("eu", "ios"), 1, 2, 3, 4, 150, 0, *(0,) * 5)
    rendered = explorer_json(ExplorerPage([row], None, False), ("region", "platform"), "total")
    assert rendered.startswith(b'{"rows":[{"platform":"ios","region":"eu","impressions":1,')
    assert b'"spend":1.5,"revenue":0.0,"ctr":0.0,' in rendered
    assert rendered.endswith(b'"cpm":0.0}],"next_cursor":null,"has_more":false}')


def test_an_empty_page_keeps_its_keys() -> None:
    rendered = explorer_json(ExplorerPage([], None, False), ("platform",), "day")
    assert rendered == b'{"rows":[],"next_cursor":null,"has_more":false}'
