"""one-key emergency alarms (issue 25): alarms (one open per elder), the caregivers alerted to
each, and the home devices bound to one elder (token stored hashed).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 06:00:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alarms',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('elder_id', sa.Uuid(), nullable=False),
    sa.Column('elder_name', sa.String(length=100), nullable=True),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('street', sa.String(length=100), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('location_source', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=True),
    sa.Column('raised_by', sa.String(length=100), nullable=False),
    sa.Column('raised_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_press_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('press_count', sa.Integer(), nullable=False),
    sa.Column('policy_version', sa.String(length=20), nullable=False),
    sa.Column('ack_target_s', sa.Integer(), nullable=False),
    sa.Column('arrive_target_min', sa.Integer(), nullable=False),
    sa.Column('alerted_count', sa.Integer(), nullable=False),
    sa.Column('ack_deadline', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=14), nullable=False),
    sa.Column('escalated_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalation_reason', sa.String(length=20), nullable=True),
    sa.Column('acknowledged_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.Uuid(), nullable=True),
    sa.Column('acknowledged_by_name', sa.String(length=100), nullable=True),
    sa.Column('acknowledged_provider_id', sa.Uuid(), nullable=True),
    sa.Column('arrived_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=100), nullable=True),
    sa.Column('closed_by_role', sa.String(length=20), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.create_index('uq_alarms_open_elder', ['elder_id'], unique=True,
                              postgresql_where=sa.text('closed_at IS NULL'), sqlite_where=sa.text('closed_at IS NULL'))
        batch_op.create_index('ix_alarms_state_deadline', ['state', 'ack_deadline'], unique=False)
        batch_op.create_index('ix_alarms_district_raised', ['district_code', 'raised_at'], unique=False)
        batch_op.create_index('ix_alarms_elder_raised', ['elder_id', 'raised_at'], unique=False)

    op.create_table('alarm_alerts',
    sa.Column('alarm_id', sa.Uuid(), nullable=False),
    sa.Column('caregiver_id', sa.Uuid(), nullable=False),
    sa.Column('caregiver_name', sa.String(length=100), nullable=True),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('provider_name', sa.String(length=200), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('alerted_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alarm_id'], ['alarms.id'], ),
    sa.PrimaryKeyConstraint('alarm_id', 'caregiver_id')
    )
    with op.batch_alter_table('alarm_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alarm_alerts_caregiver', ['caregiver_id'], unique=False)
        batch_op.create_index('ix_alarm_alerts_provider', ['provider_id'], unique=False)

    op.create_table('alarm_devices',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('elder_id', sa.Uuid(), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('token_hint', sa.String(length=12), nullable=False),
    sa.Column('issued_by', sa.String(length=100), nullable=False),
    sa.Column('issued_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.Column('last_used_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('alarm_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_devices_elder_id'), ['elder_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alarm_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_devices_elder_id'))
    op.drop_table('alarm_devices')
    with op.batch_alter_table('alarm_alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alarm_alerts_provider')
        batch_op.drop_index('ix_alarm_alerts_caregiver')
    op.drop_table('alarm_alerts')
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.drop_index('ix_alarms_elder_raised')
        batch_op.drop_index('ix_alarms_district_raised')
        batch_op.drop_index('ix_alarms_state_deadline')
        batch_op.drop_index('uq_alarms_open_elder')
    op.drop_table('alarms')
