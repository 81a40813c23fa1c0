"""Reading and validating a data directory (CONTRACT.md §1), engine-neutral and streaming.

Every row is checked; bad rows are reported by file, line, column and reason, and nothing
of a refused directory reaches a database (the loaders write only after a clean pass).
Lines are physical line numbers, the header being line 1; a quoted field that spans lines
is reported at the line where its record starts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from analytics.domain.identifiers import id_problem

CAMPAIGNS_FILE = "campaigns.csv"
CREATORS_FILE = "creators.csv"
METRICS_FILE = "campaign_daily_metrics.csv"
METRIC_COLUMNS = (
    "metric_date",
    "campaign_id",
    "creator_id",
    "impressions",
    "clicks",
    "conversions",
    "spend",
    "revenue",
)
# Optional (CONTRACT.md §8): breakdowns (text, empty or absent = `unknown`) and likes (a count,
# empty or absent = 0). Stored after METRIC_COLUMNS, in this order.
BREAKDOWN_COLUMNS = ("platform", "region", "device_type", "age_group", "gender", "placement")
OPTIONAL_METRIC_COLUMNS = (*BREAKDOWN_COLUMNS, "likes")
UNKNOWN = "unknown"
MAX_BREAKDOWN_LENGTH = 255
MAX_REPORTED_ERRORS = 20
MAX_COUNT = 2**63 - 1
MAX_MONEY_INTEGER_DIGITS = 16  # NUMERIC(18, 2)


_COUNT = re.compile(r"[0-9]+")
_MONEY = re.compile(r"([0-9]*)(?:\.([0-9]*))?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The common case in one match: three counts that surely fit BIGINT (<= 18 digits), spend,
# and revenue or nothing. A field holding a comma adds a comma and cannot match.
_FAST_COUNT = r"[0-9]{1,18}"
_FAST_MONEY = r"(?:[0-9]{1,16}(?:\.[0-9]{0,2})?|\.[0-9]{1,2})"
_FAST_LIKES = re.compile(_FAST_COUNT)
_NEEDS_QUOTES = re.compile(r'["\r\n]')
_VALID_MEASURES = re.compile(
    rf"{_FAST_COUNT},{_FAST_COUNT},{_FAST_COUNT},{_FAST_MONEY},{_FAST_MONEY}?"
)


@dataclass(frozen=True, slots=True)
class RowError:
    file: str
    line: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.reason}"


class DatasetRefused(Exception):
    """A data directory that breaks the contract; nothing of it was loaded."""

    def __init__(self, source: str, errors: Sequence[RowError], error_count: int) -> None:
        self.source = source
        self.errors = tuple(errors)
        self.error_count = error_count
        super().__init__(self.summary())

    def summary(self) -> str:
        noun = "error" if self.error_count == 1 else "errors"
        lines = [f"data directory '{self.source}' refused ({self.error_count} {noun}):"]
        lines += [f"  {error}" for error in self.errors]
        if self.error_count > len(self.errors):
            lines.append(f"  ... and {self.error_count - len(self.errors)} more")
        return "\n".join(lines)


@dataclass
class ErrorLog:
    """Collects errors: the first ones in full, the rest counted."""

    limit: int = MAX_REPORTED_ERRORS
    errors: list[RowError] = field(default_factory=list)
    count: int = 0
    unreadable: set[str] = field(default_factory=set)

    def add(self, file: str, line: int | None, column: str | None, reason: str) -> None:
        self.count += 1
        if len(self.errors) < self.limit:
            self.errors.append(RowError(file, line, column, reason))

    def raise_if_any(self, source: str) -> None:
        if self.count:
            raise DatasetRefused(source, self.errors, self.count)


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _decoded(binary: BinaryIO, file: str, errors: ErrorLog) -> Iterator[str]:
    """Lines as text; a line that is not UTF-8 is reported with its exact number."""
    for number, raw in enumerate(binary, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            errors.add(file, number, None, "not valid UTF-8")
            text = raw.decode("utf-8", errors="replace")
        yield text.removeprefix("\ufeff") if number == 1 else text


def _positions(
    header: list[str], required: Sequence[str], file: str, errors: ErrorLog
) -> list[int] | None:
    names = [name.strip() for name in header]
    positions = []
    for column in required:
        found = [index for index, name in enumerate(names) if name == column]
        if len(found) != 1:
            problem = "is missing" if not found else "appears more than once"
            errors.add(file, 1, column, f"required column {problem} in the header")
            continue
        positions.append(found[0])
    return positions if len(positions) == len(required) else None


def _open(path: Path, errors: ErrorLog) -> BinaryIO | None:
    file = path.name
    if not path.is_file():
        errors.add(file, None, None, "file is missing")
        errors.unreadable.add(file)
        return None
    try:
        return path.open("rb")
    except OSError as error:
        errors.add(file, None, None, f"cannot be read: {error.strerror}")
        errors.unreadable.add(file)
        return None


def _optional_positions(
    header: list[str], optional: Sequence[str], file: str, errors: ErrorLog
) -> list[int] | None:
    """Positions of the optional columns the header holds ([] when it holds none)."""
    names = [name.strip() for name in header]
    found = [[index for index, name in enumerate(names) if name == column] for column in optional]
    for column, places in zip(optional, found, strict=True):
        if len(places) > 1:
            errors.add(file, 1, column, "optional column appears more than once in the header")
    if any(len(places) > 1 for places in found):
        return None
    if not any(found):
        return []
    return [places[0] if places else -1 for places in found]


def read_records(
    path: Path, required: Sequence[str], errors: ErrorLog, optional: Sequence[str] = ()
) -> Iterator[tuple[int, list[str], str | None]]:
    """(line, the required fields in `required` order, the line itself or None) for every
    data record of a CSV file.

    When the header holds any of the `optional` columns, every record's fields go on with
    those of `optional`, in that order (an absent one is empty); when it holds none, records
    have the required fields only.

    Lines without a double quote are split on commas (the common case, several times faster
    than the csv module); from the first line holding a quote on, the csv module reads the
    rest. The line itself (without its line break) is given when the record is one unquoted
    line whose columns are exactly `required`, so it can be passed on as it is.
    """
    binary = _open(path, errors)
    if binary is None:
        return
    file = path.name
    with binary:
        lines = _decoded(binary, file, errors)
        first = next(lines, None)
        try:
            header = None if first is None else next(csv.reader([first], strict=True), None)
        except csv.Error as error:
            errors.add(file, 1, None, f"malformed CSV header: {error}")
            errors.unreadable.add(file)
            return
        if header is None:
            errors.add(file, 1, None, "file is empty: a header row is required")
        positions = None if header is None else _positions(header, required, file, errors)
        extra = None if header is None else _optional_positions(header, optional, file, errors)
        if positions is None or extra is None:
            errors.unreadable.add(file)
            return
        width = len(header)
        if extra:  # an absent optional column reads the always-empty field at `width`
            positions = positions + [width if index < 0 else index for index in extra]
        as_is = positions == list(range(width))
        for number, text in enumerate(lines, start=2):
            if '"' in text:
                rest = itertools.chain([text], lines)
                yield from _quoted_records(rest, number, width, positions, file, errors)
                return
            record = text.rstrip("\r\n")
            if not record:
                continue  # a blank line holds no record
            fields = record.split(",")
            if len(fields) != width:
                reason = f"expected {width} fields as in the header, found {len(fields)}"
                errors.add(file, number, None, reason)
            elif as_is:
                yield number, fields, record
            else:
                fields.append("")  # the always-empty field
                yield number, [fields[position] for position in positions], None


def _quoted_records(
    lines: Iterator[str],
    first_line: int,
    width: int,
    positions: list[int],
    file: str,
    errors: ErrorLog,
) -> Iterator[tuple[int, list[str], None]]:
    """The csv module's reading of the rest of a file, from `first_line` on (RFC 4180)."""
    reader = csv.reader(lines, strict=True)
    offset = first_line - 1
    line_end = 0  # last physical line of the previous record, counted by the reader
    try:
        for record in reader:
            line, line_end = offset + line_end + 1, reader.line_num
            if not record:
                continue
            if len(record) != width:
                reason = f"expected {width} fields as in the header, found {len(record)}"
                errors.add(file, line, None, reason)
                continue
            record.append("")  # the always-empty field
            yield line, [record[position] for position in positions], None
    except csv.Error as error:
        # At the record's first line: an unclosed quote is only noticed at the end of file.
        errors.add(file, offset + line_end + 1, None, f"malformed CSV: {error}")


