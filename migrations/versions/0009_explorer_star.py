"""The metrics explorer's star: dimension tables, surrogate keys on the facts, rollups.

Per tenant, like the facts (LIST partitions, swapped in by every load, migration 0005):
`dim_date` (keyed by the date itself: its ISO week's Monday and its month's first day) and
one table per breakdown, `dim_<breakdown>` (`<breakdown>_key` -> value, key 0 = `unknown` in
every tenant). The six text columns of revision 0007 on the facts become `<breakdown>_key`
INTEGER columns (default 0: a row without breakdowns is `unknown`). Two rollups keep the
sums the explorer reads most (DECISIONS.md, "Metrics explorer"): platform, region and device
type per day (`breakdown_day_core`) and per month (`breakdown_month_core`).

No foreign keys from the facts to the dimensions, for the reasons of revision 0005 (an
attach or drop would lock the referenced parent; validating 20M rows costs the load): every
key is assigned by the loader in the publish that writes its dimension row. Row-level
security and the serving role's SELECT cover the new tables as they cover the facts.

The upgrade numbers each tenant's values in byte order and rewrites the fact rows once;
the downgrade puts the values back as text. Both keep every answer.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ROLE = "analytics_tenant"
SETTING = "analytics.tenant_id"
FACTS = "campaign_daily_metrics"
BREAKDOWNS = ("platform", "region", "device_type", "age_group", "gender", "placement")
CORE = ("platform", "region", "device_type")
TENANT = 'VARCHAR(63) COLLATE "C" NOT NULL'
MEASURES = """
    impressions NUMERIC(38, 0) NOT NULL,
    clicks NUMERIC(38, 0) NOT NULL,
    conversions NUMERIC(38, 0) NOT NULL,
    spend NUMERIC(38, 2) NOT NULL,
    revenue NUMERIC(38, 2),
    likes NUMERIC(38, 0) NOT NULL"""
SUMS = "sum(impressions), sum(clicks), sum(conversions), sum(spend), sum(revenue), sum(likes)"


def _keys(names: tuple[str, ...]) -> str:
    return ", ".join(f"{name}_key" for name in names)


def _rollup_ddl(table: str, period: str, names: tuple[str, ...]) -> str:
    keys = "".join(f"\n    {name}_key INTEGER NOT NULL," for name in names)
    return f"""
    tenant_id {TENANT},
    {period} DATE NOT NULL,{keys}{MEASURES},
    CONSTRAINT pk_{table} PRIMARY KEY (tenant_id, {period}, {_keys(names)})"""


PARENTS = {
    "dim_date": f"""
    tenant_id {TENANT},
    metric_date DATE NOT NULL,
    week_start DATE NOT NULL,
    month_start DATE NOT NULL,
    CONSTRAINT pk_dim_date PRIMARY KEY (tenant_id, metric_date)""",
    **{
        f"dim_{name}": f"""
    tenant_id {TENANT},
    {name}_key INTEGER NOT NULL,
    {name} VARCHAR COLLATE "C" NOT NULL,
    CONSTRAINT pk_dim_{name} PRIMARY KEY (tenant_id, {name}_key),
    CONSTRAINT uq_dim_{name}_tenant_id_{name} UNIQUE (tenant_id, {name})"""
        for name in BREAKDOWNS
    },
    "breakdown_day_core": _rollup_ddl("breakdown_day_core", "metric_date", CORE),
    "breakdown_month_core": _rollup_ddl("breakdown_month_core", "month_start", CORE),
}

# Each tenant's partitions, named after the load its facts' partition holds.
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


def upgrade() -> None:
    for table, columns in PARENTS.items():
        op.execute(f"CREATE TABLE {table} ({columns}) PARTITION BY LIST (tenant_id)")
        op.execute(_EACH_TENANT_PARTITION.format(facts=FACTS, table=table))
    _fill_dimensions()
    for name in BREAKDOWNS:
        op.execute(f"ALTER TABLE {FACTS} ADD COLUMN {name}_key INTEGER NOT NULL DEFAULT 0")
    _set_columns(
        {f"{name}_key": f"d_{name}.{name}_key" for name in BREAKDOWNS},
        {name: f"d_{name}.{name} = f.{name}" for name in BREAKDOWNS},
        " OR ".join(f"f.{name} <> 'unknown'" for name in BREAKDOWNS),
    )
    for name in BREAKDOWNS:
        op.execute(f"ALTER TABLE {FACTS} DROP COLUMN {name}")
    _fill_rollups()
    for table in PARENTS:
        op.execute(f"GRANT SELECT ON {table} TO {ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {ROLE} "
            f"USING (tenant_id = current_setting('{SETTING}', true)) "
            f"WITH CHECK (tenant_id = current_setting('{SETTING}', true))"
        )
        op.execute(f"ANALYZE {table}")


def _set_columns(values: dict[str, str], matches: dict[str, str], changed: str) -> None:
    """One pass over the facts: each row that is not all `unknown` gets `values`, read from
    the dimension rows that `matches` (per breakdown) finds for it."""
    assignments = ", ".join(f"{column} = {value}" for column, value in values.items())
    dimensions = ", ".join(f"dim_{name} AS d_{name}" for name in matches)
    conditions = " AND ".join(
        f"d_{name}.tenant_id = f.tenant_id AND {match}" for name, match in matches.items()
    )
    op.execute(
        f"UPDATE {FACTS} AS f SET {assignments} FROM {dimensions} "
        f"WHERE {conditions} AND ({changed})"
    )


def _fill_dimensions() -> None:
    """Key 0 is `unknown` for every tenant with facts; other values numbered in byte order."""
    tenants = f"SELECT DISTINCT tenant_id FROM {FACTS}"
    for name in BREAKDOWNS:
        op.execute(f"INSERT INTO dim_{name} SELECT tenant_id, 0, 'unknown' FROM ({tenants}) AS t")
        op.execute(
            f"INSERT INTO dim_{name} "
            f"SELECT tenant_id, row_number() OVER (PARTITION BY tenant_id ORDER BY {name}), {name} "
            f"FROM (SELECT DISTINCT tenant_id, {name} FROM {FACTS} "
            f"WHERE {name} <> 'unknown') AS v"
        )
    op.execute(
        "INSERT INTO dim_date SELECT tenant_id, metric_date, "
        "CAST(date_trunc('week', metric_date) AS DATE), "
        "CAST(date_trunc('month', metric_date) AS DATE) "
        f"FROM (SELECT DISTINCT tenant_id, metric_date FROM {FACTS}) AS d"
    )


def _fill_rollups() -> None:
    core = _keys(CORE)
    op.execute(
        f"INSERT INTO breakdown_day_core SELECT tenant_id, metric_date, {core}, {SUMS} "
        f"FROM {FACTS} GROUP BY tenant_id, metric_date, {core} "
        f"ORDER BY tenant_id, metric_date, {core}"
    )
    op.execute(
        f"INSERT INTO breakdown_month_core SELECT c.tenant_id, d.month_start, {core}, {SUMS} "
        "FROM breakdown_day_core AS c JOIN dim_date AS d "
        "ON d.tenant_id = c.tenant_id AND d.metric_date = c.metric_date "
        f"GROUP BY c.tenant_id, d.month_start, {core} ORDER BY c.tenant_id, d.month_start, {core}"
    )


def downgrade() -> None:
    for name in BREAKDOWNS:
        op.execute(
            f'ALTER TABLE {FACTS} ADD COLUMN {name} VARCHAR COLLATE "C" NOT NULL '
            "DEFAULT 'unknown'"
        )
    _set_columns(
        {name: f"d_{name}.{name}" for name in BREAKDOWNS},
        {name: f"d_{name}.{name}_key = f.{name}_key" for name in BREAKDOWNS},
        " OR ".join(f"f.{name}_key <> 0" for name in BREAKDOWNS),
    )
    for name in BREAKDOWNS:
        op.execute(f"ALTER TABLE {FACTS} DROP COLUMN {name}_key")
    for table in reversed(PARENTS):
        op.execute(f"DROP TABLE {table}")
