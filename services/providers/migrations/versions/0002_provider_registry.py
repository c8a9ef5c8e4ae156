"""provider registry: the standard service catalogue, providers and their life-cycle history,
qualification documents, catalogue items, caregivers, and what order events leave behind
(daily loads and reviews)

The standard catalogue's rows are not inserted here: the service adds missing codes from
`standard_catalogue.json` at start-up, so an administrator's edits are never overwritten.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 09:31:25.895575
"""
from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_items',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('guide_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('min_duration_min', sa.Integer(), nullable=False),
    sa.Column('voucher_kinds', sa.JSON(), nullable=False),
    sa.Column('dispatch_mode', sa.String(length=20), nullable=False),
    sa.Column('grab_size', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )

    op.create_table('providers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('legal_name', sa.String(length=200), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=False),
    sa.Column('street', sa.String(length=100), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('lat', sa.Double(), nullable=False),
    sa.Column('lon', sa.Double(), nullable=False),
    sa.Column('contact_name', sa.String(length=50), nullable=False),
    sa.Column('contact_phone', sa.String(length=30), nullable=False),
    sa.Column('star_rating', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_reason', sa.String(length=500), nullable=True),
    sa.Column('status_changed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('area_radius_m', sa.Double(), nullable=True),
    sa.Column('area_streets', sa.JSON(), nullable=False),
    sa.Column('rating_sum', sa.Integer(), nullable=False),
    sa.Column('rating_count', sa.Integer(), nullable=False),
    sa.Column('applied_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credit_code')
    )
    op.create_index('ix_providers_district_status', 'providers', ['district_code', 'status'])
    op.create_index('ix_providers_status', 'providers', ['status'])
    op.create_index('ix_providers_updated_at', 'providers', ['updated_at'])

    op.create_table('provider_history',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('actor_id', sa.String(length=100), nullable=False),
    sa.Column('actor_role', sa.String(length=20), nullable=False),
    sa.Column('at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], ),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index('ix_provider_history_provider_id', 'provider_history', ['provider_id'])

    op.create_table('provider_documents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('file_url', sa.String(length=500), nullable=True),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('uploaded_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_provider_documents_provider_kind', 'provider_documents', ['provider_id', 'kind', 'expires_on'])
    op.create_index('ix_provider_documents_uploaded_at', 'provider_documents', ['uploaded_at'])

    op.create_table('catalogue_items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('min_duration_min', sa.Integer(), nullable=False),
    sa.Column('voucher_kinds', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('price_fen >= 0', name='ck_catalogue_items_price'),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], ),
    sa.ForeignKeyConstraint(['service_code'], ['service_items.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider_id', 'service_code', name='uq_catalogue_items_provider_code')
    )
    op.create_index('ix_catalogue_items_updated_at', 'catalogue_items', ['updated_at'])

    op.create_table('caregivers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('gender', sa.String(length=10), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('certificate_level', sa.String(length=20), nullable=True),
    sa.Column('base_lat', sa.Double(), nullable=False),
    sa.Column('base_lon', sa.Double(), nullable=False),
    sa.Column('service_radius_m', sa.Double(), nullable=False),
    sa.Column('working_hours', sa.JSON(), nullable=False),
    sa.Column('daily_limit', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('rating_sum', sa.Integer(), nullable=False),
    sa.Column('rating_count', sa.Integer(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_caregivers_provider_id', 'caregivers', ['provider_id'])
    op.create_index('ix_caregivers_updated_at', 'caregivers', ['updated_at'])

    op.create_table('order_loads',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('caregiver_id', sa.Uuid(), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_id')
    )
    op.create_index('ix_order_loads_caregiver_day', 'order_loads', ['caregiver_id', 'day'])
    op.create_index('ix_order_loads_updated_at', 'order_loads', ['updated_at'])

    op.create_table('reviews',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('provider_id', sa.Uuid(), nullable=False),
    sa.Column('caregiver_id', sa.Uuid(), nullable=True),
    sa.Column('elder_id', sa.Uuid(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(length=1000), nullable=True),
    sa.Column('reviewed_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_id')
    )
    op.create_index('ix_reviews_provider_id', 'reviews', ['provider_id'])


def downgrade() -> None:
    # indexes go with their tables
    op.drop_table('reviews')
    op.drop_table('order_loads')
    op.drop_table('caregivers')
    op.drop_table('catalogue_items')
    op.drop_table('provider_documents')
    op.drop_table('provider_history')
    op.drop_table('providers')
    op.drop_table('service_items')
