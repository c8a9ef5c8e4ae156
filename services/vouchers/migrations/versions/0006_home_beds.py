"""home beds (家庭养老床位) and the visits to them, for the audit rule 家庭养老床位本月无上门服务
(services/vouchers/rules/home_beds.py; issue 21)

Revision ID: 0006_home_beds
Revises: 0005
Create Date: 2026-12-10 10:00:00
"""
from alembic import op
import sqlalchemy as sa

from shared.db import UTCDateTime

revision = '0006_home_beds'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('home_beds',
    sa.Column('bed_id', sa.Uuid(), nullable=False),
    sa.Column('elder_id', sa.Uuid(), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=True),
    sa.Column('plan_id', sa.Uuid(), nullable=True),
    sa.Column('opened_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('close_reason', sa.String(length=200), nullable=True),
    sa.Column('visits_per_week', sa.Integer(), nullable=True),
    sa.Column('remote_monitoring', sa.Boolean(), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('bed_id')
    )
    with op.batch_alter_table('home_beds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_home_beds_elder_id'), ['elder_id'], unique=False)

    op.create_table('home_bed_visits',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('elder_id', sa.Uuid(), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('completed_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('order_id')
    )
    with op.batch_alter_table('home_bed_visits', schema=None) as batch_op:
        batch_op.create_index('ix_home_bed_visits_elder_day', ['elder_id', 'completed_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('home_bed_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_home_bed_visits_elder_day')
    op.drop_table('home_bed_visits')
    with op.batch_alter_table('home_beds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_home_beds_elder_id'))
    op.drop_table('home_beds')