def read_rows(
    path: Path, required: Sequence[str], errors: ErrorLog
) -> Iterator[tuple[int, list[str]]]:
    """(line, the required fields in `required` order) for every data record of a CSV file."""
    for line, fields, _ in read_records(path, required, errors):
        yield line, fields


def read_dimension(
    path: Path, id_column: str, name_column: str, errors: ErrorLog
) -> dict[str, str] | None:
    """id → name of a dimension file; None when the file could not be read at all."""
    names: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for line, (entity_id, name) in read_rows(path, (id_column, name_column), errors):
        if (problem := id_problem(entity_id)) is not None:
            errors.add(path.name, line, id_column, problem)
        elif "\x00" in name:
            errors.add(path.name, line, name_column, "name must not contain a NUL character")
        elif entity_id in first_line:
            reason = f"duplicate id {_show(entity_id)} (first on line {first_line[entity_id]})"
            errors.add(path.name, line, id_column, reason)
        else:
            names[entity_id] = name
            first_line[entity_id] = line
    return None if path.name in errors.unreadable else names


def check_count(text: str) -> str | None:
    """Why `text` is not a count (an integer >= 0), or None."""
    if _COUNT.fullmatch(text):
        return None if len(text) < 19 or int(text) <= MAX_COUNT else f"{_show(text)} is too large"
    if text.startswith("-") and _COUNT.fullmatch(text[1:]):
        return f"{_show(text)} is negative"
    return "is required" if text == "" else f"{_show(text)} is not a whole number"


