"""Validating and loading a data directory (CONTRACT.md §1), and refusing a bad one at start-up.

Files are written byte for byte so that line numbers are explicit: the header is line 1.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from analytics.adapters import dataset_loader, migrations, postgres_publish, schema
from analytics.adapters.csv_dataset import DatasetRefused, RowError
from analytics.adapters.dataset_loader import LoadResult, load_dataset
from analytics.adapters.engines import (
    create_database_engine,
    embedded_database_url,
    prepare_schema,
)
from tests.conftest import CONTRACT_VARIABLES, new_postgres_database
from tests.support import METRIC_HEADER

CAMPAIGNS = "campaigns.csv"
CREATORS = "creators.csv"
METRICS = "campaign_daily_metrics.csv"

CAMPAIGNS_TEXT = "campaign_id,campaign_name\ncmp-1,One\ncmp-2,Two\n"
CREATORS_TEXT = "creator_id,creator_name\ncrt-1,Ann\ncrt-2,Bob\n"
METRICS_HEADER = ",".join(METRIC_HEADER)
GOOD_ROW = {
    "metric_date": "2026-01-01",
    "campaign_id": "cmp-1",
    "creator_id": "crt-1",
    "impressions": "100",
    "clicks": "10",
    "conversions": "1",
    "spend": "10.00",
    "revenue": "20.00",
}


def metric_line(**changes: str) -> str:
    return ",".join({**GOOD_ROW, **changes}[column] for column in METRIC_HEADER)


METRICS_TEXT = f"{METRICS_HEADER}\n{metric_line()}\n"


def write_dir(
    path: Path,
    campaigns: str | bytes | None = CAMPAIGNS_TEXT,
    creators: str | bytes | None = CREATORS_TEXT,
    metrics: str | bytes | None = METRICS_TEXT,
) -> Path:
    """A data directory with these exact file contents; None leaves the file out."""
    path.mkdir(parents=True, exist_ok=True)
    for name, content in ((CAMPAIGNS, campaigns), (CREATORS, creators), (METRICS, metrics)):
        if isinstance(content, str):
            content = content.encode("utf-8")
        if content is not None:
            (path / name).write_bytes(content)
    return path


def load_data_dir(engine: Engine, path: Path) -> LoadResult:
    prepare_schema(engine)
    return load_dataset(engine, path, dataset_name=path.name, tenant_id=_tenant, create_tenant=True)


# Every loading test runs on both engines; set per test by the `loader_database` fixture.
_database_url: str | None = None
_tenant = "default"


@pytest.fixture(autouse=True, params=["duckdb", "postgresql"])
def loader_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None: a private in-memory DuckDB per load; else the session's PostgreSQL database,
    where each test loads into a tenant of its own (loads upsert campaigns and creators, so a
    shared tenant would keep those of earlier tests)."""
    global _database_url, _tenant
    _database_url = None if request.param == "duckdb" else request.getfixturevalue("postgres_url")
    _tenant = "default" if _database_url is None else f"t-{uuid.uuid4().hex[:12]}"
    yield _database_url
    _database_url, _tenant = None, "default"


def create_embedded_engine(path: Path) -> Engine:
    engine = create_database_engine(_database_url or embedded_database_url())
    try:
        load_data_dir(engine, path)
    except BaseException:
        engine.dispose()
        raise
    return engine


def refusal(path: Path) -> DatasetRefused:
    with pytest.raises(DatasetRefused) as caught:
        create_embedded_engine(path)
    return caught.value


def first_error(path: Path) -> RowError:
    return refusal(path).errors[0]


def where(error: RowError) -> tuple[str, int | None, str | None]:
    return error.file, error.line, error.column


@pytest.fixture
def engine(loader_database: str | None) -> Iterator[Engine]:
    """An empty database: a private in-memory DuckDB, or a new migrated PostgreSQL one."""
    if loader_database is None:
        engine = create_engine(f"duckdb:///:memory:test-{uuid.uuid4().hex}")
        yield engine
        engine.dispose()
        return
    url, drop = new_postgres_database("analytics_loader")
    engine = create_database_engine(url)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()
    drop()


