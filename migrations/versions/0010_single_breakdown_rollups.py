"""The explorer's single-breakdown rollups: each core breakdown alone per day.

`breakdown_day_platform`, `breakdown_day_region`, `breakdown_day_device_type`: the sums of
the day core (revision 0009) per tenant, day and that one key, so a question grouped or
filtered by one of them reads a few rows a day instead of every combination of the three
(a quarter of daily totals by platform: ~550 rows instead of ~22,000; BENCHMARKS.md,
"Metrics explorer at 20M rows"). Per tenant like the rest of the star: LIST partitions named
after the tenant's facts' partition, swapped in by every load; row-level security and the
serving role's SELECT as on the other star tables. The upgrade fills them from each
tenant's day core; the downgrade drops them (nothing else reads them).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-12
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ROLE = "analytics_tenant"
SETTING = "analytics.tenant_id"
FACTS = "campaign_daily_metrics"
SINGLES = ("platform", "region", "device_type")
TENANT = 'VARCHAR(63) COLLATE "C" NOT NULL'
MEASURES = """
    impressions NUMERIC(38, 0) NOT NULL,
    clicks NUMERIC(38, 0) NOT NULL,
    conversions NUMERIC(38, 0) NOT NULL,
    spend NUMERIC(38, 2) NOT NULL,
    revenue NUMERIC(38, 2),
    likes NUMERIC(38, 0) NOT NULL"""
SUMS = "sum(impressions), sum(clicks), sum(conversions), sum(spend), sum(revenue), sum(likes)"

# Each tenant's partitions, named after the load its facts' partition holds (as in 0009).
_EACH_TENANT_PARTITION = """
DO $$ DECLARE tenant text; suffix text; BEGIN
    FOR tenant, suffix IN
        SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'IN \\(''(.*)''\\)'),
               substring(c.relname FROM '__p[0-9]+$')
        FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
        WHERE i.inhparent = '{facts}'::regclass
    LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF {table} FOR VALUES IN (%L)',
                       '{table}' || coalesce(suffix, '__p0'), tenant);
    END LOOP;
END $$"""


def _table(name: str) -> str:
    return f"breakdown_day_{name}"


def upgrade() -> None:
    for name in SINGLES:
        table = _table(name)
        op.execute(
            f"CREATE TABLE {table} (\n    tenant_id {TENANT},\n    metric_date DATE NOT NULL,"
            f"\n    {name}_key INTEGER NOT NULL,{MEASURES},\n    CONSTRAINT pk_{table} "
            f"PRIMARY KEY (tenant_id, metric_date, {name}_key)) PARTITION BY LIST (tenant_id)"
        )
        op.execute(_EACH_TENANT_PARTITION.format(facts=FACTS, table=table))
        op.execute(
            f"INSERT INTO {table} SELECT tenant_id, metric_date, {name}_key, {SUMS} "
            f"FROM breakdown_day_core GROUP BY tenant_id, metric_date, {name}_key "
            f"ORDER BY tenant_id, metric_date, {name}_key"
        )
        op.execute(f"GRANT SELECT ON {table} TO {ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {ROLE} "
            f"USING (tenant_id = current_setting('{SETTING}', true)) "
            f"WITH CHECK (tenant_id = current_setting('{SETTING}', true))"
        )
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    for name in reversed(SINGLES):
        op.execute(f"DROP TABLE {_table(name)}")
