"""Tenants, API keys, tenant-scoped keys, one partition per tenant, row-level security.

Every campaign, creator, metric row, rollup row and load belongs to one tenant; ids are
unique within a tenant, so every key starts with `tenant_id`. The fact and rollup tables are
partitioned by tenant (LIST): a load builds a tenant's next partitions beside the live ones
and swaps them in, touching no other tenant. Round-1 data moves into tenant `default`.

The partitioned tables carry no foreign keys to campaigns and creators: attaching or
dropping a partition with one adds or removes triggers on the referenced table, which takes
an exclusive lock on it and deadlocked with readers in a test. Every id of a load is checked
against its files' campaigns and creators before anything is written, and the API never
deletes a campaign or creator that has metric rows.

Row-level security is the second wall behind the repositories' `tenant_id` filters: the
serving path switches to role `analytics_tenant` for each transaction and sets
`analytics.tenant_id`; the policies then hide every row of another tenant, even from a
statement that forgot its filter. The owner (migrations, loads, key checks) is not subject
to them (no FORCE): it is trusted code scoped by tenant in the code.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ROLE = "analytics_tenant"
SETTING = "analytics.tenant_id"
DIMENSIONS = {"campaigns": "campaign_id", "creators": "creator_id"}
PARTITIONED = ("campaign_daily_metrics", "campaign_day_totals", "campaign_creator_totals")
MEASURES = "impressions, clicks, conversions, spend, revenue"
ROLLUP_MEASURES = """
    impressions NUMERIC(38, 0) NOT NULL,
    clicks NUMERIC(38, 0) NOT NULL,
    conversions NUMERIC(38, 0) NOT NULL,
    spend NUMERIC(38, 2) NOT NULL,
    revenue NUMERIC(38, 2)"""
ID = 'VARCHAR COLLATE "C" NOT NULL'
TENANT = 'VARCHAR(63) COLLATE "C" NOT NULL'

PARENTS = {
    "campaign_daily_metrics": f"""
    tenant_id {TENANT},
    metric_date DATE NOT NULL,
    campaign_id {ID},
    creator_id {ID},
    impressions BIGINT NOT NULL
        CONSTRAINT ck_campaign_daily_metrics_impressions_not_negative CHECK (impressions >= 0),
    clicks BIGINT NOT NULL
        CONSTRAINT ck_campaign_daily_metrics_clicks_not_negative CHECK (clicks >= 0),
    conversions BIGINT NOT NULL
        CONSTRAINT ck_campaign_daily_metrics_conversions_not_negative CHECK (conversions >= 0),
    spend NUMERIC(18, 2) NOT NULL
        CONSTRAINT ck_campaign_daily_metrics_spend_not_negative CHECK (spend >= 0),
    revenue NUMERIC(18, 2)
        CONSTRAINT ck_campaign_daily_metrics_revenue_not_negative CHECK (revenue >= 0)""",
    "campaign_day_totals": f"""
    tenant_id {TENANT},
    campaign_id {ID},
    metric_date DATE NOT NULL,{ROLLUP_MEASURES},
    CONSTRAINT pk_campaign_day_totals PRIMARY KEY (tenant_id, campaign_id, metric_date)""",
    "campaign_creator_totals": f"""
    tenant_id {TENANT},
    campaign_id {ID},
    creator_id {ID},{ROLLUP_MEASURES},
    CONSTRAINT pk_campaign_creator_totals PRIMARY KEY (tenant_id, campaign_id, creator_id)""",
}
COLUMNS = {
    "campaign_daily_metrics": f"metric_date, campaign_id, creator_id, {MEASURES}",
    "campaign_day_totals": f"campaign_id, metric_date, {MEASURES}",
    "campaign_creator_totals": f"campaign_id, creator_id, {MEASURES}",
}
# Tables the serving role may touch, and what it may do there (always under the policies).
SERVING_GRANTS = {
    "tenants": "SELECT",
    "api_keys": "SELECT, INSERT, UPDATE",
    "campaigns": "SELECT, INSERT, UPDATE, DELETE",
    "creators": "SELECT, INSERT, UPDATE, DELETE",
    "campaign_daily_metrics": "SELECT",
    "campaign_day_totals": "SELECT",
    "campaign_creator_totals": "SELECT",
    "dataset_loads": "SELECT",
}


def upgrade() -> None:
    _create_tenants_and_keys()
    for table in PARTITIONED:
        _set_aside(table)
    for table, key in DIMENSIONS.items():
        _scope_dimension(table, key)
    op.execute("ALTER TABLE dataset_loads ADD COLUMN tenant_id " + TENANT + " DEFAULT 'default'")
    op.execute("ALTER TABLE dataset_loads ALTER COLUMN tenant_id DROP DEFAULT")
    op.execute("CREATE INDEX ix_dataset_loads_tenant ON dataset_loads (tenant_id, load_id)")
    for table in PARTITIONED:
        _partitioned_parent(table)
    op.execute(
        "CREATE INDEX ix_campaign_creator_totals_ranking ON campaign_creator_totals "
        "(tenant_id, campaign_id, conversions DESC, clicks DESC, creator_id) "
        "INCLUDE (impressions, spend)"
    )
    for table in PARTITIONED:
        _move_into_default_partition(table)
    _row_level_security()


def _create_tenants_and_keys() -> None:
    op.execute(
        f"""CREATE TABLE tenants (
            tenant_id {TENANT} CONSTRAINT pk_tenants PRIMARY KEY,
            tenant_name VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL)"""
    )
    op.execute("INSERT INTO tenants VALUES ('default', 'Default', now())")
    op.execute(
        f"""CREATE TABLE api_keys (
            key_id VARCHAR(32) CONSTRAINT pk_api_keys PRIMARY KEY,
            tenant_id {TENANT}
                CONSTRAINT fk_api_keys_tenant_id_tenants REFERENCES tenants (tenant_id),
            key_name VARCHAR NOT NULL,
            role VARCHAR(16) NOT NULL
                CONSTRAINT ck_api_keys_known_role CHECK (role IN ('viewer', 'editor', 'admin')),
            secret_sha256 VARCHAR(64) NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            last_used_at TIMESTAMPTZ,
            revoked_at TIMESTAMPTZ)"""
    )
    op.execute("CREATE INDEX ix_api_keys_tenant_id ON api_keys (tenant_id)")


def _set_aside(table: str) -> None:
    """The round-1 table, renamed out of the way with its foreign keys dropped."""
    op.execute(f"ALTER TABLE {table} RENAME TO {table}__round1")
    op.execute(
        f"""DO $$ DECLARE name text; BEGIN
            FOR name IN SELECT conname FROM pg_constraint
                WHERE conrelid = '{table}__round1'::regclass AND contype IN ('f', 'p')
            LOOP
                EXECUTE format('ALTER TABLE {table}__round1 DROP CONSTRAINT %I', name);
            END LOOP;
        END $$"""
    )
    op.execute(f"DROP INDEX IF EXISTS ix_{table}_ranking")


def _scope_dimension(table: str, key: str) -> None:
    op.execute(f"ALTER TABLE {table} ADD COLUMN tenant_id {TENANT} DEFAULT 'default'")
    op.execute(f"ALTER TABLE {table} ALTER COLUMN tenant_id DROP DEFAULT")
    op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (tenant_id, {key})")
    op.execute(
        f"ALTER TABLE {table} ADD CONSTRAINT fk_{table}_tenant_id_tenants "
        "FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id)"
    )


def _partitioned_parent(table: str) -> None:
    op.execute(f"CREATE TABLE {table} ({PARENTS[table]}) PARTITION BY LIST (tenant_id)")


def _move_into_default_partition(table: str) -> None:
    """Tenant `default`'s partition, named after the load it holds, filled from round 1."""
    op.execute(
        f"""DO $$ DECLARE load bigint; BEGIN
            SELECT COALESCE(MAX(load_id), 0) INTO load FROM dataset_loads;
            EXECUTE format('CREATE TABLE %I PARTITION OF {table} FOR VALUES IN (''default'')',
                           '{table}__p' || load);
        END $$"""
    )
    columns = COLUMNS[table]
    op.execute(
        f"INSERT INTO {table} (tenant_id, {columns}) "
        f"SELECT 'default', {columns} FROM {table}__round1"
    )
    op.execute(f"DROP TABLE {table}__round1")