def table_rows(engine: Engine, table: str) -> list[tuple[object, ...]]:
    """Every row of the test's tenant, in a stable order, in the schema's column order and
    without the tenant column (whose place differs: a migration appended it)."""
    # Plain SQL: values as the driver gives them, without SQLAlchemy's type processing.
    # Nor the catalog's status and times (CONTRACT.md §7), which the catalog tests check.
    skipped = {"tenant_id", "status", "created_at", "updated_at"}
    names = [c.name for c in schema.metadata.tables[table].columns if c.name not in skipped]
    scoped = "tenant_id" in schema.metadata.tables[table].columns
    where = " WHERE tenant_id = :tenant" if scoped else ""
    statement = text(f"SELECT {', '.join(names)} FROM {table}{where}")  # noqa: S608
    with engine.connect() as connection:
        rows = connection.execute(statement, {"tenant": _tenant} if scoped else {})
        return sorted((tuple(row) for row in rows), key=repr)


# --- bad values in the metrics file -------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("impressions", "12x", "'12x' is not a whole number"),
        ("clicks", "1.5", "'1.5' is not a whole number"),
        ("conversions", "-1", "'-1' is negative"),
        ("impressions", "", "is required"),
        ("clicks", str(2**63), f"'{2**63}' is too large"),
        ("spend", "1.234", "'1.234' has more than 2 decimal places"),
        ("spend", "-0.01", "'-0.01' is negative"),
        ("spend", "", "is required"),
        ("spend", "1e3", "'1e3' is not a decimal number"),
        ("revenue", "5.001", "'5.001' has more than 2 decimal places"),
        ("revenue", "-5.00", "'-5.00' is negative"),
        ("revenue", "n/a", "'n/a' is not a decimal number"),
        ("metric_date", "2026-02-30", "'2026-02-30' is not a calendar date"),
        ("metric_date", "2026/01/01", "'2026/01/01' is not a date (YYYY-MM-DD)"),
        ("metric_date", "2026-1-01", "'2026-1-01' is not a date (YYYY-MM-DD)"),
        ("metric_date", "", "is required"),
        ("campaign_id", "cmp-404", "unknown id 'cmp-404' (not in campaigns.csv)"),
        ("creator_id", "crt-404", "unknown id 'crt-404' (not in creators.csv)"),
        ("campaign_id", "CMP-1", "unknown id 'CMP-1' (not in campaigns.csv)"),
    ],
)
def test_bad_metric_value_is_refused_naming_file_line_column_and_reason(
    tmp_path: Path, column: str, value: str, reason: str
) -> None:
    metrics = f"{METRICS_HEADER}\n{metric_line()}\n{metric_line(**{column: value})}\n"
    refused = refusal(write_dir(tmp_path, metrics=metrics))
    assert refused.error_count == 1
    assert refused.errors == (RowError(METRICS, 3, column, reason),)


def test_row_error_reads_file_line_column_then_reason() -> None:
    error = RowError(METRICS, 3, "spend", "'-1' is negative")
    assert str(error) == "campaign_daily_metrics.csv, line 3, column 'spend': '-1' is negative"
    assert str(RowError(METRICS, None, None, "file is missing")) == (
        "campaign_daily_metrics.csv: file is missing"
    )


def test_every_bad_field_of_a_row_is_reported(tmp_path: Path) -> None:
    bad = metric_line(metric_date="2026-13-01", clicks="-2", revenue="x")
    refused = refusal(write_dir(tmp_path, metrics=f"{METRICS_HEADER}\n{bad}\n"))
    assert [where(error) for error in refused.errors] == [
        (METRICS, 2, "metric_date"),
        (METRICS, 2, "clicks"),
        (METRICS, 2, "revenue"),
    ]


def test_errors_of_every_file_are_reported_in_file_order(tmp_path: Path) -> None:
    campaigns = CAMPAIGNS_TEXT + "cmp-1,Again\n"
    metrics = f"{METRICS_HEADER}\n{metric_line(spend='abc')}\n"
    refused = refusal(write_dir(tmp_path, campaigns=campaigns, metrics=metrics))
    assert [where(error) for error in refused.errors] == [
        (CAMPAIGNS, 4, "campaign_id"),
        (METRICS, 2, "spend"),
    ]


