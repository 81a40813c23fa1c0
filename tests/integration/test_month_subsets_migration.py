"""Migration 0011 on a database with data: each one or two core breakdowns per month hold
the sums of that tenant's fact rows (computed here from the rows themselves), row-level
security covers the new tables, and the downgrade drops them."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from itertools import combinations

from sqlalchemy import Engine, create_engine, text

from analytics.adapters import migrations
from tests.integration.test_explorer_star_migration import ROWS, _insert_at_0008, _rows_seen_as

CORE = ("platform", "region", "device_type")
SUBSETS = [subset for size in (1, 2) for subset in combinations(CORE, size)]


def _expected(subset: tuple[str, ...]) -> dict[tuple, tuple]:
    """(tenant, month, values...) -> (impressions, spend, revenue, likes) from the raw rows."""
    sums: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0), None, 0])
    for tenant, day, _, impressions, spend, revenue, *rest in ROWS:
        values = tuple(rest[CORE.index(name)] for name in subset)
        total = sums[(tenant, day[:7] + "-01", *values)]
        total[0] += impressions
        total[1] += Decimal(spend)
        if revenue is not None:
            total[2] = (total[2] or Decimal(0)) + Decimal(revenue)
        total[3] += rest[-1]
    return {key: tuple(value) for key, value in sums.items()}


def _table(subset: tuple[str, ...]) -> str:
    return "breakdown_month_" + "_".join(subset)


def _stored(engine: Engine, subset: tuple[str, ...]) -> dict[tuple, tuple]:
    values = ", ".join(f"d_{name}.{name}" for name in subset)
    joins = " ".join(
        f"JOIN dim_{name} AS d_{name} ON d_{name}.tenant_id = r.tenant_id "
        f"AND d_{name}.{name}_key = r.{name}_key"
        for name in subset
    )
    statement = f"""
        SELECT r.tenant_id, CAST(r.month_start AS TEXT), {values},
               r.impressions, r.spend, r.revenue, r.likes
        FROM {_table(subset)} AS r {joins}"""  # noqa: S608 - names from this test
    width = 2 + len(subset)
    with engine.connect() as connection:
        return {
            tuple(row[:width]): (int(row[width]), *row[width + 1 : width + 3], int(row[-1]))
            for row in connection.execute(text(statement))
        }


def test_month_subsets_hold_the_rows_sums_per_tenant_and_go_on_downgrade(
    empty_postgres: str,
) -> None:
    engine = create_engine(empty_postgres)
    try:
        migrations.upgrade(engine, "0008")
        _insert_at_0008(engine)
        migrations.upgrade(engine, "0011")
        for subset in SUBSETS:
            assert _stored(engine, subset) == _expected(subset), subset
            assert _rows_seen_as(engine, "t-b", _table(subset)) == {"t-b"}
            assert _rows_seen_as(engine, "t-a", _table(subset)) == {"t-a"}
        migrations.downgrade(engine, "0010")
        with engine.connect() as connection:
            left = connection.execute(
                text(
                    "SELECT count(*) FROM pg_class "
                    "WHERE relname ~ '^breakdown_month_(platform|region|device_type)'"
                )
            ).scalar_one()
            core = connection.execute(
                text("SELECT count(*) FROM breakdown_month_core")
            ).scalar_one()
        assert (left, core) == (0, 6)  # the tables, partitions and keys gone; the core kept
    finally:
        engine.dispose()
