"""Optional breakdown columns and likes (CONTRACT.md §8) in a load, on both engines: stored
with their defaults, validated like every column, and Part I unchanged by them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.integration import test_data_loading as loading
from tests.integration.test_data_loading import (  # noqa: F401 - the autouse engine fixture
    METRICS_HEADER,
    create_embedded_engine,
    loader_database,
    metric_line,
    refusal,
    table_rows,
    write_dir,
)

BREAKDOWNS = ("platform", "region", "device_type", "age_group", "gender", "placement")
OPTIONAL = ",".join((*BREAKDOWNS, "likes"))


def _stored_optional(path: Path) -> list[tuple[object, ...]]:
    """Each fact row's breakdowns (read through the tenant's dimension tables) and likes."""
    names = BREAKDOWNS
    joins = " ".join(
        f"JOIN dim_{name} AS d_{name} ON d_{name}.tenant_id = f.tenant_id "
        f"AND d_{name}.{name}_key = f.{name}_key"
        for name in names
    )
    values = ", ".join(f"d_{name}.{name}" for name in names)
    statement = (
        f"SELECT {values}, f.likes FROM campaign_daily_metrics AS f {joins} "  # noqa: S608
        "WHERE f.tenant_id = :tenant"
    )
    engine = create_embedded_engine(path)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(statement), {"tenant": loading._tenant})
            return sorted(tuple(row) for row in rows)
    finally:
        engine.dispose()


def test_absent_columns_are_stored_as_unknown_and_zero(tmp_path: Path) -> None:
    assert _stored_optional(write_dir(tmp_path)) == [("unknown",) * 6 + (0,)]


def test_columns_in_any_order_some_absent_empty_or_quoted(tmp_path: Path) -> None:
    header = f"likes,gender,{METRICS_HEADER},platform,placement"
    lines = [
        f'7,f,{metric_line()},ios,"feed, top"',
        f",,{metric_line(creator_id='crt-2')},,",
    ]
    metrics = "\n".join([header, *lines]) + "\n"
    assert _stored_optional(write_dir(tmp_path, metrics=metrics)) == [
        ("ios", "unknown", "unknown", "unknown", "f", "feed, top", 7),
        ("unknown", "unknown", "unknown", "unknown", "unknown", "unknown", 0),
    ]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("likes", "-1", "'-1' is negative"),
        ("likes", "1.5", "'1.5' is not a whole number"),
        ("region", "x" * 256, "is longer than 255 characters"),
        ("platform", "a\x00b", "must not contain a NUL character"),
    ],
)
def test_invalid_optional_values_are_refused_with_file_line_column(
    tmp_path: Path, field: str, value: str, reason: str
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*METRICS_HEADER.split(","), *OPTIONAL.split(",")])
    good = [*metric_line().split(","), *[""] * 7]
    writer.writerow(good)
    bad = dict(zip([*METRICS_HEADER.split(","), *OPTIONAL.split(",")], good, strict=True))
    bad[field] = value
    writer.writerow(bad.values())
    refused = refusal(write_dir(tmp_path, metrics=out.getvalue()))
    assert [str(error) for error in refused.errors] == [
        f"campaign_daily_metrics.csv, line 3, column '{field}': {reason}"
    ]


def test_a_repeated_optional_column_is_refused(tmp_path: Path) -> None:
    metrics = f"{METRICS_HEADER},likes,likes\n{metric_line()},1,2\n"
    refused = refusal(write_dir(tmp_path, metrics=metrics))
    assert [str(error) for error in refused.errors] == [
        "campaign_daily_metrics.csv, line 1, column 'likes': "
        "optional column appears more than once in the header"
    ]