def test_many_errors_are_counted_and_the_first_twenty_listed(tmp_path: Path) -> None:
    rows = "".join(f"{metric_line(clicks='x')}\n" for _ in range(25))
    refused = refusal(write_dir(tmp_path, metrics=f"{METRICS_HEADER}\n{rows}"))
    assert refused.error_count == 25
    assert [error.line for error in refused.errors] == list(range(2, 22))
    assert refused.summary().splitlines()[0] == (
        f"data directory '{tmp_path}' refused (25 errors):"
    )
    assert refused.summary().splitlines()[-1] == "  ... and 5 more"


# --- the dimension files -------------------------------------------------------------------


def test_duplicate_campaign_id_is_refused_at_its_second_line(tmp_path: Path) -> None:
    campaigns = CAMPAIGNS_TEXT + "cmp-1,Again\n"
    assert first_error(write_dir(tmp_path, campaigns=campaigns)) == RowError(
        CAMPAIGNS, 4, "campaign_id", "duplicate id 'cmp-1' (first on line 2)"
    )


def test_duplicate_creator_id_is_refused_at_its_second_line(tmp_path: Path) -> None:
    creators = "creator_id,creator_name\ncrt-1,Ann\ncrt-2,Bob\ncrt-2,Bobby\n"
    assert first_error(write_dir(tmp_path, creators=creators)) == RowError(
        CREATORS, 4, "creator_id", "duplicate id 'crt-2' (first on line 3)"
    )


def test_empty_id_is_refused(tmp_path: Path) -> None:
    campaigns = CAMPAIGNS_TEXT + ",Nameless\n"
    assert first_error(write_dir(tmp_path, campaigns=campaigns)) == RowError(
        CAMPAIGNS, 4, "campaign_id", "id must not be empty"
    )


def test_an_id_longer_than_255_characters_is_refused(tmp_path: Path) -> None:
    creators = CREATORS_TEXT + "c" * 256 + ",Long\n"
    assert first_error(write_dir(tmp_path, creators=creators)) == RowError(
        CREATORS, 4, "creator_id", "id is longer than 255 characters"
    )


def test_an_id_of_255_characters_loads(tmp_path: Path, engine: Engine) -> None:
    campaigns = CAMPAIGNS_TEXT + "c" * 255 + ",Longest\n"
    assert load_data_dir(engine, write_dir(tmp_path, campaigns=campaigns)).campaigns == 3


@pytest.mark.parametrize(
    ("campaigns", "column", "reason"),
    [
        (CAMPAIGNS_TEXT + "cmp-\x00,Nul\n", "campaign_id", "id must not contain a NUL character"),
        (
            CAMPAIGNS_TEXT + "cmp-3,N\x00l\n",
            "campaign_name",
            "name must not contain a NUL character",
        ),
    ],
)
def test_a_nul_character_is_refused_on_every_engine(
    tmp_path: Path, campaigns: str, column: str, reason: str
) -> None:
    assert first_error(write_dir(tmp_path, campaigns=campaigns)) == RowError(
        CAMPAIGNS, 4, column, reason
    )


@pytest.mark.parametrize(
    ("file", "content", "column"),
    [
        (CAMPAIGNS, "campaign_id,name\ncmp-1,One\n", "campaign_name"),
        (CAMPAIGNS, "id,campaign_name\ncmp-1,One\n", "campaign_id"),
        (CREATORS, "creator_name\nAnn\n", "creator_id"),
        (CREATORS, "creator_id,creator_nam\ncrt-1,Ann\n", "creator_name"),
        (METRICS, METRICS_HEADER.replace(",revenue", "") + "\n", "revenue"),
        (METRICS, METRICS_HEADER.replace("metric_date", "date") + "\n", "metric_date"),
        (METRICS, METRICS_HEADER.replace("clicks", "Clicks") + "\n", "clicks"),
    ],
)
def test_missing_required_column_is_refused_on_the_header_line(
    tmp_path: Path, file: str, content: str, column: str
) -> None:
    path = write_dir(tmp_path)
    (path / file).write_text(content, encoding="utf-8")
    assert first_error(path) == RowError(
        file, 1, column, "required column is missing in the header"
    )


