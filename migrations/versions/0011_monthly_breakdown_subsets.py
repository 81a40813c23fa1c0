"""The explorer's monthly rollups of one or two core breakdowns.

`breakdown_month_<subset>` for each one or two of platform, region and device type (six
tables): the sums of the month core (revision 0009) per tenant, month and those keys. A
question grouped by exactly a table's breakdowns, per month, reads that table's rows as they
are, without summing (a year of monthly totals by region and device type: 480 rows read,
instead of 2,880 summed into 480; BENCHMARKS.md, "Metrics explorer at 20M rows"). Per
tenant like the rest of the star: LIST partitions named after the tenant's facts' partition,
swapped in by every load; row-level security and the serving role's SELECT as on the other
star tables. The upgrade fills them from each tenant's month core; the downgrade drops them
(nothing else reads them).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from itertools import combinations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ROLE = "analytics_tenant"
SETTING = "analytics.tenant_id"
FACTS = "campaign_daily_metrics"
CORE = ("platform", "region", "device_type")
SUBSETS = [subset for size in (1, 2) for subset in combinations(CORE, size)]
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


def _table(subset: tuple[str, ...]) -> str:
    return "breakdown_month_" + "_".join(subset)


def upgrade() -> None:
    for subset in SUBSETS:
        table = _table(subset)
        keys = ", ".join(f"{name}_key" for name in subset)
        key_columns = "".join(f"\n    {name}_key INTEGER NOT NULL," for name in subset)
        op.execute(
            f"CREATE TABLE {table} (\n    tenant_id {TENANT},\n    month_start DATE NOT NULL,"
            f"{key_columns}{MEASURES},\n    CONSTRAINT pk_{table} "
            f"PRIMARY KEY (tenant_id, month_start, {keys})) PARTITION BY LIST (tenant_id)"
        )
        op.execute(_EACH_TENANT_PARTITION.format(facts=FACTS, table=table))
        op.execute(
            f"INSERT INTO {table} SELECT tenant_id, month_start, {keys}, {SUMS} "
            f"FROM breakdown_month_core GROUP BY tenant_id, month_start, {keys} "
            f"ORDER BY tenant_id, month_start, {keys}"
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
    for subset in reversed(SUBSETS):
        op.execute(f"DROP TABLE {_table(subset)}")
