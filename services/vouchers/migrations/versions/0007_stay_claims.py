"""institutional stays (a copy from the orders service's stay events) and their monthly bed-day
claims (services/vouchers/stay_claims.py)

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-10 09:00:00
"""
from alembic import op
import sqlalchemy as sa

from shared.db import UTCDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'stays',
        sa.Column('stay_id', sa.Uuid(), nullable=False),
        sa.Column('elder_id', sa.Uuid(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('admitted_on', sa.Date(), nullable=False),
        sa.Column('ended_on', sa.Date(), nullable=True),
        sa.Column('end_reason', sa.String(length=200), nullable=True),
        sa.Column('beds', sa.JSON(), nullable=False),
        sa.Column('leaves', sa.JSON(), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('stay_id'),
    )
    with op.batch_alter_table('stays') as batch:
        batch.create_index('ix_stays_elder_id', ['elder_id'], unique=False)
        batch.create_index('ix_stays_admitted_ended', ['admitted_on', 'ended_on'], unique=False)
    op.create_table(
        'stay_claims',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('stay_id', sa.Uuid(), nullable=False),
        sa.Column('elder_id', sa.Uuid(), nullable=False),
        sa.Column('provider_id', sa.Uuid(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('district_code', sa.String(length=12), nullable=True),
        sa.Column('stay_kind', sa.String(length=20), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('first_day', sa.Date(), nullable=False),
        sa.Column('last_day', sa.Date(), nullable=False),
        sa.Column('present_days', sa.Integer(), nullable=False),
        sa.Column('paid_leave_days', sa.Integer(), nullable=False),
        sa.Column('unpaid_leave_days', sa.Integer(), nullable=False),
        sa.Column('amount_fen', sa.BigInteger(), nullable=False),
        sa.Column('voucher_fen', sa.BigInteger(), nullable=False),
        sa.Column('elder_fen', sa.BigInteger(), nullable=False),
        sa.Column('share_bp', sa.Integer(), nullable=False),
        sa.Column('lines', sa.JSON(), nullable=False),
        sa.Column('policy_version', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('hold_id', sa.Uuid(), nullable=True),
        sa.Column('capture_transfer_id', sa.String(length=64), nullable=True),
        sa.Column('confirmed_by', sa.String(length=100), nullable=True),
        sa.Column('confirmed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('approved_by', sa.String(length=100), nullable=True),
        sa.Column('approved_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('settled_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('stay_id', 'provider_id', 'month', name='uq_stay_claims_stay_provider_month'),
    )
    with op.batch_alter_table('stay_claims') as batch:
        batch.create_index('ix_stay_claims_elder_id', ['elder_id'], unique=False)
        batch.create_index('ix_stay_claims_provider_id', ['provider_id'], unique=False)
        batch.create_index('ix_stay_claims_month_district', ['month', 'district_code'], unique=False)


def downgrade() -> None:
    op.drop_table('stay_claims')
    op.drop_table('stays')
