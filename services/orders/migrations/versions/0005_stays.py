"""stays (issue 22): stay applications, stays with one open stay per elder (a partial unique
index, on both backends), and each stay's movements.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 09:00:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stay_applications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('elder_id', sa.Uuid(), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('care_level', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('planned_start', sa.Date(), nullable=False),
    sa.Column('planned_end', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('bed_id', sa.Uuid(), nullable=True),
    sa.Column('decline_reason', sa.String(length=500), nullable=True),
    sa.Column('applied_by', sa.String(length=100), nullable=False),
    sa.Column('applied_by_role', sa.String(length=20), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stay_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stay_applications_elder_id'), ['elder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stay_applications_provider_id'), ['provider_id'], unique=False)

    op.create_table('stays',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=False),
    sa.Column('elder_id', sa.Uuid(), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('provider_name', sa.String(length=200), nullable=True),
    sa.Column('bed_id', sa.Uuid(), nullable=False),
    sa.Column('care_level', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('daily_rate_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('admitted_on', sa.Date(), nullable=False),
    sa.Column('planned_end', sa.Date(), nullable=True),
    sa.Column('since', sa.Date(), nullable=False),
    sa.Column('leave_kind', sa.String(length=10), nullable=True),
    sa.Column('leave_from', sa.Date(), nullable=True),
    sa.Column('leave_to', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('end_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['stay_applications.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('application_id')
    )
    with op.batch_alter_table('stays', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stays_provider_id'), ['provider_id'], unique=False)
        # the database's own guard: at most one open stay per elder (read by placement too)
        batch_op.create_index('uq_stays_one_open_per_elder', ['elder_id'], unique=True,
                              postgresql_where=sa.text("ended_on IS NULL"),
                              sqlite_where=sa.text("ended_on IS NULL"))

    op.create_table('stay_movements',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('stay_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('leave_kind', sa.String(length=10), nullable=True),
    sa.Column('leave_to', sa.Date(), nullable=True),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('bed_id', sa.Uuid(), nullable=False),
    sa.Column('daily_rate_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['stay_id'], ['stays.id']),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stay_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stay_movements_stay_id'), ['stay_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stay_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stay_movements_stay_id'))
    op.drop_table('stay_movements')
    with op.batch_alter_table('stays', schema=None) as batch_op:
        batch_op.drop_index('uq_stays_one_open_per_elder', postgresql_where=sa.text("ended_on IS NULL"),
                            sqlite_where=sa.text("ended_on IS NULL"))
        batch_op.drop_index(batch_op.f('ix_stays_provider_id'))
    op.drop_table('stays')
    with op.batch_alter_table('stay_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stay_applications_provider_id'))
        batch_op.drop_index(batch_op.f('ix_stay_applications_elder_id'))
    op.drop_table('stay_applications')
