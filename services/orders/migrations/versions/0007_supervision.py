"""supervision at the door (issue 24): door records (出发, code attempts and lock, the family's
remote confirmation, how a check-out was confirmed, not at home) and check-in/check-out photos.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 06:00:00
"""
import sqlalchemy as sa
from alembic import op

import shared.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('door_records',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('elder_id', sa.Uuid(), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('en_route_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('en_route_by', sa.String(length=100), nullable=True),
    sa.Column('code_attempts', sa.Integer(), nullable=False),
    sa.Column('code_locked_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('family_confirmed_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('family_confirmed_by', sa.String(length=100), nullable=True),
    sa.Column('confirmation', sa.String(length=12), nullable=True),
    sa.Column('unconfirmed_reason', sa.String(length=500), nullable=True),
    sa.Column('no_show_at', shared.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('no_show_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.PrimaryKeyConstraint('order_id')
    )
    with op.batch_alter_table('door_records', schema=None) as batch_op:
        batch_op.create_index('ix_door_records_no_show', ['district_code', 'no_show_at'], unique=False)

    op.create_table('order_photos',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('blob_key', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=20), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('taken_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('order_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_photos_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('order_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_photos_order_id'))
    op.drop_table('order_photos')
    with op.batch_alter_table('door_records', schema=None) as batch_op:
        batch_op.drop_index('ix_door_records_no_show')
    op.drop_table('door_records')