def test_required_column_given_twice_is_refused(tmp_path: Path) -> None:
    campaigns = "campaign_id,campaign_name,campaign_id\ncmp-1,One,cmp-1\n"
    assert first_error(write_dir(tmp_path, campaigns=campaigns)) == RowError(
        CAMPAIGNS, 1, "campaign_id", "required column appears more than once in the header"
    )


@pytest.mark.parametrize("file", [CAMPAIGNS, CREATORS, METRICS])
def test_missing_file_is_refused(tmp_path: Path, file: str) -> None:
    path = write_dir(tmp_path)
    (path / file).unlink()
    refused = refusal(path)
    # An unreadable dimension file does not turn every metric row into an "unknown id".
    assert refused.error_count == 1
    assert refused.errors[0] == RowError(file, None, None, "file is missing")


def test_missing_data_directory_reports_every_file_missing(tmp_path: Path) -> None:
    refused = refusal(tmp_path / "nowhere")
    assert [where(error) for error in refused.errors] == [
        (CAMPAIGNS, None, None),
        (CREATORS, None, None),
        (METRICS, None, None),
    ]


@pytest.mark.parametrize("file", [CAMPAIGNS, CREATORS, METRICS])
def test_empty_file_is_refused(tmp_path: Path, file: str) -> None:
    path = write_dir(tmp_path)
    (path / file).write_bytes(b"")
    refused = refusal(path)
    assert refused.error_count == 1
    assert refused.errors[0] == RowError(file, 1, None, "file is empty: a header row is required")


@pytest.mark.parametrize(
    ("line", "found"), [(metric_line() + ",extra", 9), ("2026-01-01,cmp-1,crt-1", 3)]
)
def test_wrong_number_of_fields_is_refused(tmp_path: Path, line: str, found: int) -> None:
    metrics = f"{METRICS_HEADER}\n{metric_line()}\n{line}\n"
    assert first_error(write_dir(tmp_path, metrics=metrics)) == RowError(
        METRICS, 3, None, f"expected 8 fields as in the header, found {found}"
    )


def test_invalid_utf8_is_refused_at_its_exact_line(tmp_path: Path) -> None:
    campaigns = b'campaign_id,campaign_name\ncmp-1,"One\nspans two lines"\ncmp-2,Tw\xff\xfeo\n'
    refused = refusal(write_dir(tmp_path, campaigns=campaigns))
    assert refused.errors == (RowError(CAMPAIGNS, 4, None, "not valid UTF-8"),)


def test_invalid_utf8_in_the_metrics_file_is_refused_at_its_line(tmp_path: Path) -> None:
    metrics = f"{METRICS_HEADER}\n{metric_line()}\n{metric_line()}\n".encode() + b"\xc3(\n"
    assert first_error(write_dir(tmp_path, metrics=metrics)) == RowError(
        METRICS, 4, None, "not valid UTF-8"
    )


def test_latin1_file_is_refused_as_not_utf8(tmp_path: Path) -> None:
    campaigns = "campaign_id,campaign_name\ncmp-1,Été\n".encode("latin-1")
    assert where(first_error(write_dir(tmp_path, campaigns=campaigns))) == (CAMPAIGNS, 2, None)


@pytest.mark.parametrize(
    ("campaigns", "line", "reason"),
    [
        # Text after a closing quote.
        ('campaign_id,campaign_name\ncmp-1,One\ncmp-2,"Two"x\n', 3, "',' expected after '\"'"),
        # A quote that never closes swallows the rest of the file: the record's line counts.
        ('campaign_id,campaign_name\ncmp-1,One\ncmp-2,"Two\ncmp-3,Three\n', 3, "unexpected end"),
        ('campaign_id,campaign_name\ncmp-1,"One', 2, "unexpected end"),
    ],
)
def test_malformed_quoting_is_refused_at_the_line_of_its_record(
    tmp_path: Path, campaigns: str, line: int, reason: str
) -> None:
    error = first_error(write_dir(tmp_path, campaigns=campaigns))
    assert where(error) == (CAMPAIGNS, line, None)
    assert error.reason.startswith("malformed CSV: ")
    assert reason in error.reason


