"""holds: order_checked_at, when the orders service confirmed the hold's order exists; a hold
still held without an order after a while is released (services/vouchers/orphans.py)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 12:40:00
"""
from alembic import op
import sqlalchemy as sa

from shared.db import UTCDateTime

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("holds") as batch:
        batch.add_column(sa.Column("order_checked_at", UTCDateTime(timezone=True), nullable=True))
    # holds that already have an outcome need no check
    op.execute("UPDATE holds SET order_checked_at = resolved_at WHERE status <> 'held'")


def downgrade() -> None:
    with op.batch_alter_table("holds") as batch:
        batch.drop_column("order_checked_at")
