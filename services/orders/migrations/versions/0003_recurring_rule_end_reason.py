"""recurring_rules.end_reason: why the platform ended a rule (the elder died or moved away).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('recurring_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('end_reason', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('recurring_rules', schema=None) as batch_op:
        batch_op.drop_column('end_reason')
