"""The editable catalog (CONTRACT.md §7): campaign status, created/updated times, the
per-tenant catalog clock, stored thresholds, idempotency keys and the cursor signing key.

Existing campaigns and creators get `created_at` = their tenant's first load (else now) and
`updated_at` = now; each tenant's clock starts at its newest `updated_at`. Every new tenant
table gets the row-level security policy of 0005 and the grants the serving role needs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ROLE = "analytics_tenant"
SETTING = "analytics.tenant_id"
TENANT = 'VARCHAR(63) COLLATE "C" NOT NULL'
ID = 'VARCHAR COLLATE "C" NOT NULL'
DIMENSIONS = {"campaigns": "campaign_id", "creators": "creator_id"}
SERVING_GRANTS = {
    "catalog_clocks": "SELECT, INSERT, UPDATE",
    "campaign_thresholds": "SELECT, INSERT, UPDATE, DELETE",
    "idempotency_keys": "SELECT, INSERT, UPDATE, DELETE",
}


def upgrade() -> None:
    op.execute(
        "ALTER TABLE campaigns ADD COLUMN status VARCHAR(16) DEFAULT 'active' NOT NULL "
        "CONSTRAINT ck_campaigns_known_status "
        "CHECK (status IN ('active', 'paused', 'archived'))"
    )
    for table, key in DIMENSIONS.items():
        _timestamps(table, key)
    _create_tables()
    op.execute(
        "INSERT INTO catalog_clocks (tenant_id, last_at) "
        "SELECT t.tenant_id, GREATEST(now(), COALESCE(MAX(c.updated_at), now())) "
        "FROM tenants AS t LEFT JOIN campaigns AS c ON c.tenant_id = t.tenant_id "
        "GROUP BY t.tenant_id"
    )
    # 244 random bits from the server's strong random source (gen_random_uuid, PG 13+).
    op.execute(
        "INSERT INTO cursor_secret (singleton, secret) "
        "VALUES (1, replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))"
    )
    for table, privileges in SERVING_GRANTS.items():
        op.execute(f"GRANT {privileges} ON {table} TO {ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {ROLE} "
            f"USING (tenant_id = current_setting('{SETTING}', true)) "
            f"WITH CHECK (tenant_id = current_setting('{SETTING}', true))"
        )


def _timestamps(table: str, key: str) -> None:
    op.execute(f"ALTER TABLE {table} ADD COLUMN created_at TIMESTAMPTZ")
    op.execute(f"ALTER TABLE {table} ADD COLUMN updated_at TIMESTAMPTZ")
    op.execute(
        f"UPDATE {table} AS d SET updated_at = now(), created_at = COALESCE("
        "(SELECT MIN(l.started_at) FROM dataset_loads AS l WHERE l.tenant_id = d.tenant_id), "
        "now())"
    )
    for column in ("created_at", "updated_at"):  # defaults for hand-written SQL only
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT CURRENT_TIMESTAMP")
    op.execute(f"CREATE INDEX ix_{table}_sync ON {table} (tenant_id, updated_at, {key})")


def _create_tables() -> None:
    op.execute(
        f"""CREATE TABLE catalog_clocks (
            tenant_id {TENANT} CONSTRAINT pk_catalog_clocks PRIMARY KEY
                CONSTRAINT fk_catalog_clocks_tenant_id_tenants REFERENCES tenants (tenant_id),
            last_at TIMESTAMPTZ NOT NULL)"""
    )
    op.execute(
        f"""CREATE TABLE campaign_thresholds (
            tenant_id {TENANT},
            campaign_id {ID},
            min_ctr DOUBLE PRECISION NOT NULL,
            min_roas DOUBLE PRECISION NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            CONSTRAINT pk_campaign_thresholds PRIMARY KEY (tenant_id, campaign_id),
            CONSTRAINT fk_campaign_thresholds_campaign_id_campaigns
                FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, campaign_id)
                ON DELETE CASCADE,
            CONSTRAINT ck_campaign_thresholds_not_negative
                CHECK (min_ctr >= 0 AND min_roas >= 0))"""
    )
    op.execute(
        f"""CREATE TABLE idempotency_keys (
            tenant_id {TENANT},
            idempotency_key VARCHAR(255) NOT NULL,
            fingerprint VARCHAR(64) NOT NULL,
            claim_id VARCHAR(32) NOT NULL,
            status_code INTEGER,
            response_body TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            CONSTRAINT pk_idempotency_keys PRIMARY KEY (tenant_id, idempotency_key))"""
    )
    op.execute(
        "CREATE INDEX ix_idempotency_keys_created ON idempotency_keys (tenant_id, created_at)"
    )
    op.execute(
        """CREATE TABLE cursor_secret (
            singleton INTEGER CONSTRAINT pk_cursor_secret PRIMARY KEY
                CONSTRAINT ck_cursor_secret_one_row CHECK (singleton = 1),
            secret VARCHAR(128) NOT NULL)"""
    )


def downgrade() -> None:
    for table, privileges in SERVING_GRANTS.items():
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(f"REVOKE {privileges} ON {table} FROM {ROLE}")
    for table in ("cursor_secret", "idempotency_keys", "campaign_thresholds", "catalog_clocks"):
        op.execute(f"DROP TABLE {table}")
    for table in DIMENSIONS:
        op.execute(f"DROP INDEX ix_{table}_sync")
        op.execute(f"ALTER TABLE {table} DROP COLUMN created_at")
        op.execute(f"ALTER TABLE {table} DROP COLUMN updated_at")
    op.execute("ALTER TABLE campaigns DROP COLUMN status")
