"""The relational schema, shared by every engine (DuckDB tables and the Alembic migrations)."""

from itertools import combinations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Double,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Ids compare as plain strings on every engine: byte order ("C" collation on PostgreSQL).
Identifier = String().with_variant(String(collation="C"), "postgresql")
Money = Numeric(18, 2)

BREAKDOWNS = ("platform", "region", "device_type", "age_group", "gender", "placement")
TenantId = String(63).with_variant(String(63, collation="C"), "postgresql")
ROLES = ("viewer", "editor", "admin")

tenants = Table(
    "tenants",
    metadata,
    Column("tenant_id", TenantId, primary_key=True),
    Column("tenant_name", String, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("tenant_id", TenantId, nullable=False),
    Column("key_name", String, nullable=False),
    Column("role", String(16), nullable=False),
    Column("secret_sha256", String(64), nullable=False),  # hex; the secret is never stored
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    CheckConstraint(f"role IN {ROLES}", name="known_role"),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
)


def _tenant_column() -> Column:
    return Column("tenant_id", TenantId, primary_key=True)


CAMPAIGN_STATUSES = ("active", "paused", "archived")
_now = text("CURRENT_TIMESTAMP")


def _catalog_columns(*, with_status: bool) -> list[Column]:
    """Catalog columns (migration 0006): `updated_at` strictly increases per tenant in commit
    order (adapters/catalog_clock.py), so keyset pages on (updated_at, id) never skip a row."""
    status = [
        Column("status", String(16), nullable=False, server_default="active"),
        CheckConstraint(f"status IN {CAMPAIGN_STATUSES}", name="known_status"),
    ]
    return [
        *(status if with_status else []),
        # The defaults serve hand-written SQL only: the service always stamps the clock's time.
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
    ]


# Every tenant table starts with tenant_id, and its keys start with it: ids are unique
# within a tenant (CONTRACT.md §6). On PostgreSQL the fact and rollup tables are partitioned
# by tenant (one partition per tenant, swapped in by a load) and every tenant table has a
# row-level security policy keyed on the transaction's `analytics.tenant_id`: both live in
# migration 0005 only (duckdb_engine would pass PostgreSQL table options on to DuckDB).
campaigns = Table(
    "campaigns",
    metadata,
    _tenant_column(),
    Column("campaign_id", Identifier, primary_key=True),
    Column("campaign_name", String, nullable=False),
    *_catalog_columns(with_status=True),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]).ddl_if(dialect="postgresql"),
)

creators = Table(
    "creators",
    metadata,
    _tenant_column(),
    Column("creator_id", Identifier, primary_key=True),
    Column("creator_name", String, nullable=False),
    *_catalog_columns(with_status=False),
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]).ddl_if(dialect="postgresql"),
)

