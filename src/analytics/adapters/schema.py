"""The relational schema, shared by every engine (DuckDB tables and the Alembic migrations)."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    MetaData,
    Numeric,
    String,
    Table,
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

campaigns = Table(
    "campaigns",
    metadata,
    Column("campaign_id", Identifier, primary_key=True),
    Column("campaign_name", String, nullable=False),
)

creators = Table(
    "creators",
    metadata,
    Column("creator_id", Identifier, primary_key=True),
    Column("creator_name", String, nullable=False),
)

campaign_daily_metrics = Table(
    "campaign_daily_metrics",
    metadata,
    Column("metric_date", Date, nullable=False),
    Column("campaign_id", Identifier, ForeignKey("campaigns.campaign_id"), nullable=False),
    Column("creator_id", Identifier, ForeignKey("creators.creator_id"), nullable=False),
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
)