def test_bad_row_after_a_record_spanning_two_lines_is_reported_at_its_own_line(
    tmp_path: Path,
) -> None:
    metrics = (
        f"{METRICS_HEADER},note\n"
        f'{metric_line()},"first line\nsecond line"\n'
        f"{metric_line(impressions='-5')},\n"
    )
    assert first_error(write_dir(tmp_path, metrics=metrics)) == RowError(
        METRICS, 4, "impressions", "'-5' is negative"
    )


def test_duplicate_after_a_multiline_name_is_reported_at_its_own_line(tmp_path: Path) -> None:
    campaigns = 'campaign_id,campaign_name\ncmp-1,"a\nb\nc"\ncmp-2,Two\ncmp-1,Again\n'
    assert first_error(write_dir(tmp_path, campaigns=campaigns)) == RowError(
        CAMPAIGNS, 6, "campaign_id", "duplicate id 'cmp-1' (first on line 2)"
    )


# --- accepted inputs -----------------------------------------------------------------------


def test_column_order_varies_and_extra_columns_are_ignored(tmp_path: Path) -> None:
    campaigns = "owner,campaign_name,campaign_id\nzed,One,cmp-1\n"
    creators = "creator_name,creator_id,tier\nAnn,crt-1,gold\n"
    metrics = (
        "revenue,spend,conversions,clicks,impressions,creator_id,campaign_id,metric_date,note\n"
        "20.50,10.25,1,10,100,crt-1,cmp-1,2026-01-02,ignored\n"
    )
    engine = create_embedded_engine(write_dir(tmp_path, campaigns, creators, metrics))
    assert table_rows(engine, "campaigns") == [("cmp-1", "One")]
    assert table_rows(engine, "creators") == [("crt-1", "Ann")]
    assert [row[:8] for row in table_rows(engine, "campaign_daily_metrics")] == [
        (
            dt.date(2026, 1, 2),
            "cmp-1",
            "crt-1",
            100,
            10,
            1,
            Decimal("10.25"),
            Decimal("20.50"),
        )
    ]
    engine.dispose()


def test_quoted_fields_keep_commas_quotes_and_newlines(tmp_path: Path) -> None:
    campaigns = (
        "campaign_id,campaign_name\n"
        'cmp-1,"Summer Sale, Part 2"\n'
        'cmp-2,"Été ""Preview"""\n'
        'cmp-3,"two\nlines, and ""more"""\n'
        '"cmp-4",""\n'
    )
    engine = create_embedded_engine(write_dir(tmp_path, campaigns=campaigns))
    assert sorted(table_rows(engine, "campaigns")) == [
        ("cmp-1", "Summer Sale, Part 2"),
        ("cmp-2", 'Été "Preview"'),
        ("cmp-3", 'two\nlines, and "more"'),
        ("cmp-4", ""),
    ]
    engine.dispose()


def test_non_ascii_and_punctuated_ids_and_names_load_unchanged(tmp_path: Path) -> None:
    campaigns = "campaign_id,campaign_name\ncmp-ü,Über 🎉\ncmp.dot,Dot\ncmp/slash,Slash\n"
    creators = "creator_id,creator_name\ncrt-10,Zoë\ncrt-9,李\n"
    metrics = (
        f"{METRICS_HEADER}\n"
        f"{metric_line(campaign_id='cmp-ü', creator_id='crt-10')}\n"
        f"{metric_line(campaign_id='cmp.dot', creator_id='crt-9')}\n"
    )
    engine = create_embedded_engine(write_dir(tmp_path, campaigns, creators, metrics))
    assert sorted(table_rows(engine, "campaigns")) == [
        ("cmp-ü", "Über 🎉"),
        ("cmp.dot", "Dot"),
        ("cmp/slash", "Slash"),
    ]
    assert sorted(table_rows(engine, "creators")) == [("crt-10", "Zoë"), ("crt-9", "李")]
    assert sorted(row[1:3] for row in table_rows(engine, "campaign_daily_metrics")) == [
        ("cmp-ü", "crt-10"),
        ("cmp.dot", "crt-9"),
    ]
    engine.dispose()


