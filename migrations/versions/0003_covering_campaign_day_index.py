"""Make the campaign-day index covering, so the three queries are index-only scans.

Measured at 20M rows (DECISIONS.md): p50 / p99 of the performance query fell from
25 / 141 ms with the plain index to 1.3 / 8 ms with the covering one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "campaign_daily_metrics"
INDEX = "ix_campaign_daily_metrics_campaign_day"
KEY = ["campaign_id", "metric_date", "creator_id"]
MEASURES = ["impressions", "clicks", "conversions", "spend", "revenue"]


def upgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    op.create_index(INDEX, TABLE, KEY, postgresql_include=MEASURES)


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    op.create_index(INDEX, TABLE, KEY)
