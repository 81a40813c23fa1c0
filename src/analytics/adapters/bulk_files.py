"""The bulk path's output: the stored fact rows and three rollups as CSV files, by DuckDB.

`write_facts` writes what the Python path copies for each row (tenant, METRIC_COLUMNS with
the texts as they are and revenue NULL when empty, the six breakdown keys, likes with 0 for
empty), for PostgreSQL's COPY. `write_rollups` sums those rows per campaign and day, per
campaign and creator, and per day and the three core breakdowns, as the publish's SQL does
(DuckDB sums BIGINT into HUGEINT and DECIMAL(18, 2) into DECIMAL(38, 2): exact; revenue NULL
when every summed revenue is NULL), in the column order of their tables.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from analytics.adapters import schema
from analytics.adapters.bulk_metrics import READ_BUFFER_BYTES, Layout, ValueKeys, lines_sql
from analytics.adapters.csv_dataset import BREAKDOWN_COLUMNS


class BulkMismatch(Exception):
    """DuckDB wrote another number of rows than the survey counted."""


def _key_tables(connection: duckdb.DuckDBPyConnection, keys: ValueKeys) -> None:
    for breakdown in BREAKDOWN_COLUMNS:
        table = f"keys_{breakdown}"
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {table} (value VARCHAR, key INTEGER)")
        rows = [*keys.rows(breakdown), (0, "")]
        connection.executemany(
            f"INSERT INTO {table} VALUES (?, ?)",  # noqa: S608 - names from the schema
            [(value, key) for key, value in rows],
        )


def _copied(connection: duckdb.DuckDBPyConnection, statement: str, parameters: dict) -> int:
    row = connection.execute(statement, parameters).fetchone()
    return 0 if row is None else int(row[0])


def write_facts(
    connection: duckdb.DuckDBPyConnection,
    source: Path,
    layout: Layout,
    keys: ValueKeys,
    *,
    tenant_id: str,
    out: Path,
    rows: int,
) -> None:
    """The fact rows of `source` as CSV in `out` (the columns of campaign_daily_metrics)."""
    _key_tables(connection, keys)
    f = layout.field
    date, campaign, creator, impressions, clicks, conversions, spend, revenue = (
        f(p) for p in layout.required
    )
    *breakdowns, likes = layout.optional
    joins, key_columns = [], []
    for breakdown, position in zip(BREAKDOWN_COLUMNS, breakdowns, strict=True):
        if position is None:
            key_columns.append("0")
            continue
        alias = f"k_{breakdown}"
        joins.append(f"JOIN keys_{breakdown} AS {alias} ON {alias}.value = v[{position}]")
        key_columns.append(f"{alias}.key")
    likes_text = f(likes)
    statement = (
        f"COPY (SELECT $tenant, {date}, {campaign}, {creator}, {impressions}, {clicks}, "  # noqa: S608
        f"{conversions}, {spend}, nullif({revenue}, ''), {', '.join(key_columns)}, "
        f"CASE WHEN {likes_text} = '' THEN '0' ELSE {likes_text} END "
        f"FROM ({lines_sql()}) {' '.join(joins)}) "
        "TO $out (FORMAT csv, HEADER false)"
    )
    parameters = {"tenant": tenant_id, "path": str(source), "out": str(out)}
    written = _copied(connection, statement, parameters)
    if written != rows:
        raise BulkMismatch(f"wrote {written} fact rows of {rows}")


def _facts_sql() -> str:
    """The facts file written by `write_facts`, typed as the fact table ($facts)."""
    types = {
        column.name: "DATE"
        if column.name == "metric_date"
        else "DECIMAL(18, 2)"
        if column.name in ("spend", "revenue")
        else "BIGINT"
        if column.name in ("impressions", "clicks", "conversions", "likes")
        else "INTEGER"
        if column.name.endswith("_key")
        else "VARCHAR"
        for column in schema.campaign_daily_metrics.columns
    }
    columns = ", ".join(f"'{name}': '{kind}'" for name, kind in types.items())
    return (
        "SELECT * FROM read_csv($facts, header = false, auto_detect = false, delim = ',', "  # noqa: S608
        f"quote = '\"', escape = '\"', new_line = '\\n', columns = {{{columns}}}, "
        f"buffer_size = {READ_BUFFER_BYTES})"
    )


PART_ONE_SUMS = "sum(impressions), sum(clicks), sum(conversions), sum(spend), sum(revenue)"
ROLLUP_COLUMNS = (
    "metric_date, campaign_id, creator_id, impressions, clicks, conversions, spend, revenue, "
    "platform_key, region_key, device_type_key, likes"
)
# table: (group keys, sums). Each is written in key order: the order of its primary key (and
# star_loads' order for the day core), which PostgreSQL's index builds find presorted
# (measured on 1.3M creator totals: primary key 1.3 s instead of 2.2 s, the ranking index
# 2.0 s instead of 3.4 s).
ROLLUPS = {
    schema.campaign_day_totals.name: ("campaign_id, metric_date", PART_ONE_SUMS),
    schema.campaign_creator_totals.name: ("campaign_id, creator_id", PART_ONE_SUMS),
    schema.breakdown_day_core.name: (
        "metric_date, platform_key, region_key, device_type_key",
        f"{PART_ONE_SUMS}, sum(likes)",
    ),
}


def write_rollups(
    connection: duckdb.DuckDBPyConnection, facts: Path, *, tenant_id: str, out_dir: Path
) -> dict[str, Path]:
    """Each rollup of ROLLUPS as CSV (its table's columns), by name of its table.

    The facts file is read once into a columnar table in a scratch database file in
    `out_dir` (20M rows do not fit the memory limit), then grouped three times: a quarter
    less work than parsing the CSV once per rollup (measured at 4M rows)."""
    connection.execute("ATTACH $path AS rollup_scratch", {"path": str(out_dir / "rollups.duckdb")})
    try:
        connection.execute(
            f"CREATE TABLE rollup_scratch.facts AS SELECT {ROLLUP_COLUMNS} "  # noqa: S608
            f"FROM ({_facts_sql()})",
            {"facts": str(facts)},
        )
        written = {}
        for table, (keys, sums) in ROLLUPS.items():
            out = out_dir / f"{table}.csv"
            statement = (
                f"COPY (SELECT $tenant, {keys}, {sums} FROM rollup_scratch.facts "  # noqa: S608
                f"GROUP BY {keys} ORDER BY {keys}) TO $out (FORMAT csv, HEADER false)"
            )
            connection.execute(statement, {"tenant": tenant_id, "out": str(out)})
            written[table] = out
        return written
    finally:
        connection.execute("DETACH rollup_scratch")
