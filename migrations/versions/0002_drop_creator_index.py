"""Drop the creator index: loads swap whole tables in, so nothing deletes creators row by row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_campaign_daily_metrics_creator", table_name="campaign_daily_metrics")


def downgrade() -> None:
    op.create_index("ix_campaign_daily_metrics_creator", "campaign_daily_metrics", ["creator_id"])
