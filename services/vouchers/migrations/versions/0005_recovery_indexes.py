"""recovery (追缴) after a death or move: an elder's redemptions and an elder's findings by index
(services/vouchers/recovery.py reads both on every elder event and estimate)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("redemptions") as batch:
        batch.create_index("ix_redemptions_elder_id", ["elder_id"], unique=False)
    with op.batch_alter_table("anomaly_findings") as batch:
        batch.create_index("ix_anomaly_findings_elder_id", ["elder_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("anomaly_findings") as batch:
        batch.drop_index("ix_anomaly_findings_elder_id")
    with op.batch_alter_table("redemptions") as batch:
        batch.drop_index("ix_redemptions_elder_id")