def test_utf8_bom_crlf_and_trailing_blank_lines_are_accepted(tmp_path: Path) -> None:
    def windows(content: str) -> bytes:
        return b"\xef\xbb\xbf" + content.replace("\n", "\r\n").encode("utf-8") + b"\r\n\r\n"

    campaigns = 'campaign_id,campaign_name\ncmp-1,"line one\nline two"\n'
    path = write_dir(tmp_path, windows(campaigns), windows(CREATORS_TEXT), windows(METRICS_TEXT))
    engine = create_embedded_engine(path)
    assert table_rows(engine, "campaigns") == [("cmp-1", "line one\r\nline two")]
    assert sorted(table_rows(engine, "creators")) == [("crt-1", "Ann"), ("crt-2", "Bob")]
    assert len(table_rows(engine, "campaign_daily_metrics")) == 1
    engine.dispose()


def test_empty_revenue_loads_as_null_and_zero_revenue_as_zero(tmp_path: Path) -> None:
    metrics = f"{METRICS_HEADER}\n{metric_line(revenue='')}\n{metric_line(revenue='0')}\n"
    engine = create_embedded_engine(write_dir(tmp_path, metrics=metrics))
    assert [row[7] for row in table_rows(engine, "campaign_daily_metrics")] == [
        Decimal("0.00"),  # rows come sorted by their repr
        None,
    ]
    engine.dispose()


def test_largest_values_load_exactly(tmp_path: Path) -> None:
    big = str(2**63 - 1)
    row = metric_line(
        impressions=big, clicks=big, conversions="007", spend="9999999999999999.99", revenue=".5"
    )
    engine = create_embedded_engine(write_dir(tmp_path, metrics=f"{METRICS_HEADER}\n{row}\n"))
    assert table_rows(engine, "campaign_daily_metrics")[0][3:8] == (
        2**63 - 1,
        2**63 - 1,
        7,
        Decimal("9999999999999999.99"),
        Decimal("0.50"),
    )
    engine.dispose()


def test_header_only_metrics_file_loads_campaigns_without_metrics(
    tmp_path: Path, engine: Engine
) -> None:
    summary = load_data_dir(engine, write_dir(tmp_path, metrics=METRICS_HEADER + "\n"))
    assert (summary.campaigns, summary.creators, summary.metric_rows) == (2, 2, 0)
    assert table_rows(engine, "campaign_daily_metrics") == []


def test_duplicate_metric_rows_are_all_kept(tmp_path: Path, engine: Engine) -> None:
    metrics = f"{METRICS_HEADER}\n{metric_line()}\n{metric_line()}\n{metric_line()}\n"
    summary = load_data_dir(engine, write_dir(tmp_path, metrics=metrics))
    assert summary.metric_rows == 3
    assert len(table_rows(engine, "campaign_daily_metrics")) == 3


# --- a refused load changes nothing --------------------------------------------------------


def bad_dir(path: Path) -> Path:
    return write_dir(
        path, metrics=f"{METRICS_HEADER}\n{metric_line()}\n{metric_line(spend='-1')}\n"
    )


def test_refused_directory_writes_no_row(tmp_path: Path, engine: Engine) -> None:
    with pytest.raises(DatasetRefused):
        load_data_dir(engine, bad_dir(tmp_path / "bad"))
    for table in set(schema.metadata.tables) - {"tenants", "cursor_secret"}:
        assert table_rows(engine, table) == [], table


def test_refused_directory_leaves_the_loaded_data_whole(tmp_path: Path, engine: Engine) -> None:
    load_data_dir(engine, write_dir(tmp_path / "good"))
    before = {
        table: table_rows(engine, table)
        for table in ("campaigns", "creators", "campaign_daily_metrics")
    }
    with pytest.raises(DatasetRefused):
        load_data_dir(engine, bad_dir(tmp_path / "bad"))
    after = {table: table_rows(engine, table) for table in before}
    assert after == before


