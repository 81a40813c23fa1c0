"""Migration 0010 on a database with data: each core breakdown alone per day holds the sums
of that tenant's fact rows (computed here from the rows themselves), row-level security
covers the new tables, and the downgrade drops them."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Engine, create_engine, text

from analytics.adapters import migrations
from tests.integration.test_explorer_star_migration import ROWS, _insert_at_0008, _rows_seen_as

SINGLES = ("platform", "region", "device_type")


def _expected(name: str) -> dict[tuple, tuple]:
    """(tenant, day, value) -> (impressions, spend, revenue, likes) from the raw rows."""
    position = SINGLES.index(name)
    sums: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0), None, 0])
    for tenant, day, _, impressions, spend, revenue, *rest in ROWS:
        total = sums[(tenant, day, rest[position])]
        total[0] += impressions
        total[1] += Decimal(spend)
        if revenue is not None:
            total[2] = (total[2] or Decimal(0)) + Decimal(revenue)
        total[3] += rest[-1]
    return {key: tuple(value) for key, value in sums.items()}


def _stored(engine: Engine, name: str) -> dict[tuple, tuple]:
    statement = f"""
        SELECT r.tenant_id, CAST(r.metric_date AS TEXT), d.{name},
               r.impressions, r.spend, r.revenue, r.likes
        FROM breakdown_day_{name} AS r
        JOIN dim_{name} AS d ON d.tenant_id = r.tenant_id AND d.{name}_key = r.{name}_key"""  # noqa: S608
    with engine.connect() as connection:
        return {
            tuple(row[:3]): (int(row[3]), row[4], row[5], int(row[6]))
            for row in connection.execute(text(statement))
        }


def test_single_rollups_hold_the_rows_sums_per_tenant_and_go_on_downgrade(
    empty_postgres: str,
) -> None:
    engine = create_engine(empty_postgres)
    try:
        migrations.upgrade(engine, "0008")
        _insert_at_0008(engine)
        migrations.upgrade(engine, "0010")
        for name in SINGLES:
            assert _stored(engine, name) == _expected(name), name
            assert _rows_seen_as(engine, "t-b", f"breakdown_day_{name}") == {"t-b"}
            assert _rows_seen_as(engine, "t-a", f"breakdown_day_{name}") == {"t-a"}
        migrations.downgrade(engine, "0009")
        with engine.connect() as connection:
            left = connection.execute(
                text(
                    "SELECT count(*) FROM pg_class "
                    "WHERE relname ~ '^breakdown_day_(platform|region|device_type)'"
                )
            ).scalar_one()
            core = connection.execute(text("SELECT count(*) FROM breakdown_day_core")).scalar_one()
        assert (left, core) == (0, 6)  # the tables, partitions and keys gone; the day core kept
    finally:
        engine.dispose()
