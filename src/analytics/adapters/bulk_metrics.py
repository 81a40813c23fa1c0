"""The bulk path of a metrics file: DuckDB checks every row and writes the stored rows.

Only for files the Python reader would read line by line, split on commas (`plain_layout`:
no double quote, NUL or \\x01 byte anywhere, a carriage return only in a CRLF line break,
valid UTF-8, a header the header code accepts). `survey` applies the Python validator's
fast check to every row in one DuckDB pass (field count, the measures' pattern, likes) and
gathers the distinct dates, ids and breakdown values, which Python then checks with the
very same functions. Any doubt declines the file, and the caller runs the Python path from
the start: it reports the exact errors with their lines, and accepts the rare valid rows
the fast check does not (a 19-digit count, money with 17 leading zeros). So this path never
accepts a file the Python path refuses, and stores the rows the Python path would store.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics.adapters.csv_dataset import (
    _FAST_COUNT,
    _VALID_MEASURES,
    BREAKDOWN_COLUMNS,
    METRIC_COLUMNS,
    OPTIONAL_METRIC_COLUMNS,
    UNKNOWN,
    ErrorLog,
    _optional_positions,
    _positions,
    breakdown_problem,
    check_date,
)

FORBIDDEN_BYTES = (b'"', b"\x00", b"\x01")  # quoting, NUL, the delimiter DuckDB reads with
SCAN_CHUNK = 1 << 20
READ_BUFFER_BYTES = 8 << 20  # DuckDB's CSV buffer (default 32 MB): less memory, same speed
MAX_HEADER_BYTES = 1 << 16
MAX_DISTINCT_VALUES = 100_000  # per breakdown: more is no plain file, let Python judge it


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the stored fields are in a line: 1-based positions of METRIC_COLUMNS, then of
    OPTIONAL_METRIC_COLUMNS (None: absent, read as empty); `width` fields a line."""

    width: int
    required: tuple[int, ...]
    optional: tuple[int | None, ...]

    def field(self, position: int | None) -> str:
        """The SQL text of one field of `v` (the split line); '' for an absent column."""
        return "''" if position is None else f"v[{position}]"


def _header(path: Path) -> list[str] | None:
    with path.open("rb") as binary:
        first = binary.readline(MAX_HEADER_BYTES)
    try:
        text = first.decode("utf-8").removeprefix("\ufeff")
        return next(csv.reader([text], strict=True), None)
    except (UnicodeDecodeError, csv.Error):
        return None


def _plain_bytes(path: Path) -> bool:
    """No forbidden byte, a carriage return only right before a line feed (DuckDB ends a
    line at either, Python at the line feed alone), valid UTF-8 throughout (memchr-speed
    scans, chunk by chunk)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = b""  # a carriage return that ended the previous chunk
    try:
        with path.open("rb") as binary:
            while chunk := binary.read(SCAN_CHUNK):
                if any(byte in chunk for byte in FORBIDDEN_BYTES):
                    return False
                block = pending + chunk
                pending = b"\r" if block.endswith(b"\r") else b""
                body = block[: len(block) - len(pending)]
                if body.count(b"\r") != body.count(b"\r\n"):
                    return False
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return not pending


def plain_layout(path: Path) -> Layout | None:
    """The layout of a metrics file the bulk path may try, or None (the Python path's)."""
    header = _header(path) if path.is_file() else None
    if header is None or not _plain_bytes(path):
        return None
    errors = ErrorLog()
    required = _positions(header, METRIC_COLUMNS, path.name, errors)
    optional = _optional_positions(header, OPTIONAL_METRIC_COLUMNS, path.name, errors)
    if required is None or optional is None or errors.count:
        return None
    extra = optional or [-1] * len(OPTIONAL_METRIC_COLUMNS)
    return Layout(
        len(header),
        tuple(index + 1 for index in required),
        tuple(None if index < 0 else index + 1 for index in extra),
    )


def lines_sql() -> str:
    """The data records as `v` (a list of fields): physical lines after the header, blank
    ones skipped as the Python reader does ($path: the metrics file)."""
    return (
        "SELECT string_split(column0, ',') AS v FROM read_csv($path, header = false, "  # noqa: S608
        "skip = 1, delim = '\x01', quote = '', escape = '', new_line = '\\n', "
        "columns = {'column0': 'VARCHAR'}, auto_detect = false, strict_mode = false, "
        f"buffer_size = {READ_BUFFER_BYTES}) "
        "WHERE column0 IS NOT NULL"
    )


@dataclass(frozen=True, slots=True)
class Survey:
    """What one pass over the metrics file found."""

    rows: int
    failed: int  # rows failing the fast check
    dates: list[str]
    campaigns: list[str]
    creators: list[str]
    breakdowns: list[list[str]]  # distinct raw values of each breakdown ('' included)


def survey(connection: duckdb.DuckDBPyConnection, path: Path, layout: Layout) -> Survey:
    """Every row against the Python validator's fast check, and the distinct values."""
    f = layout.field
    date, campaign, creator, *measures = (f(p) for p in layout.required)
    *breakdowns, likes = (f(p) for p in layout.optional)
    fast = (
        f"len(v) = {layout.width} AND regexp_full_match(concat_ws(',', {', '.join(measures)}), "
        f"$measures) AND ({likes} = '' OR regexp_full_match({likes}, $likes))"
    )
    distinct = ", ".join(f"list(DISTINCT {value})" for value in (date, campaign, creator))
    values = ", ".join(f"list(DISTINCT {value})" for value in breakdowns)
    statement = (
        f"SELECT count(*), count(*) FILTER (WHERE NOT coalesce({fast}, false)), "  # noqa: S608
        f"{distinct}, {values} FROM ({lines_sql()})"
    )
    parameters = {"path": str(path), "measures": _VALID_MEASURES.pattern, "likes": _FAST_COUNT}
    row = connection.execute(statement, parameters).fetchone()
    assert row is not None  # an aggregate always has a row
    rows, failed, dates, campaigns, creators, *found = row
    lists = [list(values or []) for values in (dates, campaigns, creators, *found)]
    return Survey(rows, failed, *lists[:3], lists[3:])


class ValueKeys:
    """The surrogate keys of one load in value order: `unknown` (and empty) is 0, the other
    values of each breakdown 1, 2, … (keys are internal: breakdown_keys.py)."""

    def __init__(self, values: Sequence[Iterable[str]]) -> None:
        self._values = [
            sorted({value for value in found if value not in ("", UNKNOWN)}) for found in values
        ]

    def rows(self, breakdown: str) -> list[tuple[int, str]]:
        """(key, value) of every value of `breakdown`, `unknown` included."""
        values = self._values[BREAKDOWN_COLUMNS.index(breakdown)]
        return [(0, UNKNOWN), *enumerate(values, start=1)]


def accepted(found: Survey, campaigns: Iterable[str], creators: Iterable[str]) -> bool:
    """The Python path would accept every row: the fast check held for each, and every
    distinct date, id and breakdown value passes the validator's own checks."""
    if found.failed or any(len(values) > MAX_DISTINCT_VALUES for values in found.breakdowns):
        return False
    return (
        all(check_date(date) is None for date in found.dates)
        and set(found.campaigns) <= set(campaigns)
        and set(found.creators) <= set(creators)
        and all(breakdown_problem(v) is None for values in found.breakdowns for v in values)
    )
