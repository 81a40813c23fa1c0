"""Scheduled work: job runs, what each run did per tenant, and the stored alert feed.

`job_runs` is global (no tenant's data in it): one row per run, unique per (job, due time),
so that however many scheduler processes run, a due run is claimed once; a partial unique
index lets at most one run of a job be `running` at a time, so a run that overruns its
interval is never started twice. `job_run_tenants` (a run's part for one tenant) and
`alerts` are tenant tables: row-level security and grants to `analytics_tenant` as 0005.
The serving role may read only the global columns of `job_runs`, never its `detail`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ROLE = "analytics_tenant"
SETTING = "analytics.tenant_id"
TENANT = 'VARCHAR(63) COLLATE "C" NOT NULL'
TENANT_TABLES = {"job_run_tenants": "SELECT, INSERT", "alerts": "SELECT, INSERT"}


def upgrade() -> None:
    op.execute(
        """CREATE TABLE job_runs (
            run_id VARCHAR(32) CONSTRAINT pk_job_runs PRIMARY KEY,
            job VARCHAR(64) NOT NULL,
            due_at TIMESTAMPTZ,
            started_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ,
            alive_at TIMESTAMPTZ NOT NULL,
            status VARCHAR(16) NOT NULL,
            detail TEXT NOT NULL,
            CONSTRAINT uq_job_runs_job_due_at UNIQUE (job, due_at))"""
    )
    op.execute("CREATE INDEX ix_job_runs_started_at ON job_runs (started_at, run_id)")
    op.execute(
        "CREATE UNIQUE INDEX uq_job_runs_one_running ON job_runs (job) WHERE status = 'running'"
    )
    op.execute(
        f"""CREATE TABLE job_run_tenants (
            tenant_id {TENANT}
                CONSTRAINT fk_job_run_tenants_tenant_id_tenants REFERENCES tenants (tenant_id),
            run_id VARCHAR(32) NOT NULL
                CONSTRAINT fk_job_run_tenants_run_id_job_runs REFERENCES job_runs (run_id)
                ON DELETE CASCADE,
            status VARCHAR(16) NOT NULL,
            detail TEXT NOT NULL,
            CONSTRAINT pk_job_run_tenants PRIMARY KEY (tenant_id, run_id))"""
    )
    op.execute(
        f"""CREATE TABLE alerts (
            tenant_id {TENANT}
                CONSTRAINT fk_alerts_tenant_id_tenants REFERENCES tenants (tenant_id),
            alert_id VARCHAR(32) NOT NULL,
            campaign_id VARCHAR COLLATE "C" NOT NULL,
            metric_date DATE NOT NULL,
            rule VARCHAR(64) NOT NULL,
            detail TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            CONSTRAINT pk_alerts PRIMARY KEY (tenant_id, alert_id),
            CONSTRAINT uq_alerts_once UNIQUE (tenant_id, campaign_id, metric_date, rule))"""
    )
    op.execute("CREATE INDEX ix_alerts_feed ON alerts (tenant_id, created_at, alert_id)")
    op.execute(
        f"GRANT SELECT (run_id, job, due_at, started_at, finished_at, status) ON job_runs TO {ROLE}"
    )
    for table, privileges in TENANT_TABLES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} TO {ROLE} "
            f"USING (tenant_id = current_setting('{SETTING}', true)) "
            f"WITH CHECK (tenant_id = current_setting('{SETTING}', true))"
        )


def downgrade() -> None:
    for table, privileges in TENANT_TABLES.items():
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(f"REVOKE {privileges} ON {table} FROM {ROLE}")
        op.execute(f"DROP TABLE {table}")
    op.execute(f"REVOKE SELECT ON job_runs FROM {ROLE}")
    op.execute("DROP TABLE job_runs")
