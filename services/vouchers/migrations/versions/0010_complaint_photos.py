"""a complaint's optional photo (services/vouchers/complaints.py; the blob lives in shared/storage.py)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 07:00:00
"""
from alembic import op
import sqlalchemy as sa

from shared.db import UTCDateTime

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('complaints') as batch:
        batch.add_column(sa.Column('photo_key', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('photo_content_type', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('photo_size_bytes', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('photo_width', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('photo_height', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('photo_added_at', UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('complaints') as batch:
        for column in ('photo_added_at', 'photo_height', 'photo_width', 'photo_size_bytes', 'photo_content_type',
                       'photo_key'):
            batch.drop_column(column)
