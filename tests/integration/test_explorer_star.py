"""The explorer's star on both engines: dimension rows follow each tenant's current load
(shared values, vanished values, `unknown`), and a refused load leaves them as they were."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from analytics.adapters import schema
from analytics.adapters.csv_dataset import DatasetRefused
from analytics.adapters.dataset_loader import load_dataset
from analytics.adapters.engines import create_database_engine, embedded_database_url, prepare_schema
from analytics.adapters.explorer_sql import _source
from analytics.adapters.sql_explorer import SqlAlchemyExplorers
from analytics.adapters.sql_repository import SqlAlchemyMetricsStore
from analytics.domain.explorer import ExplorerQuery
from tests.explorer_reference import BREAKDOWNS, HEADER, Dataset

YEAR = ExplorerQuery(dt.date(2026, 1, 1), dt.date(2026, 12, 31), group_by=("platform",))


@pytest.fixture
def engine(database_url: str | None) -> Iterator[Engine]:
    engine = create_database_engine(database_url or embedded_database_url())
    prepare_schema(engine)
    yield engine
    engine.dispose()


def _tenant(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def _row(day: str, impressions: int, **breakdowns: str) -> dict[str, str]:
    row = {"metric_date": day, "campaign_id": "cmp-1", "creator_id": "crt-1", "clicks": "1"}
    row |= {"impressions": str(impressions), "conversions": "0", "spend": "1.50", "likes": "2"}
    return row | breakdowns


def _load(engine: Engine, tmp_path: Path, tenant: str, name: str, rows: list[dict]) -> None:
    directory = Dataset(rows).write(tmp_path / tenant / name)
    load_dataset(engine, directory, dataset_name=name, tenant_id=tenant, create_tenant=True)


async def _platforms(engine: Engine, tenant: str, query: ExplorerQuery = YEAR) -> list:
    explorer = SqlAlchemyExplorers(SqlAlchemyMetricsStore(engine)).for_tenant(tenant)
    rows = await explorer.explore(query=query, after=None, limit=100)
    return [(row.keys, row.impressions, row.likes) for row in rows]


def _star(engine: Engine, tenant: str) -> dict[str, list[tuple]]:
    """Every star table's rows of `tenant`, facts included, in a stable order."""
    tables = (schema.campaign_daily_metrics, *schema.STAR_TABLES)
    with engine.connect() as connection:
        return {
            table.name: sorted(
                tuple(map(str, row))
                for row in connection.execute(select(table).where(table.c.tenant_id == tenant))
            )
            for table in tables
        }


async def test_values_shared_across_tenants_are_each_tenants_own(
    engine: Engine, tmp_path: Path
) -> None:
    first, second = _tenant("star-a"), _tenant("star-b")
    _load(engine, tmp_path, first, "a", [_row("2026-03-02", 10, platform="ios")])
    rows = [_row("2026-03-02", 7, platform="web"), _row("2026-03-03", 5, platform="ios")]
    _load(engine, tmp_path, second, "b", rows)
    assert await _platforms(engine, first) == [(("ios",), 10, 2)]
    assert await _platforms(engine, second) == [(("ios",), 5, 2), (("web",), 7, 2)]
    only_web = ExplorerQuery(YEAR.date_from, YEAR.date_to, filters=(("platform", ("web",)),))
    assert await _platforms(engine, first, only_web) == []


async def test_a_value_gone_from_the_next_load_is_gone_from_the_dimension(
    engine: Engine, tmp_path: Path
) -> None:
    tenant = _tenant("star-reload")
    first = [_row("2026-03-02", 10, platform="snap"), _row("2026-03-02", 4, platform="ios")]
    _load(engine, tmp_path, tenant, "one", first)
    _load(engine, tmp_path, tenant, "two", [_row("2026-04-01", 3, platform="ios")])
    assert await _platforms(engine, tenant) == [(("ios",), 3, 2)]
    snap = ExplorerQuery(YEAR.date_from, YEAR.date_to, filters=(("platform", ("snap",)),))
    assert await _platforms(engine, tenant, snap) == []
    values = {row[2] for row in _star(engine, tenant)["dim_platform"]}
    assert values == {"ios", "unknown"}
    assert {row[1] for row in _star(engine, tenant)["dim_date"]} == {"2026-04-01"}


async def test_a_file_without_breakdowns_is_unknown_everywhere(
    engine: Engine, tmp_path: Path
) -> None:
    tenant = _tenant("star-plain")
    header = HEADER[: HEADER.index(BREAKDOWNS[0])]
    rows = [_row("2026-03-02", 10), _row("2026-05-31", 6)]
    directory = Dataset(rows, header=header).write(tmp_path / "plain")
    load_dataset(engine, directory, dataset_name="plain", tenant_id=tenant, create_tenant=True)
    every = ExplorerQuery(YEAR.date_from, YEAR.date_to, group_by=BREAKDOWNS, granularity="month")
    explorer = SqlAlchemyExplorers(SqlAlchemyMetricsStore(engine)).for_tenant(tenant)
    answer = await explorer.explore(query=every, after=None, limit=100)
    assert [(row.period, row.keys, row.impressions, row.likes) for row in answer] == [
        (dt.date(2026, 3, 1), ("unknown",) * 6, 10, 0),
        (dt.date(2026, 5, 1), ("unknown",) * 6, 6, 0),
    ]
    explicit = ExplorerQuery(YEAR.date_from, YEAR.date_to, filters=(("gender", ("unknown",)),))
    assert await _platforms(engine, tenant, explicit) == [((), 16, 0)]


