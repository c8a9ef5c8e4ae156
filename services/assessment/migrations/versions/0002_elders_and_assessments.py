"""Elder records, emergency contacts, assessments, assessor assignments, the personal-data access log.

ID-card numbers and phones are stored as Fernet ciphertext (`*_cipher`); equality lookups use
HMAC blind indexes (`*_index`). A partial unique index keeps at most one open (draft or signed)
assessment per elder; both PostgreSQL and SQLite support it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa

import shared.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OPEN_STATES = sa.text("state IN ('draft', 'signed')")


def upgrade() -> None:
    op.create_table(
        "elders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("gender", sa.String(length=10), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("id_card_cipher", sa.Text(), nullable=False),
        sa.Column("id_card_index", sa.String(length=64), nullable=False),
        sa.Column("phone_cipher", sa.Text(), nullable=True),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("street", sa.String(length=50), nullable=True),
        sa.Column("living_situation", sa.String(length=20), nullable=False),
        sa.Column("economic_status", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_date", sa.Date(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("last_finalised_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("special_hardship", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_card_index", name="uq_elders_id_card_index"),
    )
    with op.batch_alter_table("elders", schema=None) as batch_op:
        batch_op.create_index("ix_elders_district_street", ["district_code", "street"], unique=False)
        batch_op.create_index(batch_op.f("ix_elders_last_finalised_at"), ["last_finalised_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_elders_phone_index"), ["phone_index"], unique=False)

    op.create_table(
        "emergency_contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("elder_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("phone_cipher", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("emergency_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_emergency_contacts_elder_id"), ["elder_id"], unique=False)

    op.create_table(
        "assessments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("elder_id", sa.Uuid(), nullable=False),
        sa.Column("previous_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("instrument", sa.String(length=40), nullable=False),
        sa.Column("instrument_version", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("coma", sa.Boolean(), nullable=False),
        sa.Column("diagnoses", sa.JSON(), nullable=False),
        sa.Column("risk_events_30d", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_assessor_id", sa.String(length=100), nullable=True),
        sa.Column("first_signed_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("second_assessor_id", sa.String(length=100), nullable=True),
        sa.Column("finalised_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("initial_grade", sa.Integer(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"]),
        sa.ForeignKeyConstraint(["previous_id"], ["assessments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index("ix_assessments_elder_state", ["elder_id", "state"], unique=False)
        batch_op.create_index("uq_assessments_one_open_per_elder", ["elder_id"], unique=True,
                              postgresql_where=OPEN_STATES, sqlite_where=OPEN_STATES)

    op.create_table(
        "assessor_assignments",
        sa.Column("elder_id", sa.Uuid(), nullable=False),
        sa.Column("assessor_id", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("assigned_by", sa.String(length=100), nullable=False),
        sa.Column("assigned_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("elder_id", "assessor_id"),
    )

    op.create_table(
        "pii_access_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("elder_id", sa.Uuid(), nullable=False),
        sa.Column("fields", sa.String(length=200), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pii_access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pii_access_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_pii_access_log_elder_id"), ["elder_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pii_access_log_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("pii_access_log")
    op.drop_table("assessor_assignments")
    op.drop_table("assessments")
    op.drop_table("emergency_contacts")
    op.drop_table("elders")
