"""beds and bed rates: the beds institutions declare (status free, reserved, occupied, out of
service; the reservation's application and the stay in it) and each provider's daily rate per
care level (issue 22)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('beds',
    sa.Column('bed_id', sa.Uuid(), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('room', sa.String(length=30), nullable=False),
    sa.Column('bed_no', sa.String(length=20), nullable=False),
    sa.Column('care_level', sa.String(length=20), nullable=False),
    sa.Column('room_gender', sa.String(length=10), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('application_id', sa.Uuid(), nullable=True),
    sa.Column('stay_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], ),
    sa.PrimaryKeyConstraint('bed_id'),
    sa.UniqueConstraint('provider_id', 'room', 'bed_no', name='uq_beds_provider_room_bed')
    )
    op.create_index('ix_beds_provider_status', 'beds', ['provider_id', 'status'], unique=False)
    op.create_index('ix_beds_care_level_status', 'beds', ['care_level', 'status'], unique=False)
    op.create_table('bed_rates',
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('care_level', sa.String(length=20), nullable=False),
    sa.Column('daily_rate_fen', sa.BigInteger(), nullable=False),
    sa.Column('policy_version', sa.String(length=20), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('daily_rate_fen >= 0', name='ck_bed_rates_rate'),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], ),
    sa.PrimaryKeyConstraint('provider_id', 'care_level')
    )


def downgrade() -> None:
    op.drop_table('bed_rates')
    op.drop_index('ix_beds_care_level_status', table_name='beds')
    op.drop_index('ix_beds_provider_status', table_name='beds')
    op.drop_table('beds')
