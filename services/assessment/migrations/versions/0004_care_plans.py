"""Care plans and their items, home beds and their devices, and the completed home adaptations
learnt from orders (docs/decisions.md, "Care plans").

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-15
"""
from alembic import op
import sqlalchemy as sa

import shared.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LIVE_PLAN = "state IN ('active', 'to_review')"
OPEN_BED = "state IN ('preparing', 'open')"


def upgrade() -> None:
    op.create_table(
        "care_plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("elder_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=True),
        sa.Column("budget", sa.JSON(), nullable=True),
        sa.Column("consent", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("activated_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_since", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=True),
        sa.Column("replaced_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("elder_id", "version", name="uq_care_plans_elder_version"),
    )
    with op.batch_alter_table("care_plans", schema=None) as batch_op:
        batch_op.create_index("ix_care_plans_state", ["state"], unique=False)
        batch_op.create_index("uq_care_plans_one_live_per_elder", ["elder_id"], unique=True,
                              postgresql_where=sa.text(LIVE_PLAN), sqlite_where=sa.text(LIVE_PLAN))

    op.create_table(
        "care_plan_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(length=40), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("frequency", sa.JSON(), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("voucher_kind", sa.String(length=20), nullable=False),
        sa.Column("unit_price_fen", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["care_plans.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("care_plan_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_plan_items_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "home_beds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("elder_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("package", sa.JSON(), nullable=False),
        sa.Column("waiver_reason", sa.String(length=200), nullable=True),
        sa.Column("waived_by", sa.String(length=100), nullable=True),
        sa.Column("waived_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("policy_version", sa.String(length=20), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.Column("opened_by", sa.String(length=100), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("close_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["plan_id"], ["care_plans.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("home_beds", schema=None) as batch_op:
        batch_op.create_index("ix_home_beds_state", ["state"], unique=False)
        batch_op.create_index("uq_home_beds_one_per_elder", ["elder_id"], unique=True,
                              postgresql_where=sa.text(OPEN_BED), sqlite_where=sa.text(OPEN_BED))

    op.create_table(
        "home_bed_devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("bed_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("installed_on", sa.Date(), nullable=False),
        sa.Column("installed_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bed_id"], ["home_beds.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bed_id", "kind", "serial", name="uq_home_bed_devices_serial"),
    )
    with op.batch_alter_table("home_bed_devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_home_bed_devices_bed_id"), ["bed_id"], unique=False)

    op.create_table(
        "home_adaptations",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("elder_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("completed_at", sa.String(length=40), nullable=False),
        sa.Column("recorded_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    with op.batch_alter_table("home_adaptations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_home_adaptations_elder_id"), ["elder_id"], unique=False)


def downgrade() -> None:
    op.drop_table("home_adaptations")
    op.drop_table("home_bed_devices")
    op.drop_table("home_beds")
    op.drop_table("care_plan_items")
    op.drop_table("care_plans")