def check_money(text: str) -> str | None:
    """Why `text` is not an amount (a decimal >= 0 with at most 2 places), or None."""
    match = _MONEY.fullmatch(text)
    if match and (match.group(1) or match.group(2)):
        whole, fraction = match.group(1), match.group(2) or ""
        if len(fraction) > 2:
            return f"{_show(text)} has more than 2 decimal places"
        if len(whole.lstrip("0")) > MAX_MONEY_INTEGER_DIGITS:
            return f"{_show(text)} is too large"
        return None
    if text.startswith("-") and check_money(text[1:]) is None:
        return f"{_show(text)} is negative"
    return "is required" if text == "" else f"{_show(text)} is not a decimal number"


def check_date(text: str) -> str | None:
    """Why `text` is not a YYYY-MM-DD calendar date, or None."""
    if _DATE.fullmatch(text):
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            return f"{_show(text)} is not a calendar date"
        return None
    return "is required" if text == "" else f"{_show(text)} is not a date (YYYY-MM-DD)"


def breakdown_problem(text: str) -> str | None:
    """Why `text` cannot be a breakdown value (empty is fine: it means `unknown`), or None."""
    if len(text) > MAX_BREAKDOWN_LENGTH:
        return f"is longer than {MAX_BREAKDOWN_LENGTH} characters"
    if "\x00" in text:
        return "must not contain a NUL character"
    return None


Tail = Callable[[tuple[str, ...], str], str]
"""The end of a metric line from its breakdown values (`unknown` for empty) and its likes
("" for none): `,` + the stored fields + the line break (the loader's surrogate keys)."""


def text_tail(breakdowns: tuple[str, ...], likes: str) -> str:
    """The breakdowns as text and likes as a count (0 for none)."""
    return csv_line(["", *breakdowns, likes or "0"])


