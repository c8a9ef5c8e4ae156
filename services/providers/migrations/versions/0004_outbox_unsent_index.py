"""the outbox's unsent rows in a partial index of their own (D74): the relay's claim reads them by a
plain index scan, which marks the entries of rows already sent as dead and skips them after, where
the old (sent_at, seq) index was read by a bitmap scan that visited every sent row's heap page
until a vacuum came

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 14:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_outbox_pending', table_name='outbox')
    op.create_index('ix_outbox_unsent', 'outbox', ['seq'], unique=False,
                    postgresql_where=sa.text('sent_at IS NULL'), sqlite_where=sa.text('sent_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_outbox_unsent', table_name='outbox')
    op.create_index('ix_outbox_pending', 'outbox', ['sent_at', 'seq'], unique=False)