def test_a_load_refused_mid_way_leaves_the_star_unchanged(engine: Engine, tmp_path: Path) -> None:
    tenant = _tenant("star-refused")
    _load(engine, tmp_path, tenant, "good", [_row("2026-03-02", 10, platform="ios", region="eu")])
    before = _star(engine, tenant)
    rows = [_row(f"2026-06-{day:02d}", day, platform=f"new-{day}") for day in range(1, 29)]
    rows.append(_row("2026-06-29", -1, platform="newer"))  # the last row is refused
    with pytest.raises(DatasetRefused):
        _load(engine, tmp_path, tenant, "bad", rows)
    assert _star(engine, tenant) == before
    assert len(before["dim_platform"]) == 2


def _as_before_the_star(engine: Engine, *, with_text: bool) -> None:
    """Turn a DuckDB file back into one made before the star (revision 0007's text columns,
    or, before 0007, no breakdown at all) with the star's tables empty."""
    facts = schema.campaign_daily_metrics.name
    with engine.begin() as connection:
        for name in BREAKDOWNS:
            connection.execute(text(f"ALTER TABLE {facts} ADD COLUMN {name} VARCHAR"))
            connection.execute(
                text(
                    f"UPDATE {facts} SET {name} = d.{name} FROM dim_{name} AS d "  # noqa: S608
                    f"WHERE d.tenant_id = {facts}.tenant_id AND d.{name}_key = {facts}.{name}_key"
                )
            )
            connection.execute(text(f"ALTER TABLE {facts} DROP COLUMN {name}_key"))
            if not with_text:
                connection.execute(text(f"ALTER TABLE {facts} DROP COLUMN {name}"))
        for table in schema.STAR_TABLES:
            connection.execute(text(f"DELETE FROM {table.name}"))  # noqa: S608


@pytest.mark.parametrize("with_text", [True, False], ids=["text-breakdowns", "no-breakdowns"])
async def test_a_duckdb_file_made_before_the_star_gets_it_at_start_up(
    tmp_path: Path, with_text: bool
) -> None:
    engine = create_database_engine(f"duckdb:///{tmp_path / 'old.duckdb'}")
    try:
        prepare_schema(engine)
        rows = [_row("2026-03-02", 10, platform="ios"), _row("2026-04-30", 4, platform="web")]
        _load(engine, tmp_path, "old", "old", rows)
        before = await _platforms(engine, "old")
        _as_before_the_star(engine, with_text=with_text)
        prepare_schema(engine)
        expected = before if with_text else [(("unknown",), 14, 4)]
        assert await _platforms(engine, "old") == expected
        every = ExplorerQuery(YEAR.date_from, YEAR.date_to, "month", ("region",))
        explorer = SqlAlchemyExplorers(SqlAlchemyMetricsStore(engine)).for_tenant("old")
        answer = await explorer.explore(query=every, after=None, limit=10)
        assert [(row.period, row.keys, row.impressions) for row in answer] == [
            (dt.date(2026, 3, 1), ("unknown",), 10),
            (dt.date(2026, 4, 1), ("unknown",), 4),
        ]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("tables", "written"),
    [
        (schema.breakdown_day_single, "breakdown_day_region"),
        (schema.breakdown_month_subsets, "breakdown_month_platform_region"),
    ],
    ids=["single rollups", "month subsets"],
)
def test_a_duckdb_file_made_before_some_rollups_gets_them_at_start_up(
    tmp_path: Path, tables: dict, written: str
) -> None:
    engine = create_database_engine(f"duckdb:///{tmp_path / 'older.duckdb'}")
    try:
        prepare_schema(engine)
        rows = [_row("2026-03-02", 10, platform="ios", region="eu")]
        rows += [_row("2026-03-31", 4, platform="web", region="eu")]
        rows += [_row("2026-04-30", 4, platform="web", device_type="tv")]
        _load(engine, tmp_path, "one", "one", rows)
        _load(engine, tmp_path, "two", "two", rows[1:])
        loaded = {tenant: _star(engine, tenant) for tenant in ("one", "two")}
        assert loaded["one"][written]  # a load writes them
        with engine.begin() as connection:
            for table in tables.values():
                connection.execute(text(f"DELETE FROM {table.name}"))  # noqa: S608
        prepare_schema(engine)
        assert {tenant: _star(engine, tenant) for tenant in ("one", "two")} == loaded
    finally:
        engine.dispose()


def test_a_question_per_month_by_one_or_two_core_breakdowns_reads_its_own_rollup() -> None:
    year = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    for subset, table in schema.breakdown_month_subsets.items():
        for granularity in ("month", "total"):
            assert _source(ExplorerQuery(*year, granularity, subset)).table is table
        one = ExplorerQuery(*year, "month", subset[:1])  # the smaller table of one of them
        assert _source(one).table is schema.breakdown_month_subsets[subset[:1]]
    not_whole = ExplorerQuery(dt.date(2026, 1, 2), dt.date(2026, 12, 31), "month", ("region",))
    assert _source(not_whole).table is schema.breakdown_day_single["region"]
    three = ExplorerQuery(*year, "month", schema.CORE_BREAKDOWNS)
    assert _source(three).table is schema.breakdown_month_core


def test_one_breakdown_per_day_reads_its_own_rollup() -> None:
    for name, table in schema.breakdown_day_single.items():
        quarter = ExplorerQuery(dt.date(2026, 4, 1), dt.date(2026, 6, 30), "day", (name,))
        assert _source(quarter).table is table
        filtered = ExplorerQuery(
            quarter.date_from, quarter.date_to, "week", filters=((name, ("x",)),)
        )
        assert _source(filtered).table is table
    both = ExplorerQuery(dt.date(2026, 4, 1), dt.date(2026, 6, 30), "day", ("platform", "region"))
    assert _source(both).table is schema.breakdown_day_core
