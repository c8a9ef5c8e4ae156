"""hotline call log (the 12349 desk)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 05:40:00

(after 0003_notices: the two were written side by side and chained when both were merged)
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hotline_calls',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('caller_phone_enc', sa.Text(), nullable=False),
    sa.Column('caller_phone_index', sa.String(length=64), nullable=False),
    sa.Column('caller_phone_masked', sa.String(length=20), nullable=False),
    sa.Column('caller_kind', sa.String(length=10), nullable=False),
    sa.Column('elder_id', sa.String(length=36), nullable=True),
    sa.Column('elder_name', sa.String(length=50), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('operator_id', sa.String(length=36), nullable=False),
    sa.Column('operator_name', sa.String(length=50), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('started_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_s', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('order_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('hotline_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hotline_calls_caller_phone_index'), ['caller_phone_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_hotline_calls_elder_id'), ['elder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hotline_calls_operator_id'), ['operator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hotline_calls_started_at'), ['started_at'], unique=False)
        batch_op.create_index('ix_hotline_calls_district_started', ['district_code', 'started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hotline_calls', schema=None) as batch_op:
        batch_op.drop_index('ix_hotline_calls_district_started')
        batch_op.drop_index(batch_op.f('ix_hotline_calls_started_at'))
        batch_op.drop_index(batch_op.f('ix_hotline_calls_operator_id'))
        batch_op.drop_index(batch_op.f('ix_hotline_calls_elder_id'))
        batch_op.drop_index(batch_op.f('ix_hotline_calls_caller_phone_index'))
    op.drop_table('hotline_calls')
