"""Metric breakdowns and likes (CONTRACT.md §8): six text columns and one count on the facts.

`platform`, `region`, `device_type`, `age_group`, `gender`, `placement` hold the breakdown
of a metric row (`unknown` when the file has none) and `likes` its likes (0 when none). They
are added to the partitioned parent, so every tenant's partition gets them, and a load's new
partitions (made LIKE the parent) too. With a constant default, adding a column rewrites
nothing. No new table: the explorer reads the tenant's fact partition, already covered by
the row-level security policy and the serving role's grant of revision 0005.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "campaign_daily_metrics"
BREAKDOWNS = ("platform", "region", "device_type", "age_group", "gender", "placement")


def upgrade() -> None:
    for column in BREAKDOWNS:
        op.execute(
            f'ALTER TABLE {TABLE} ADD COLUMN {column} VARCHAR COLLATE "C" NOT NULL '
            "DEFAULT 'unknown'"
        )
    op.execute(
        f"ALTER TABLE {TABLE} ADD COLUMN likes BIGINT NOT NULL DEFAULT 0 "
        f"CONSTRAINT ck_{TABLE}_likes_not_negative CHECK (likes >= 0)"
    )


def downgrade() -> None:
    for column in (*BREAKDOWNS, "likes"):
        op.execute(f"ALTER TABLE {TABLE} DROP COLUMN {column}")