class MetricsValidator:
    """Checks metric records; ids against the dimensions (skipped for an unreadable one)."""

    def __init__(
        self,
        campaign_ids: Iterable[str] | None,
        creator_ids: Iterable[str] | None,
        errors: ErrorLog,
        tail: Tail = text_tail,
    ) -> None:
        self._campaigns = None if campaign_ids is None else frozenset(campaign_ids)
        self._creators = None if creator_ids is None else frozenset(creator_ids)
        self._errors = errors
        self._tail = tail
        self._good_dates: set[str] = set()

    @property
    def dates(self) -> frozenset[str]:
        """The valid dates seen so far (YYYY-MM-DD)."""
        return frozenset(self._good_dates)

    def lines(self, path: Path) -> Iterator[str]:
        """The valid rows of a metrics file as CSV lines (with their line break): the
        METRIC_COLUMNS fields, revenue empty when unknown, then `tail` of the breakdowns
        (`unknown` when empty or absent) and likes; errors are logged.

        Rows are checked by one pattern first; only a row that fails it is examined field by
        field to say what is wrong. The required fields of a record read from one unquoted
        line are passed on as they are; any other record is written anew."""
        campaigns, creators, good_dates = self._campaigns, self._creators, self._good_dates
        plain, tail = len(METRIC_COLUMNS), self._tail  # locals: the hot loop
        absent = tail((UNKNOWN,) * len(BREAKDOWN_COLUMNS), "")
        records = read_records(path, METRIC_COLUMNS, self._errors, OPTIONAL_METRIC_COLUMNS)
        for line, fields, text in records:
            base = fields if len(fields) == plain else fields[:plain]
            date, campaign, creator, impressions, clicks, conversions, spend, revenue = base
            valid = (
                date in good_dates
                and (campaigns is None or campaign in campaigns)
                and (creators is None or creator in creators)
                and _VALID_MEASURES.fullmatch(
                    f"{impressions},{clicks},{conversions},{spend},{revenue}"
                )
            )
            if len(fields) != plain:
                row = self._optional_row(path.name, line, fields, checked=bool(valid))
                if row is not None:
                    yield row
                continue
            if not valid:
                problems = self._problems(fields)
                for column, reason in problems:
                    self._errors.add(path.name, line, column, reason)
                if problems:
                    continue
            yield (text if text is not None else csv_line(fields)[:-1]) + absent

    def _optional_row(
        self, file: str, line: int, fields: list[str], *, checked: bool
    ) -> str | None:
        """A record with optional columns as a line, or None (its errors logged). `checked`:
        its required fields already passed the fast check."""
        base, breakdowns, likes = fields[:8], fields[8:-1], fields[-1]
        fast = (
            checked
            and (likes == "" or _FAST_LIKES.fullmatch(likes))
            and all(len(v) <= MAX_BREAKDOWN_LENGTH and "\x00" not in v for v in breakdowns)
        )
        if not fast:
            return self._with_optional(file, line, fields)
        values = tuple(value or UNKNOWN for value in breakdowns)
        return _base_text(base) + self._tail(values, likes)

    def _with_optional(self, file: str, line: int, fields: list[str]) -> str | None:
        """A record with optional columns as a line, or None (its errors logged)."""
        base, breakdowns, likes = fields[:8], fields[8:-1], fields[-1]
        problems = self._problems(base)
        values = []
        for column, value in zip(BREAKDOWN_COLUMNS, breakdowns, strict=True):
            reason = breakdown_problem(value)
            if reason is not None:
                problems.append((column, reason))
            values.append(value or UNKNOWN)
        reason = None if likes == "" else check_count(likes)
        if reason is not None:
            problems.append(("likes", reason))
        for column, reason in problems:
            self._errors.add(file, line, column, reason)
        return None if problems else _base_text(base) + self._tail(tuple(values), likes)

    def _problems(self, fields: list[str]) -> list[tuple[str, str]]:
        date, campaign, creator, impressions, clicks, conversions, spend, revenue = fields
        problems = []
        if date not in self._good_dates:
            reason = check_date(date)
            if reason is None:
                self._good_dates.add(date)
            else:
                problems.append(("metric_date", reason))
        if self._campaigns is not None and campaign not in self._campaigns:
            problems.append(
                ("campaign_id", f"unknown id {_show(campaign)} (not in {CAMPAIGNS_FILE})")
            )
        if self._creators is not None and creator not in self._creators:
            problems.append(("creator_id", f"unknown id {_show(creator)} (not in {CREATORS_FILE})"))
        for column, value in (
            ("impressions", impressions),
            ("clicks", clicks),
            ("conversions", conversions),
        ):
            reason = check_count(value)
            if reason is not None:
                problems.append((column, reason))
        reason = check_money(spend)
        if reason is not None:
            problems.append(("spend", reason))
        reason = None if revenue == "" else check_money(revenue)
        if reason is not None:
            problems.append(("revenue", reason))
        return problems


def _base_text(fields: list[str]) -> str:
    """The required fields as CSV (no line break): joined as they are when none needs
    quoting (the common case), else written by the csv module."""
    joined = ",".join(fields)
    if joined.count(",") == len(fields) - 1 and not _NEEDS_QUOTES.search(joined):
        return joined
    return csv_line(fields)[:-1]


def csv_line(fields: Sequence[object]) -> str:
    """One CSV record (RFC 4180 quoting as needed, `\\n`-terminated); None is written empty."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(fields)
    return out.getvalue()
