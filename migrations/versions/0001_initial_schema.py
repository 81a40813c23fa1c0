"""Campaigns, creators, daily metrics and the load ledger.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

IDENTIFIER = sa.String(collation="C")  # ids compare as plain strings (byte order)
MONEY = sa.Numeric(18, 2)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", IDENTIFIER, nullable=False),
        sa.Column("campaign_name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", name="pk_campaigns"),
    )
    op.create_table(
        "creators",
        sa.Column("creator_id", IDENTIFIER, nullable=False),
        sa.Column("creator_name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("creator_id", name="pk_creators"),
    )
    op.create_table(
        "campaign_daily_metrics",
        sa.Column("metric_date", sa.Date(), nullable=False),
        sa.Column("campaign_id", IDENTIFIER, nullable=False),
        sa.Column("creator_id", IDENTIFIER, nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.BigInteger(), nullable=False),
        sa.Column("spend", MONEY, nullable=False),
        sa.Column("revenue", MONEY, nullable=True),
        sa.CheckConstraint(
            "impressions >= 0", name=op.f("ck_campaign_daily_metrics_impressions_not_negative")
        ),
        sa.CheckConstraint(
            "clicks >= 0", name=op.f("ck_campaign_daily_metrics_clicks_not_negative")
        ),
        sa.CheckConstraint(
            "conversions >= 0", name=op.f("ck_campaign_daily_metrics_conversions_not_negative")
        ),
        sa.CheckConstraint("spend >= 0", name=op.f("ck_campaign_daily_metrics_spend_not_negative")),
        sa.CheckConstraint(
            "revenue >= 0", name=op.f("ck_campaign_daily_metrics_revenue_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.campaign_id"],
            name="fk_campaign_daily_metrics_campaign_id_campaigns",
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.creator_id"],
            name="fk_campaign_daily_metrics_creator_id_creators",
        ),
    )
    op.create_index(
        "ix_campaign_daily_metrics_campaign_day",
        "campaign_daily_metrics",
        ["campaign_id", "metric_date", "creator_id"],
    )
    op.create_index("ix_campaign_daily_metrics_creator", "campaign_daily_metrics", ["creator_id"])
    op.create_table(
        "dataset_loads",
        sa.Column("load_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("dataset_name", sa.String(), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("file_checksums", sa.Text(), nullable=False),
        sa.Column("campaigns", sa.BigInteger(), nullable=False),
        sa.Column("creators", sa.BigInteger(), nullable=False),
        sa.Column("metric_rows", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("loaded_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("load_id", name="pk_dataset_loads"),
    )


def downgrade() -> None:
    op.drop_table("dataset_loads")
    op.drop_index("ix_campaign_daily_metrics_creator", table_name="campaign_daily_metrics")
    op.drop_index("ix_campaign_daily_metrics_campaign_day", table_name="campaign_daily_metrics")
    op.drop_table("campaign_daily_metrics")
    op.drop_table("creators")
    op.drop_table("campaigns")