campaign_daily_metrics = Table(
    "campaign_daily_metrics",
    metadata,
    Column("tenant_id", TenantId, nullable=False),
    Column("metric_date", Date, nullable=False),
    Column("campaign_id", Identifier, nullable=False),
    Column("creator_id", Identifier, nullable=False),
    Column("impressions", BigInteger, nullable=False),
    Column("clicks", BigInteger, nullable=False),
    Column("conversions", BigInteger, nullable=False),
    Column("spend", Money, nullable=False),
    Column("revenue", Money, nullable=True),
    CheckConstraint("impressions >= 0", name="impressions_not_negative"),
    CheckConstraint("clicks >= 0", name="clicks_not_negative"),
    CheckConstraint("conversions >= 0", name="conversions_not_negative"),
    CheckConstraint("spend >= 0", name="spend_not_negative"),
    CheckConstraint("revenue >= 0", name="revenue_not_negative"),
    # Optional breakdowns and likes (CONTRACT.md §8): each breakdown is the surrogate key of
    # its value in the tenant's dimension table (star_schema.py, migration 0009); key 0 is
    # `unknown` in every tenant, the value of a row whose file has none.
    *(Column(f"{name}_key", Integer, nullable=False, server_default="0") for name in BREAKDOWNS),
    Column("likes", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("likes >= 0", name="likes_not_negative"),
    # No foreign keys to the dimensions (see migrations 0005 and 0009): the loader checks
    # every id and assigns every breakdown key in the same publish as its dimension rows.
)

# Rollups, refreshed by every load inside the same publish; the three queries read them.
# Sums of BIGINT counts are NUMERIC(38, 0): they can exceed BIGINT. Revenue is NULL when
# every summed row's revenue was unknown.
Count = Numeric(38, 0)
MoneySum = Numeric(38, 2)


def _measures() -> list[Column]:
    return [
        Column("impressions", Count, nullable=False),
        Column("clicks", Count, nullable=False),
        Column("conversions", Count, nullable=False),
        Column("spend", MoneySum, nullable=False),
        Column("revenue", MoneySum, nullable=True),
    ]


campaign_day_totals = Table(
    "campaign_day_totals",
    metadata,
    _tenant_column(),
    Column("campaign_id", Identifier, primary_key=True),
    Column("metric_date", Date, primary_key=True),
    *_measures(),
)

campaign_creator_totals = Table(
    "campaign_creator_totals",
    metadata,
    _tenant_column(),
    Column("campaign_id", Identifier, primary_key=True),
    Column("creator_id", Identifier, primary_key=True),
    *_measures(),
)

# PostgreSQL: the ranking read straight off the index, a campaign's best creators first.
Index(
    "ix_campaign_creator_totals_ranking",
    campaign_creator_totals.c.tenant_id,
    campaign_creator_totals.c.campaign_id,
    campaign_creator_totals.c.conversions.desc(),
    campaign_creator_totals.c.clicks.desc(),
    campaign_creator_totals.c.creator_id,
    postgresql_include=["impressions", "spend"],
).ddl_if(dialect="postgresql")

# The explorer's star (CONTRACT.md §8, migration 0009): per tenant, one dimension table per
# breakdown (surrogate key -> value, key 0 = `unknown`), a date dimension keyed by the date
# itself (its bucket starts), and rollups of the facts at coarser grains keyed by them. All
# are rebuilt by every load in the same publish as the facts (partitions swapped, PostgreSQL).
dim_date = Table(
    "dim_date",
    metadata,
    _tenant_column(),
    Column("metric_date", Date, primary_key=True),
    Column("week_start", Date, nullable=False),  # the ISO week's Monday
    Column("month_start", Date, nullable=False),
)

breakdown_dimensions = {
    name: Table(
        f"dim_{name}",
        metadata,
        _tenant_column(),
        Column(f"{name}_key", Integer, primary_key=True, autoincrement=False),
        Column(name, Identifier, nullable=False),
        UniqueConstraint("tenant_id", name),
    )
    for name in BREAKDOWNS
}


def _breakdown_measures() -> list[Column]:
    return [*_measures(), Column("likes", Count, nullable=False)]


def _rollup(name: str, period: str, breakdowns: tuple[str, ...]) -> Table:
    return Table(
        name,
        metadata,
        _tenant_column(),
        Column(period, Date, primary_key=True),
        *(Column(f"{b}_key", Integer, primary_key=True, autoincrement=False) for b in breakdowns),
        *_breakdown_measures(),
    )


CORE_BREAKDOWNS = ("platform", "region", "device_type")
# The three most asked breakdowns per day and per month (DECISIONS.md: a cube of all six
# per day was measured and dropped).
breakdown_day_core = _rollup("breakdown_day_core", "metric_date", CORE_BREAKDOWNS)
breakdown_month_core = _rollup("breakdown_month_core", "month_start", CORE_BREAKDOWNS)
# One of the core breakdowns alone per day (migration 0010), from the day core: a quarter by
# platform reads ~550 rows instead of ~22,000 (BENCHMARKS.md, "Metrics explorer at 20M rows").
breakdown_day_single = {
    name: _rollup(f"breakdown_day_{name}", "metric_date", (name,)) for name in CORE_BREAKDOWNS
}
# Each one or two of the core breakdowns per month (migration 0011), from the month core: a
# question grouped by exactly a table's breakdowns and period reads its rows as they are,
# without summing (BENCHMARKS.md, "Metrics explorer at 20M rows").
MONTH_SUBSETS = tuple(
    combination for size in (1, 2) for combination in combinations(CORE_BREAKDOWNS, size)
)
breakdown_month_subsets = {
    subset: _rollup("breakdown_month_" + "_".join(subset), "month_start", subset)
    for subset in MONTH_SUBSETS
}
STAR_TABLES = (
    dim_date,
    *breakdown_dimensions.values(),
    breakdown_day_core,
    breakdown_month_core,
    *breakdown_day_single.values(),
    *breakdown_month_subsets.values(),
)

# The load ledger: one row per published dataset; a tenant's newest row is what it serves.
dataset_loads = Table(
    "dataset_loads",
    metadata,
    Column("load_id", Integer, primary_key=True, autoincrement=False),
    Column("tenant_id", TenantId, nullable=False),
    Column("dataset_name", String, nullable=False),
    Column("checksum", String(64), nullable=False),
    Column("file_checksums", Text, nullable=False),
    Column("campaigns", BigInteger, nullable=False),
    Column("creators", BigInteger, nullable=False),
    Column("metric_rows", BigInteger, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("seconds", Float, nullable=False),
    Column("loaded_by", String, nullable=False),
    Index("ix_dataset_loads_tenant", "tenant_id", "load_id"),
)

# Scheduled work (CONTRACT.md §9; migration 0008). Job runs are global: one row per run of
# a job, unique per (job, due time) so that however many schedulers run, a due run happens
# once. What a run did for one tenant lives in that tenant's `job_run_tenants` row.
job_runs = Table(
    "job_runs",
    metadata,
    Column("run_id", String(32), primary_key=True),
    Column("job", String(64), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=True),  # NULL: started by hand
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("alive_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("detail", Text, nullable=False),  # JSON, counts only: never a tenant's data
    UniqueConstraint("job", "due_at", name="uq_job_runs_job_due_at"),
    Index("ix_job_runs_started_at", "started_at", "run_id"),
)

job_run_tenants = Table(
    "job_run_tenants",
    metadata,
    _tenant_column(),
    Column("run_id", String(32), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("detail", Text, nullable=False),  # JSON: what the run did for this tenant
)

alerts = Table(
    "alerts",
    metadata,
    _tenant_column(),
    Column("alert_id", String(32), primary_key=True),
    Column("campaign_id", Identifier, nullable=False),
    Column("metric_date", Date, nullable=False),
    Column("rule", String(64), nullable=False),
    Column("detail", Text, nullable=False),  # JSON
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Stored once: a re-run of the scan finds the key taken and adds nothing.
    UniqueConstraint("tenant_id", "campaign_id", "metric_date", "rule", name="uq_alerts_once"),
    Index("ix_alerts_feed", "tenant_id", "created_at", "alert_id"),
)

# The catalog (CONTRACT.md §7, migration 0006). PostgreSQL adds the keyset indexes
# (tenant_id, updated_at, id) and row-level security; DuckDB scans (no secondary index: it
# would turn every upsert of updated_at into a delete and insert of index entries).
Index(
    "ix_campaigns_sync", campaigns.c.tenant_id, campaigns.c.updated_at, campaigns.c.campaign_id
).ddl_if(dialect="postgresql")
Index(
    "ix_creators_sync", creators.c.tenant_id, creators.c.updated_at, creators.c.creator_id
).ddl_if(dialect="postgresql")

# One row per tenant: the last catalog timestamp handed out. Every catalog write locks it
# first, so writes of a tenant commit in the order of their timestamps.
catalog_clocks = Table(
    "catalog_clocks",
    metadata,
    Column("tenant_id", TenantId, primary_key=True),
    Column("last_at", DateTime(timezone=True), nullable=False),
)

campaign_thresholds = Table(
    "campaign_thresholds",
    metadata,
    _tenant_column(),
    Column("campaign_id", Identifier, primary_key=True),
    Column("min_ctr", Double, nullable=False),
    Column("min_roas", Double, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("min_ctr >= 0 AND min_roas >= 0", name="not_negative"),
)

# POST responses by Idempotency-Key, kept 24 hours (purged by the writes themselves).
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    _tenant_column(),
    Column("idempotency_key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),  # SHA-256 of method, path and body
    Column("claim_id", String(32), nullable=False),  # who is performing the request
    Column("status_code", Integer, nullable=True),  # NULL while in flight
    Column("response_body", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_idempotency_keys_created", "tenant_id", "created_at"),
)

# The key that signs pagination cursors when CURSOR_SECRET is not set: one row, made by the
# migration (PostgreSQL) or at start-up (DuckDB), shared by every worker of the database.
cursor_secret = Table(
    "cursor_secret",
    metadata,
    Column("singleton", Integer, primary_key=True, autoincrement=False),
    Column("secret", String(128), nullable=False),
    CheckConstraint("singleton = 1", name="one_row"),
)
