"""The metrics explorer (CONTRACT.md §8): a tenant's totals, filtered, grouped and sorted.

A question is an `ExplorerQuery`; its answer is read a page at a time in one total order
(the sort key, then period and group keys ascending), resumed after the last row of the
previous page (keyset pagination: never an offset).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

GRANULARITIES = ("day", "week", "month", "total")
DIMENSIONS = (
    "campaign_id",
    "creator_id",
    "platform",
    "region",
    "device_type",
    "age_group",
    "gender",
    "placement",
)
COUNTS = ("impressions", "clicks", "conversions", "likes")
AMOUNTS = ("spend", "revenue")
RATES = ("ctr", "cvr", "roas", "cpc", "cpm")
MEASURES = (*COUNTS, *AMOUNTS, *RATES)
PERIOD = "period"
MIN_LIMIT, MAX_LIMIT, DEFAULT_LIMIT = 1, 1000, 100
MAX_YEARS = 3

Position = tuple[object, ...]
"""The values of a row's order keys (`ExplorerQuery.order`), as the next page starts after."""


@dataclass(frozen=True, slots=True)
class OrderKey:
    name: str  # PERIOD, a dimension or a measure
    descending: bool


@dataclass(frozen=True, slots=True)
class ExplorerQuery:
    """A validated question: dates inclusive, group keys and filter dimensions from
    DIMENSIONS, `sort` a measure, PERIOD or a group key, `-` first for descending."""

    date_from: dt.date
    date_to: dt.date
    granularity: str = "total"
    group_by: tuple[str, ...] = ()
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (dimension, values): OR within
    sort: str | None = None

    def order(self) -> tuple[OrderKey, ...]:
        """The total order of the answer: the sort key, then period and group keys asc."""
        ties = ([PERIOD] if self.granularity != "total" else []) + list(self.group_by)
        if self.sort is None:
            return tuple(OrderKey(name, False) for name in ties)
        name = self.sort.removeprefix("-")
        first = OrderKey(name, self.sort.startswith("-"))
        return (first, *(OrderKey(tie, False) for tie in ties if tie != name))

    def canonical(self) -> str:
        """The question as one text, the same for every spelling of it (filter values
        sorted): what a cursor is bound to."""
        filters = {name: sorted(set(values)) for name, values in self.filters}
        return json.dumps(
            [
                self.date_from.isoformat(),
                self.date_to.isoformat(),
                self.granularity,
                list(self.group_by),
                dict(sorted(filters.items())),
                self.sort,
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        )


class ExplorerRow(NamedTuple):
    """One group's totals, exact, in whole numbers: money in cents, each rate as k, the rate
    being k / 10000 (§4's 4 places; 0 on a zero denominator).

    Whole numbers, not `Decimal`s: an answer makes hundreds of rows, and making, dividing
    and printing ~3,000 `Decimal`s was most of a 500-row answer's cost (BENCHMARKS.md). A
    named tuple, not a frozen dataclass, for the same reason."""

    period: dt.date | None  # None for granularity `total`
    keys: tuple[str, ...]  # the group_by values, in group_by order
    impressions: int
    clicks: int
    conversions: int
    likes: int
    spend_cents: int
    revenue_cents: int
    ctr_k: int
    cvr_k: int
    roas_k: int
    cpc_k: int
    cpm_k: int

    def measure(self, name: str) -> int | Decimal:
        """A measure's exact value at any size: a count, or money (2 places) and rates
        (4 places) as `Decimal`s."""
        if name in COUNTS:
            return int(getattr(self, name))
        if name in AMOUNTS:
            return _fixed_point(getattr(self, f"{name}_cents"), 2)
        return _fixed_point(getattr(self, f"{name}_k"), 4)

    def position(self, query: ExplorerQuery) -> Position:
        """The values of this row's order keys."""
        return tuple(self._value(key.name, query) for key in query.order())

    def _value(self, name: str, query: ExplorerQuery) -> object:
        if name == PERIOD:
            return self.period
        if name in MEASURES:
            return self.measure(name)
        return self.keys[query.group_by.index(name)]


def _fixed_point(units: int, places: int) -> Decimal:
    """`units` / 10**places exactly (`Decimal` arithmetic would round beyond 28 digits)."""
    whole, fraction = divmod(units, 10**places)
    return Decimal(f"{whole}.{fraction:0{places}d}")


@dataclass(frozen=True, slots=True)
class ExplorerPage:
    rows: list[ExplorerRow]
    next_cursor: str | None
    has_more: bool
