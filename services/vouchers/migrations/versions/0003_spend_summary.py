"""spend summary: spend per voucher month, district, kind, service item and provider, kept with
each capture and reversal, filled here from the redemptions and reversals already booked

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 09:34:19.200237
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# The same aggregation as services/vouchers/ledger/spend_summary.py `raw_aggregate` (kept here as SQL
# so that this revision means the same thing whatever the code becomes later).
BACKFILL = """
INSERT INTO spend_summary (month, district_code, kind, service_code, provider_id,
                           redemption_count, order_amount_fen, voucher_fen, reversed_fen)
SELECT r.month, COALESCE(r.district_code, ''), r.kind, r.service_code, r.provider_id,
       COUNT(*), SUM(r.order_amount_fen), SUM(r.amount_fen), COALESCE(SUM(t.amount_fen), 0)
FROM redemptions r
LEFT JOIN ledger_transfers t ON t.reverses_id = r.capture_transfer_id AND t.kind = 'reverse'
GROUP BY r.month, COALESCE(r.district_code, ''), r.kind, r.service_code, r.provider_id
"""


def upgrade() -> None:
    op.create_table('spend_summary',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('service_code', sa.String(length=50), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('redemption_count', sa.BigInteger(), nullable=False),
    sa.Column('order_amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('voucher_fen', sa.BigInteger(), nullable=False),
    sa.Column('reversed_fen', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('month', 'district_code', 'kind', 'service_code', 'provider_id')
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table('spend_summary')
