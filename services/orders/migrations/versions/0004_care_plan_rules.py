"""Care plans as recurring rules: the plan and item a rule was made from (unique: one rule per
item), its days of the month, and the preferred provider on rules and orders.

Revision ID: 0004
Revises: 0003
Create Date: 2027-01-10 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('recurring_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('month_days', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('source_plan_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('source_item_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('preferred_provider_id', sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint('uq_recurring_rule_plan_item', ['source_plan_id', 'source_item_id'])
        batch_op.create_index('ix_recurring_rules_preferred_provider_id', ['preferred_provider_id'], unique=False)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preferred_provider_id', sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('preferred_provider_id')
    with op.batch_alter_table('recurring_rules', schema=None) as batch_op:
        batch_op.drop_index('ix_recurring_rules_preferred_provider_id')
        batch_op.drop_constraint('uq_recurring_rule_plan_item', type_='unique')
        batch_op.drop_column('preferred_provider_id')
        batch_op.drop_column('source_item_id')
        batch_op.drop_column('source_plan_id')
        batch_op.drop_column('month_days')
