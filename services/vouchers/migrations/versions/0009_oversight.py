"""return visits (回访), their findings holding a settlement line, complaints, and the copy of
completed orders the sample is drawn from (services/vouchers/return_visits.py, complaints.py)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 06:00:00
"""
from alembic import op
import sqlalchemy as sa

from shared.db import UTCDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('settlements') as batch:
        batch.add_column(sa.Column('held_count', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('held_fen', sa.BigInteger(), server_default='0', nullable=False))
    op.create_table(
        'completed_orders',
        sa.Column('order_id', sa.Uuid(), nullable=False),
        sa.Column('elder_id', sa.Uuid(), nullable=False),
        sa.Column('provider_id', sa.Uuid(), nullable=False),
        sa.Column('caregiver_id', sa.Uuid(), nullable=True),
        sa.Column('district_code', sa.String(length=12), nullable=True),
        sa.Column('service_code', sa.String(length=50), nullable=False),
        sa.Column('completed_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.PrimaryKeyConstraint('order_id'),
    )
    with op.batch_alter_table('completed_orders') as batch:
        batch.create_index('ix_completed_orders_elder_id', ['elder_id'], unique=False)
        batch.create_index('ix_completed_orders_district_month', ['district_code', 'month'], unique=False)
    op.create_table(
        'return_visit_samples',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('district_code', sa.String(length=12), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('seed', sa.BigInteger(), nullable=False),
        sa.Column('policy_version', sa.String(length=20), nullable=False),
        sa.Column('rate_bp', sa.Integer(), nullable=False),
        sa.Column('minimum', sa.Integer(), nullable=False),
        sa.Column('population', sa.Integer(), nullable=False),
        sa.Column('drawn_by', sa.String(length=100), nullable=False),
        sa.Column('drawn_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('district_code', 'month', name='uq_return_visit_samples_district_month'),
    )
    op.create_table(
        'return_visits',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('sample_id', sa.Uuid(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Uuid(), nullable=False),
        sa.Column('elder_id', sa.Uuid(), nullable=False),
        sa.Column('provider_id', sa.Uuid(), nullable=False),
        sa.Column('district_code', sa.String(length=12), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('service_code', sa.String(length=50), nullable=False),
        sa.Column('completed_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('result', sa.String(length=20), nullable=True),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('called_by', sa.String(length=100), nullable=True),
        sa.Column('called_role', sa.String(length=20), nullable=True),
        sa.Column('called_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['sample_id'], ['return_visit_samples.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('sample_id', 'order_id', name='uq_return_visits_sample_order'),
    )
    with op.batch_alter_table('return_visits') as batch:
        batch.create_index('ix_return_visits_sample_id', ['sample_id'], unique=False)
        batch.create_index('ix_return_visits_provider_month', ['provider_id', 'month'], unique=False)
    op.create_table(
        'service_findings',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('visit_id', sa.Uuid(), nullable=True),
        sa.Column('order_id', sa.Uuid(), nullable=False),
        sa.Column('elder_id', sa.Uuid(), nullable=False),
        sa.Column('provider_id', sa.Uuid(), nullable=False),
        sa.Column('district_code', sa.String(length=12), nullable=False),
        sa.Column('redemption_id', sa.Uuid(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=True),
        sa.Column('carried_to_month', sa.String(length=7), nullable=True),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('resolution', sa.String(length=500), nullable=True),
        sa.Column('opened_by', sa.String(length=100), nullable=False),
        sa.Column('opened_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('resolved_by', sa.String(length=100), nullable=True),
        sa.Column('resolved_at', UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('order_id'),
    )
    with op.batch_alter_table('service_findings') as batch:
        batch.create_index('ix_service_findings_district_code', ['district_code'], unique=False)
        batch.create_index('ix_service_findings_redemption_id', ['redemption_id'], unique=False)
    op.create_table(
        'complaints',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('district_code', sa.String(length=12), nullable=False),
        sa.Column('subject', sa.String(length=20), nullable=False),
        sa.Column('order_id', sa.Uuid(), nullable=True),
        sa.Column('provider_id', sa.Uuid(), nullable=True),
        sa.Column('caregiver_id', sa.Uuid(), nullable=True),
        sa.Column('elder_id', sa.Uuid(), nullable=True),
        sa.Column('complainant_user_id', sa.String(length=100), nullable=False),
        sa.Column('complainant_role', sa.String(length=20), nullable=False),
        sa.Column('anonymous', sa.Boolean(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('deadline', UTCDateTime(timezone=True), nullable=False),
        sa.Column('policy_version', sa.String(length=20), nullable=False),
        sa.Column('handled_by', sa.String(length=100), nullable=True),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('answered_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('filed_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('complaints') as batch:
        batch.create_index('ix_complaints_provider_id', ['provider_id'], unique=False)
        batch.create_index('ix_complaints_elder_id', ['elder_id'], unique=False)
        batch.create_index('ix_complaints_complainant_user_id', ['complainant_user_id'], unique=False)
        batch.create_index('ix_complaints_district_status', ['district_code', 'status'], unique=False)
        batch.create_index('ix_complaints_filed_at', ['filed_at'], unique=False)


def downgrade() -> None:
    op.drop_table('complaints')
    op.drop_table('service_findings')
    op.drop_table('return_visits')
    op.drop_table('return_visit_samples')
    op.drop_table('completed_orders')
    with op.batch_alter_table('settlements') as batch:
        batch.drop_column('held_fen')
        batch.drop_column('held_count')