def _row_level_security() -> None:
    op.execute(
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
                CREATE ROLE {ROLE} NOLOGIN;
            END IF;
            IF NOT pg_has_role(current_user, '{ROLE}', 'MEMBER') THEN
                EXECUTE format('GRANT {ROLE} TO %I', current_user);
            END IF;
        END $$"""
    )
    for table, privileges in SERVING_GRANTS.items():
        op.execute(f"GRANT {privileges} ON {table} TO {ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {ROLE} "
            f"USING (tenant_id = current_setting('{SETTING}', true)) "
            f"WITH CHECK (tenant_id = current_setting('{SETTING}', true))"
        )


def downgrade() -> None:
    """Back to one dataset: refused while a tenant other than `default` holds anything."""
    op.execute(
        """DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM campaigns WHERE tenant_id <> 'default')
               OR EXISTS (SELECT 1 FROM creators WHERE tenant_id <> 'default') THEN
                RAISE EXCEPTION 'tenants other than default hold data: downgrade refused';
            END IF;
        END $$"""
    )
    for table, privileges in SERVING_GRANTS.items():
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        op.execute(f"REVOKE {privileges} ON {table} FROM {ROLE}")
    for table in PARTITIONED:
        op.execute(f"CREATE TABLE {table}__round1 AS SELECT {COLUMNS[table]} FROM {table}")
        op.execute(f"DROP TABLE {table}")
        op.execute(f"ALTER TABLE {table}__round1 RENAME TO {table}")
    op.execute("DROP INDEX ix_dataset_loads_tenant")
    op.execute("ALTER TABLE dataset_loads DROP COLUMN tenant_id")
    for table, key in DIMENSIONS.items():
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT fk_{table}_tenant_id_tenants")
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
        op.execute(f"ALTER TABLE {table} DROP COLUMN tenant_id")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({key})")
    _round1_constraints()
    op.execute("DROP TABLE api_keys")
    op.execute("DROP TABLE tenants")


def _round1_constraints() -> None:
    """The keys, checks and indexes that revision 0004 left on the round-1 tables."""
    metrics = "campaign_daily_metrics"
    for column in ("impressions", "clicks", "conversions", "spend", "revenue"):
        op.execute(
            f"ALTER TABLE {metrics} ADD CONSTRAINT ck_{metrics}_{column}_not_negative "
            f"CHECK ({column} >= 0)"
        )
    for column in (
        "metric_date",
        "campaign_id",
        "creator_id",
        "impressions",
        "clicks",
        "conversions",
        "spend",
    ):
        op.execute(f"ALTER TABLE {metrics} ALTER COLUMN {column} SET NOT NULL")
    for table in ("campaign_day_totals", "campaign_creator_totals"):
        for column in ("campaign_id", "impressions", "clicks", "conversions", "spend"):
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL")
    op.execute("ALTER TABLE campaign_day_totals ALTER COLUMN metric_date SET NOT NULL")
    op.execute("ALTER TABLE campaign_creator_totals ALTER COLUMN creator_id SET NOT NULL")
    op.execute(
        "ALTER TABLE campaign_day_totals ADD CONSTRAINT pk_campaign_day_totals "
        "PRIMARY KEY (campaign_id, metric_date)"
    )
    op.execute(
        "ALTER TABLE campaign_creator_totals ADD CONSTRAINT pk_campaign_creator_totals "
        "PRIMARY KEY (campaign_id, creator_id)"
    )
    for table, column, target in (
        (metrics, "campaign_id", "campaigns"),
        (metrics, "creator_id", "creators"),
        ("campaign_day_totals", "campaign_id", "campaigns"),
        ("campaign_creator_totals", "campaign_id", "campaigns"),
        ("campaign_creator_totals", "creator_id", "creators"),
    ):
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT fk_{table}_{column}_{target} "
            f"FOREIGN KEY ({column}) REFERENCES {target} ({column})"
        )
    op.execute(
        "CREATE INDEX ix_campaign_creator_totals_ranking ON campaign_creator_totals "
        "(campaign_id, conversions DESC, clicks DESC, creator_id) INCLUDE (impressions, spend)"
    )
