"""Status lists from other bureaus: the lists, their lines with outcomes, and the applied changes
of elder records (docs/decisions.md).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

import shared.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_lists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("money_at_stake_fen", sa.BigInteger(), nullable=True),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied_by", sa.String(length=100), nullable=True),
        sa.Column("applied_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("status_lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_lists_uploaded_at"), ["uploaded_at"], unique=False)

    op.create_table(
        "status_list_rows",
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("id_card_masked", sa.String(length=40), nullable=True),
        sa.Column("id_card_index", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=50), nullable=True),
        sa.Column("list_date", sa.Date(), nullable=True),
        sa.Column("list_status", sa.String(length=20), nullable=True),
        sa.Column("elder_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("change_field", sa.String(length=30), nullable=True),
        sa.Column("change_from", sa.String(length=30), nullable=True),
        sa.Column("change_to", sa.String(length=30), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["list_id"], ["status_lists.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("list_id", "line"),
    )

    op.create_table(
        "elder_status_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("elder_id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("file", sa.String(length=200), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=30), nullable=False),
        sa.Column("from_value", sa.String(length=30), nullable=True),
        sa.Column("to_value", sa.String(length=30), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("applied_by", sa.String(length=100), nullable=False),
        sa.Column("applied_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["list_id"], ["status_lists.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("elder_status_changes", schema=None) as batch_op:
        batch_op.create_index("ix_elder_status_changes_elder_applied", ["elder_id", "applied_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_elder_status_changes_list_id"), ["list_id"], unique=False)


def downgrade() -> None:
    op.drop_table("elder_status_changes")
    op.drop_table("status_list_rows")
    op.drop_table("status_lists")
