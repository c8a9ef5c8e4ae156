"""meals at a meal point's counter: the subsidies asked for by the orders service, officers'
declared capacities, and the elder copy's birth date (the subsidy's age tier)
(services/vouchers/meal_subsidies.py)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-14 09:00:00
"""
from alembic import op
import sqlalchemy as sa

from shared.db import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('elders') as batch:
        batch.add_column(sa.Column('birth_date', sa.Date(), nullable=True))
    op.create_table(
        'meal_subsidies',
        sa.Column('redemption_id', sa.Uuid(), nullable=False),
        sa.Column('elder_id', sa.Uuid(), nullable=True),
        sa.Column('provider_id', sa.Uuid(), nullable=True),
        sa.Column('meal_date', sa.Date(), nullable=True),
        sa.Column('meal', sa.String(length=10), nullable=True),
        sa.Column('method', sa.String(length=10), nullable=True),
        sa.Column('price_fen', sa.BigInteger(), nullable=False),
        sa.Column('subsidy_fen', sa.BigInteger(), nullable=False),
        sa.Column('tier', sa.String(length=20), nullable=False),
        sa.Column('tier_name', sa.String(length=40), nullable=False),
        sa.Column('reason_zh', sa.String(length=200), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=True),
        sa.Column('district_code', sa.String(length=12), nullable=True),
        sa.Column('policy_version', sa.Integer(), nullable=True),
        sa.Column('voucher_redemption_id', sa.Uuid(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('served_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('reversed_at', UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('redemption_id'),
    )
    with op.batch_alter_table('meal_subsidies') as batch:
        batch.create_index('ix_meal_subsidies_elder_day', ['elder_id', 'meal_date'], unique=False)
        batch.create_index('ix_meal_subsidies_month', ['month'], unique=False)
    op.create_table(
        'meal_point_capacities',
        sa.Column('provider_id', sa.Uuid(), nullable=False),
        sa.Column('meals_per_day', sa.Integer(), nullable=False),
        sa.Column('set_by', sa.String(length=100), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('provider_id'),
    )


def downgrade() -> None:
    op.drop_table('meal_point_capacities')
    op.drop_table('meal_subsidies')
    with op.batch_alter_table('elders') as batch:
        batch.drop_column('birth_date')
