"""Migration 0009 on a database with data: breakdown text becomes surrogate keys and
dimension rows per tenant, the rollups hold the sums of the rows, row-level security covers
the new tables, and the downgrade gives back the text, with nothing lost either way."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Engine, create_engine, text

from analytics.adapters import migrations

BREAKDOWNS = ("platform", "region", "device_type", "age_group", "gender", "placement")
STAR = (
    "dim_date",
    *(f"dim_{name}" for name in BREAKDOWNS),
    "breakdown_day_core",
    "breakdown_month_core",
)
# (tenant, date, campaign, impressions, spend, revenue, six breakdowns, likes)
ROWS = [
    ("t-a", "2026-01-30", "c1", 10, "1.25", "2.00", "ios", "eu", "mobile", "18-24", "f", "feed", 1),
    ("t-a", "2026-01-31", "c1", 5, "0.75", None, "ios", "us", "mobile", "18-24", "f", "feed", 0),
    (
        "t-a",
        "2026-02-01",
        "c2",
        7,
        "2.00",
        "1.00",
        "web",
        "eu",
        "desktop",
        "25-34",
        "m",
        "reels",
        3,
    ),
    ("t-a", "2026-02-01", "c2", 1, "0.10", None, *["unknown"] * 6, 0),
    ("t-b", "2026-01-30", "c1", 3, "0.30", "0.60", "ios", "eu", "tablet", "55+", "x", "feed", 2),
    ("t-b", "2026-03-15", "c9", 4, "0.40", None, "zz", "unknown", "ctv", "13-17", "f", "search", 5),
]
FACT_COLUMNS = (
    "tenant_id, metric_date, campaign_id, creator_id, impressions, clicks, conversions, "
    f"spend, revenue, {', '.join(BREAKDOWNS)}, likes"
)


def _insert_at_0008(engine: Engine) -> None:
    with engine.begin() as connection:
        for number, tenant in enumerate(("t-a", "t-b"), start=1):
            connection.execute(text("INSERT INTO tenants VALUES (:t, :t, now())"), {"t": tenant})
            connection.execute(
                text(
                    f"CREATE TABLE campaign_daily_metrics__p{number} PARTITION OF "
                    f"campaign_daily_metrics FOR VALUES IN ('{tenant}')"
                )
            )
        for tenant, day, campaign, impressions, spend, revenue, *rest in ROWS:
            *breakdowns, likes = rest
            values = dict(zip(BREAKDOWNS, breakdowns, strict=True))
            connection.execute(
                text(
                    f"INSERT INTO campaign_daily_metrics ({FACT_COLUMNS}) VALUES (:t, "  # noqa: S608
                    f"CAST(:d AS DATE), :c, 'cr', :i, 1, 0, :s, :r, "
                    f"{', '.join(':' + name for name in BREAKDOWNS)}, :l)"
                ),
                {"t": tenant, "d": day, "c": campaign, "i": impressions, "s": spend}
                | {"r": revenue, "l": likes, **values},
            )


def _facts_as_text(engine: Engine, *, keyed: bool) -> list[tuple]:
    """Every fact row with its breakdowns as text (read through the dimensions when keyed)."""
    if keyed:
        names = ", ".join(f"d_{name}.{name}" for name in BREAKDOWNS)
        joins = " ".join(
            f"JOIN dim_{name} AS d_{name} ON d_{name}.tenant_id = f.tenant_id "
            f"AND d_{name}.{name}_key = f.{name}_key"
            for name in BREAKDOWNS
        )
    else:
        names, joins = ", ".join(f"f.{name}" for name in BREAKDOWNS), ""
    statement = (
        "SELECT f.tenant_id, f.metric_date, f.campaign_id, f.impressions, f.spend, f.revenue, "  # noqa: S608
        f"{names}, f.likes FROM campaign_daily_metrics AS f {joins} ORDER BY 1, 2, 3, 4, 5"
    )
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(statement))]


def _expected_month_core() -> dict[tuple, tuple]:
    sums: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0), None, 0])
    for tenant, day, _, impressions, spend, revenue, *rest in ROWS:
        key = (tenant, day[:7] + "-01", *rest[:3])
        total = sums[key]
        total[0] += impressions
        total[1] += Decimal(spend)
        if revenue is not None:
            total[2] = (total[2] or Decimal(0)) + Decimal(revenue)
        total[3] += rest[-1]
    return {key: tuple(value) for key, value in sums.items()}


def _month_core(engine: Engine) -> dict[tuple, tuple]:
    statement = """
        SELECT r.tenant_id, CAST(r.month_start AS TEXT), p.platform, g.region, d.device_type,
               r.impressions, r.spend, r.revenue, r.likes
        FROM breakdown_month_core AS r
        JOIN dim_platform AS p ON p.tenant_id = r.tenant_id AND p.platform_key = r.platform_key
        JOIN dim_region AS g ON g.tenant_id = r.tenant_id AND g.region_key = r.region_key
        JOIN dim_device_type AS d
          ON d.tenant_id = r.tenant_id AND d.device_type_key = r.device_type_key"""
    with engine.connect() as connection:
        return {
            tuple(row[:5]): (int(row[5]), row[6], row[7], int(row[8]))
            for row in connection.execute(text(statement))
        }


def _rows_seen_as(engine: Engine, tenant: str, table: str) -> set[str]:
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL ROLE analytics_tenant"))
        connection.execute(
            text("SELECT set_config('analytics.tenant_id', :t, true)"), {"t": tenant}
        )
        statement = text(f"SELECT DISTINCT tenant_id FROM {table}")  # noqa: S608
        return set(connection.execute(statement).scalars())


def test_star_migration_keeps_every_row_and_gives_it_back(empty_postgres: str) -> None:
    engine = create_engine(empty_postgres)
    try:
        migrations.upgrade(engine, "0008")
        _insert_at_0008(engine)
        before = _facts_as_text(engine, keyed=False)
        migrations.upgrade(engine, "0009")
        assert _facts_as_text(engine, keyed=True) == before
        with engine.connect() as connection:
            unknown = connection.execute(
                text("SELECT tenant_id FROM dim_platform WHERE platform_key = 0 ORDER BY 1")
            ).scalars()
            assert list(unknown) == ["t-a", "t-b"]
            keys = connection.execute(
                text("SELECT count(*) FROM dim_platform WHERE platform = 'ios'")
            ).scalar_one()
            assert keys == 2  # one row per tenant, each its own key
        assert _month_core(engine) == _expected_month_core()
        for table in STAR:
            assert _rows_seen_as(engine, "t-b", table) == {"t-b"}, table
        migrations.downgrade(engine, "0008")
        assert _facts_as_text(engine, keyed=False) == before
        with engine.connect() as connection:
            left = connection.execute(
                text("SELECT count(*) FROM pg_class WHERE relname = ANY(:names)"),
                {"names": list(STAR)},
            ).scalar_one()
            assert left == 0
    finally:
        engine.dispose()
