"""Surrogate keys of one load's breakdown values (the explorer's star, CONTRACT.md §8).

A load numbers the values of each breakdown as the metric rows stream past, in order of
first appearance from 1; key 0 is `unknown` in every tenant and every load (the key of a row
whose file has no breakdowns, and the column default). The metric lines carry the keys, and
the dimension tables are written from the same numbering in the same publish, so every key
of a fact row names a row of its dimension. Keys mean something within one load of one
tenant only: a reload numbers its values afresh, and a value that is gone has no row.
"""

from __future__ import annotations

from collections.abc import Iterator

from analytics.adapters.csv_dataset import BREAKDOWN_COLUMNS, UNKNOWN

UNKNOWN_KEY = 0
MAX_CACHED_TAILS = 100_000  # distinct breakdown combinations remembered as text


class BreakdownKeys:
    """The numbering of one load; `tail` is the metrics validator's `Tail`."""

    def __init__(self) -> None:
        self._keys: list[dict[str, int]] = [{UNKNOWN: UNKNOWN_KEY} for _ in BREAKDOWN_COLUMNS]
        self._tails: dict[tuple[str, ...], str] = {}

    def tail(self, breakdowns: tuple[str, ...], likes: str) -> str:
        """`,k1,…,k6,likes\\n`: the keys of the values (numbered if new), then likes."""
        prefix = self._tails.get(breakdowns)
        if prefix is None:
            prefix = "," + ",".join(
                str(self._key(numbering, value))
                for numbering, value in zip(self._keys, breakdowns, strict=True)
            )
            if len(self._tails) < MAX_CACHED_TAILS:
                self._tails[breakdowns] = prefix
        return f"{prefix},{likes or '0'}\n"

    @staticmethod
    def _key(numbering: dict[str, int], value: str) -> int:
        key = numbering.get(value)
        if key is None:
            key = numbering[value] = len(numbering)
        return key

    def rows(self, breakdown: str) -> Iterator[tuple[int, str]]:
        """(key, value) of every value of `breakdown` numbered so far, `unknown` included."""
        numbering = self._keys[BREAKDOWN_COLUMNS.index(breakdown)]
        return ((key, value) for value, key in numbering.items())
