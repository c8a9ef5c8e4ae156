"""meals at the counter (issue 23): printed meal cards, and meal redemptions with the dynamic
code's id unique (a code makes one meal).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-20 09:00:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('meal_cards',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('serial', sa.String(length=12), nullable=False),
    sa.Column('elder_id', sa.Uuid(), nullable=False),
    sa.Column('issued_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=100), nullable=False),
    sa.Column('revoked_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('serial')
    )
    with op.batch_alter_table('meal_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meal_cards_elder_id'), ['elder_id'], unique=False)

    op.create_table('meal_redemptions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code_id', sa.String(length=44), nullable=True),
    sa.Column('card_id', sa.Uuid(), nullable=True),
    sa.Column('elder_id', sa.Uuid(), nullable=False),
    sa.Column('elder_name', sa.String(length=100), nullable=True),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('provider_name', sa.String(length=200), nullable=True),
    sa.Column('meal', sa.String(length=8), nullable=False),
    sa.Column('meal_date', sa.Date(), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('subsidy_fen', sa.BigInteger(), nullable=False),
    sa.Column('self_fen', sa.BigInteger(), nullable=False),
    sa.Column('tier', sa.String(length=40), nullable=True),
    sa.Column('reason_zh', sa.String(length=200), nullable=True),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('static', sa.Boolean(), nullable=False),
    sa.Column('scanned_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('redeemed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('redeemed_by', sa.String(length=100), nullable=False),
    sa.Column('undone_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('undone_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_id')
    )
    with op.batch_alter_table('meal_redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_meal_redemptions_elder_day', ['elder_id', 'meal_date'], unique=False)
        batch_op.create_index('ix_meal_redemptions_provider_day', ['provider_id', 'meal_date'], unique=False)
        batch_op.create_index('ix_meal_redemptions_day', ['meal_date'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('meal_redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_meal_redemptions_day')
        batch_op.drop_index('ix_meal_redemptions_provider_day')
        batch_op.drop_index('ix_meal_redemptions_elder_day')
    op.drop_table('meal_redemptions')
    with op.batch_alter_table('meal_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meal_cards_elder_id'))
    op.drop_table('meal_cards')
