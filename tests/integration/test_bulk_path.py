"""The loader's bulk path (DuckDB checks a plain metrics file and writes its rows) against the
Python path, over random small files, valid and not: it declines, or it stores exactly what
the Python path stores, and it never accepts a file the Python path refuses."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from analytics.adapters import bulk_metrics, bulk_publish, load_phases
from analytics.adapters.breakdown_keys import BreakdownKeys
from analytics.adapters.bulk_metrics import ValueKeys
from analytics.adapters.csv_dataset import (
    BREAKDOWN_COLUMNS,
    METRIC_COLUMNS,
    OPTIONAL_METRIC_COLUMNS,
    DatasetRefused,
    ErrorLog,
    MetricsValidator,
)
from analytics.adapters.dataset_loader import load_dataset
from analytics.api.app import create_app
from analytics.settings import Settings
from tests.explorer_reference import Dataset, answer
from tests.integration import test_metrics_explorer as explorer

CAMPAIGNS = ("cmp-1", "cmp-ü")
CREATORS = ("crt-1", "crt-10")
COUNTS = ("impressions", "clicks", "conversions")
# Valid values the validator's fast check passes: the bulk path must accept a plain file of these.
FAST = {
    "metric_date": ["2025-01-01", "2024-02-29", "2025-12-31"],
    "campaign_id": list(CAMPAIGNS),
    "creator_id": list(CREATORS),
    **{count: ["0", "7", "007", "9" * 18] for count in COUNTS},
    "spend": ["0", "5.", ".5", "5.50", "9" * 16 + ".99"],
    "revenue": ["", "0", "12.3"],
    **{name: ["", "ios", "unknown", "é", " web ", "x" * 255] for name in BREAKDOWN_COLUMNS},
    "likes": ["", "0", "42", "9" * 18],
    "note": ["", "any text", "1.234"],  # a column the contract ignores
}
# Valid for the Python path, but only after its field-by-field check (or only as it reads
# lines): the bulk path declines them.
SLOW = {
    **{count: ["1" * 19] for count in COUNTS},
    "spend": ["0" * 17 + "1.5"],
    "likes": ["1" * 19],
    "platform": ["a\rb"],  # a carriage return inside a field
}
INVALID = {
    "metric_date": ["2025-02-30", "0000-01-01", "2025-1-01", "", "20250101", "2025-01-01 "],
    "campaign_id": ["cmp-404", "", " cmp-1"],
    "creator_id": ["crt-404", "CRT-1"],
    **{count: ["-1", "1.0", "", " 1", "9" * 20, "1e3", "\u0661"] for count in COUNTS},
    "spend": ["1.234", "-1", "", "1e3", "9" * 17],
    "revenue": ["-0.5", "1.234", "abc"],
    "region": ["x" * 256, "a\x00b"],
    "likes": ["-1", "1.5", "9" * 20],
}


def _kind(column: str, value: str) -> str:
    if value in FAST.get(column, ()):
        return "fast"
    return "slow" if value in SLOW.get(column, ()) else "invalid"


@dataclass
class MetricsFile:
    text: str
    plain: bool  # the bulk path must take it: every value fast, nothing it declines


@st.composite
def metrics_files(draw: st.DrawFn) -> MetricsFile:
    required = list(METRIC_COLUMNS)
    plain = True
    if draw(st.integers(0, 9)) == 0:  # a required column missing or twice: line 1 refused
        column = draw(st.sampled_from(required))
        required.remove(column) if draw(st.booleans()) else required.append(column)
        plain = False
    optional = draw(st.lists(st.sampled_from(OPTIONAL_METRIC_COLUMNS), unique=True))
    if optional and draw(st.integers(0, 9)) == 0:  # an optional column twice
        optional.append(optional[0])
        plain = False
    extra = draw(st.lists(st.just("note"), max_size=1))
    header = draw(st.permutations(required + optional + extra))
    names = [f" {name}" if draw(st.integers(0, 5)) == 0 else name for name in header]
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [",".join(names)]
    for _ in range(draw(st.integers(0, 5))):
        fields = []
        spoiled = draw(st.sampled_from(header)) if draw(st.integers(0, 3)) == 0 else None
        for column in header:
            choices = FAST[column]
            if column == spoiled:  # one value of this row may be one the bulk path declines
                choices = choices + SLOW.get(column, []) + INVALID.get(column, [])
            value = draw(st.sampled_from(choices))
            plain = plain and _kind(column, value) == "fast"
            fields.append(value)
        if draw(st.integers(0, 14)) == 0:  # RFC 4180 quotes: the csv module's reading
            index = draw(st.integers(0, len(fields) - 1))
            fields[index] = f'"{fields[index]}"'
            plain = False
        if draw(st.integers(0, 14)) == 0:  # a trailing comma: one field too many
            fields.append("")
            plain = False
        lines.append(",".join(fields))
        if draw(st.integers(0, 7)) == 0:
            lines.append("")  # a blank line
    bom = "\ufeff" if draw(st.integers(0, 5)) == 0 else ""
    last = ending if draw(st.integers(0, 4)) else ""  # the last line ends the file, or not
    return MetricsFile(bom + ending.join(lines) + last, plain)


Row = tuple[object, ...]


def _row(fields: list[str], values: dict[int, dict[int, str]]) -> Row:
    """A stored row as values: METRIC_COLUMNS, the six breakdown values, likes."""
    date, campaign, creator, impressions, clicks, conversions, spend, revenue = fields[:8]
    keys, likes = fields[8:14], fields[14]
    return (
        date,
        campaign,
        creator,
        *(int(count) for count in (impressions, clicks, conversions)),
        Decimal(spend),
        None if revenue == "" else Decimal(revenue),
        *(values[index][int(key)] for index, key in enumerate(keys)),
        int(likes),
    )


def _values(keys: BreakdownKeys | ValueKeys) -> dict[int, dict[int, str]]:
    return {i: dict(keys.rows(name)) for i, name in enumerate(BREAKDOWN_COLUMNS)}


@dataclass
class Stored:
    rows: list[Row]
    dates: set[str]
    dimensions: dict[int, set[str]]


def _python_path(path: Path) -> tuple[Stored, ErrorLog]:
    errors, keys = ErrorLog(), BreakdownKeys()
    validator = MetricsValidator(CAMPAIGNS, CREATORS, errors, tail=keys.tail)
    lines = list(validator.lines(path))
    values = _values(keys)
    rows = sorted((_row(fields, values) for fields in csv.reader(lines)), key=repr)
    dimensions = {i: set(found.values()) for i, found in values.items()}
    return Stored(rows, set(validator.dates), dimensions), errors


def _bulk_path(path: Path) -> Stored | None:
    declined: list[str] = []
    with bulk_publish.bulk_facts(
        path, CAMPAIGNS, CREATORS, tenant_id="t", declined=declined.append
    ) as bulk:
        if bulk is None:
            assert declined
            return None
        values = _values(bulk.keys)
        with bulk.facts.open(encoding="utf-8", newline="") as facts:
            rows = sorted((_row(fields[1:], values) for fields in csv.reader(facts)), key=repr)
        dimensions = {i: set(found.values()) for i, found in values.items()}
        return Stored(rows, set(bulk.dates), dimensions)


@contextmanager
def _written(text: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "campaign_daily_metrics.csv"
        path.write_bytes(text.encode("utf-8"))
        yield path


@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file=metrics_files())
def test_the_bulk_path_declines_or_stores_what_the_python_path_stores(file: MetricsFile) -> None:
    with _written(file.text) as path:
        python, errors = _python_path(path)
        bulk = _bulk_path(path)
    event("refused" if errors.count else "bulk" if bulk is not None else "declined")
    if errors.count:  # refused: the Python path runs and reports (nothing accepted here)
        assert bulk is None
        return
    if file.plain:
        assert bulk is not None
    if bulk is not None:
        assert bulk.rows == python.rows
        assert bulk.dates == python.dates
        assert bulk.dimensions == python.dimensions


def test_a_plain_file_of_every_shape_is_taken_by_the_bulk_path() -> None:
    header = f"likes,gender,{','.join(METRIC_COLUMNS)},platform,note"
    lines = [
        header,
        "7,f,2025-01-01,cmp-1,crt-1,1,2,3,4.5,,ios,x",
        ",,2025-01-02,cmp-ü,crt-10,0,0,0,0,0,,",
    ]
    with _written("\ufeff" + "\r\n".join(lines)) as path:
        bulk = _bulk_path(path)
        python, errors = _python_path(path)
    assert bulk is not None
    assert not errors.count
    assert bulk.rows == python.rows
    assert bulk.rows[0][8:] == ("ios", "unknown", "unknown", "unknown", "f", "unknown", 7)


def test_any_duckdb_error_declines_before_anything_is_written(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def failing(*args: object, **options: object) -> None:
        raise duckdb.IOException("disk full")

    monkeypatch.setattr(bulk_publish, "write_facts", failing)
    with _written(",".join(METRIC_COLUMNS) + "\n2025-01-01,cmp-1,crt-1,1,2,3,4.5,\n") as path:
        assert _bulk_path(path) is None


# --- on PostgreSQL: the same answers, whichever path loaded the files ------------------------

PLAIN_ROWS = [  # the explorer's random rows, without the one value that needs quotes
    {key: value.replace('"', "").replace(",", " ") for key, value in row.items()}
    for row in explorer.ROWS
]
THRESHOLDS = {campaign: {"min_ctr": 0.05, "min_roas": 1.5} for campaign in Dataset([]).campaigns}


class Phases:
    def __init__(self) -> None:
        self.names: list[str] = []

    def phase(self, name: str) -> None:
        self.names.append(name)

    def rows(self, count: int) -> None:
        pass


def _load(url: str, data_dir: Path, tenant: str, *, bulk: bool) -> list[str]:
    """Load `data_dir` into `tenant` through one path; the phases that ran."""
    engine = create_engine(url)
    phases = Phases()
    enabled, bulk_publish.ENABLED = bulk_publish.ENABLED, bulk
    try:
        load_dataset(
            engine,
            data_dir,
            dataset_name=tenant,
            tenant_id=tenant,
            create_tenant=True,
            progress=phases,
        )
    finally:
        bulk_publish.ENABLED = enabled
        engine.dispose()
    return phases.names


def _out_of_memory(*args: object, **options: object) -> None:
    raise duckdb.OutOfMemoryException("could not allocate block")


@pytest.fixture(scope="module")
def both_paths(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> Iterator[dict[str, TestClient]]:
    """The same plain files loaded through each path (and the bulk path with its rollups
    built in SQL), each into a tenant of its own served to anonymous readers."""
    data_dir = Dataset(PLAIN_ROWS, extra={}).write(tmp_path_factory.mktemp("bulk") / "data")
    fixtures = data_dir / "benchmarks.json"
    fixtures.write_text(json.dumps(THRESHOLDS), encoding="utf-8")
    assert _load(postgres_url, data_dir, "bulk-path", bulk=True)[0] == load_phases.COPYING_BULK
    assert _load(postgres_url, data_dir, "python-path", bulk=False)[0] == load_phases.COPYING
    # The bulk path whose DuckDB could not write the rollups: they are built in SQL.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bulk_publish, "write_rollups", _out_of_memory)
        assert (
            _load(postgres_url, data_dir, "sql-rollups", bulk=True)[0] == load_phases.COPYING_BULK
        )
    clients = {}
    for tenant in ("bulk-path", "python-path", "sql-rollups"):
        settings = Settings(
            database_url=postgres_url, anonymous_tenant=tenant, benchmark_fixtures_file=fixtures
        )
        clients[tenant] = TestClient(create_app(settings)).__enter__()
    yield clients
    for client in clients.values():
        client.__exit__(None, None, None)


def test_part_one_answers_the_same_bytes_whichever_path_loaded(
    both_paths: dict[str, TestClient],
) -> None:
    paths = ["/campaigns/cmp-404/performance", "/creators/top?campaign_id=cmp-1&limit=1000"]
    for campaign in Dataset([]).campaigns:
        paths += [
            f"/campaigns/{campaign}/performance",
            f"/campaigns/{campaign}/anomalies",
            f"/creators/top?campaign_id={campaign}",
        ]
    for path in paths:
        python = both_paths["python-path"].get(path)
        for name in ("bulk-path", "sql-rollups"):
            bulk = both_paths[name].get(path)
            assert (bulk.status_code, bulk.content) == (python.status_code, python.content), path
    assert both_paths["bulk-path"].get(paths[-1]).json()["creators"]


def test_metrics_answers_the_same_bytes_whichever_path_loaded(
    both_paths: dict[str, TestClient],
) -> None:
    @hypothesis_settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(params=explorer.questions())
    def check(params: dict[str, object]) -> None:
        whole = {**params, "limit": 1000}
        bulk, python, sql_rollups = (c.get("/metrics", params=whole) for c in both_paths.values())
        assert bulk.status_code == 200
        assert bulk.content == python.content == sql_rollups.content
        assert bulk.json()["rows"] == answer(PLAIN_ROWS, params)

    check()


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
@pytest.mark.parametrize(
    ("data", "plain"),
    [
        (b"a,b\r\n1,2\r\n", True),
        (b"a,b\n1,2\r\n\r\n", True),
        (b"a,b\r\n1,2\r", False),  # a carriage return ending the file
        (b"a,b\r\n1,\r2\r\n", False),  # inside a line
        (b"a,b\r\r\n1,2\n", False),
        (b'a,b\n1,"2"\n', False),
        (b"a,b\n1,\xc3\xa9\n", True),
        (b"a,b\n1,\xc3\n", False),  # not UTF-8
        (b"a,b\n1,\x002\n", False),
    ],
)
def test_only_plain_bytes_go_the_bulk_way_however_the_file_is_chunked(
    data: bytes, plain: bool, chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_metrics, "SCAN_CHUNK", chunk)
    path = tmp_path / "metrics.csv"
    path.write_bytes(data)
    assert bulk_metrics._plain_bytes(path) is plain


@pytest.mark.parametrize(
    "bad_line",
    [
        "2025-01-01,cmp-1,crt-1,1,2,x,4.5,,ios,1",  # not a count
        "2025-02-30,cmp-1,crt-1,1,2,3,4.5,,ios,1",  # not a calendar date
        "0000-01-01,cmp-1,crt-1,1,2,3,4.5,,ios,1",
        "2025-01-01,cmp-404,crt-1,1,2,3,4.567,,ios,1",  # unknown id, 3 decimal places
        f"2025-01-01,cmp-1,crt-1,1,2,3,4.5,,{'x' * 256},-1",  # too long, negative likes
    ],
)
def test_a_refused_plain_file_gets_the_same_report_with_or_without_the_bulk_path(
    bad_line: str, postgres_url: str, tmp_path: Path
) -> None:
    header = f"{','.join(METRIC_COLUMNS)},platform,likes"
    metrics = "\n".join([header, "2025-01-01,cmp-1,crt-1,1,2,3,4.5,,ios,1", bad_line]) + "\n"
    data_dir = Dataset([]).write(tmp_path / "data")
    (data_dir / "campaign_daily_metrics.csv").write_text(metrics, encoding="utf-8")
    reports = []
    for bulk in (True, False):
        with pytest.raises(DatasetRefused) as refused:
            _load(postgres_url, data_dir, "refused", bulk=bulk)
        reports.append(refused.value.summary())
    assert reports[0] == reports[1]
    assert "line 3" in reports[0]


def test_a_killed_loads_scratch_directory_is_removed_by_the_next_bulk_load(
    tmp_path: Path,
) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()  # its process id is gone now
    gone = tmp_path / f"{bulk_publish.SCRATCH_PREFIX}{finished.pid}-x"
    mine = tmp_path / f"{bulk_publish.SCRATCH_PREFIX}{os.getpid()}-y"
    other = tmp_path / "analytics-other"
    for directory in (gone, mine, other):
        directory.mkdir()
        (directory / "facts.csv").write_text("1\n")
    bulk_publish.remove_stale_scratch(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([mine.name, other.name])