def test_database_failure_while_loading_rolls_back_every_table(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_data_dir(engine, write_dir(tmp_path / "good"))
    before = {table: table_rows(engine, table) for table in schema.metadata.tables}
    copy_duckdb, copy_lines = dataset_loader._copy_duckdb, postgres_publish.copy_lines
    copy_file = postgres_publish.copy_file

    def duckdb_failing_on_metrics(connection, table, lines, **options):  # type: ignore[no-untyped-def]
        if table.name == "campaign_daily_metrics":
            raise RuntimeError("disk full")
        return copy_duckdb(connection, table, lines, **options)

    def postgres_failing_on_metrics(connection, table, *args, **options):  # type: ignore[no-untyped-def]
        if table.startswith("campaign_daily_metrics"):
            raise RuntimeError("disk full")
        copy = copy_file if isinstance(args[-1], Path) else copy_lines
        return copy(connection, table, *args, **options)

    monkeypatch.setattr(dataset_loader, "_copy_duckdb", duckdb_failing_on_metrics)
    monkeypatch.setattr(postgres_publish, "copy_lines", postgres_failing_on_metrics)
    # The bulk path's COPY of its files: the facts fail as above.
    monkeypatch.setattr(postgres_publish, "copy_file", postgres_failing_on_metrics)
    changed = write_dir(tmp_path / "changed", campaigns=CAMPAIGNS_TEXT + "cmp-3,Three\n")
    with pytest.raises(RuntimeError, match="disk full"):
        load_data_dir(engine, changed)
    after = {table: table_rows(engine, table) for table in before}
    assert after == before


# --- start-up refuses a bad data directory -------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


STARTUP_COMMANDS = {
    "analytics": ["analytics", "serve", "--port", "{port}"],
    "python -m analytics": [sys.executable, "-m", "analytics", "serve", "--port", "{port}"],
    "uvicorn": [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "analytics.api.app:create_app",
        "--port",
        "{port}",
    ],
}


REFUSED_STARTS = [
    ("analytics", "refused"),
    ("python -m analytics", "refused"),
    ("uvicorn", "refused"),
]
MISSING_STARTS = [("analytics", "missing"), ("uvicorn", "missing")]
StartupResults = dict[tuple[str, str], subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def startup_results(tmp_path_factory: pytest.TempPathFactory) -> StartupResults:
    """Start-up commands on a refused and on a non-existent DATA_DIR, run concurrently."""
    root = tmp_path_factory.mktemp("startup")
    data_dirs = {
        "refused": write_dir(root / "bad", campaigns=CAMPAIGNS_TEXT + "cmp-2,Again\n"),
        "missing": root / "does-not-exist",
    }
    script = shutil.which("analytics", path=str(Path(sys.executable).parent))
    assert script is not None, "the analytics console script is not installed"
    base_env = {k: v for k, v in os.environ.items() if k.upper() not in CONTRACT_VARIABLES}
    running = {}
    for name, kind in REFUSED_STARTS + MISSING_STARTS:
        port = str(_free_port())
        command = [port if part == "{port}" else part for part in STARTUP_COMMANDS[name]]
        if command[0] == "analytics":
            command[0] = script
        running[(name, kind)] = subprocess.Popen(
            command,
            env={**base_env, "DATA_DIR": str(data_dirs[kind])},
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    results = {}
    try:
        for key, process in running.items():
            stdout, stderr = process.communicate(timeout=30)  # never serves: exits at once
            results[key] = subprocess.CompletedProcess(
                process.args, process.returncode, stdout, stderr
            )
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


@pytest.mark.parametrize("start", REFUSED_STARTS, ids=[name for name, _ in REFUSED_STARTS])
def test_startup_with_a_refused_data_dir_exits_with_the_error_and_no_traceback(
    startup_results: StartupResults, start: tuple[str, str]
) -> None:
    result = startup_results[start]
    assert result.returncode != 0
    assert "campaigns.csv, line 4, column 'campaign_id': duplicate id 'cmp-2'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "running on" not in result.stderr + result.stdout


@pytest.mark.parametrize("start", MISSING_STARTS, ids=[name for name, _ in MISSING_STARTS])
def test_startup_with_a_missing_data_dir_is_one_configuration_error_line(
    startup_results: StartupResults, start: tuple[str, str]
) -> None:
    result = startup_results[start]
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("configuration error: DATA_DIR: ")
    assert "does-not-exist" in lines[0]
