"""Tables of the assessment database (the kernel's outbox, inbox, dead letters and idempotency
keys are created by its migrations too).

Personal data: ID-card numbers and phones are stored only as Fernet ciphertext (`*_cipher`);
equality lookups go through keyed HMAC blind indexes (`*_index`), so the plain value is in no
column and no index. The elder row also carries the facts other services read from events
(latest grade, special-hardship flag) so the events and the lists never recompute them from
the assessment history.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import make_base

Base = make_base("assessment")


class ElderRow(Base):
    """The basic-information form of GB/T 42195 Annex A, one row per person."""

    __tablename__ = "elders"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    gender: Mapped[str] = mapped_column(sa.String(10))  # idcard.Gender values
    birth_date: Mapped[date] = mapped_column(sa.Date)
    id_card_cipher: Mapped[str] = mapped_column(sa.Text)
    id_card_index: Mapped[str] = mapped_column(sa.String(64))  # unique: the duplicate check (409)
    phone_cipher: Mapped[str | None] = mapped_column(sa.Text)
    phone_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)  # hotline lookup by phone
    address: Mapped[str] = mapped_column(sa.String(200))
    lat: Mapped[float | None]  # WGS-84
    lon: Mapped[float | None]
    district_code: Mapped[str] = mapped_column(sa.String(6))  # indexed with street below
    street: Mapped[str | None] = mapped_column(sa.String(50))
    living_situation: Mapped[str] = mapped_column(sa.String(20))  # hardship.LivingSituation values
    economic_status: Mapped[str] = mapped_column(sa.String(20))  # hardship.EconomicStatus values
    status: Mapped[str] = mapped_column(sa.String(20), default="active")  # active, deceased, moved_away
    status_date: Mapped[date | None] = mapped_column(sa.Date)
    grade: Mapped[int | None]  # of the latest finalised assessment
    last_finalised_at: Mapped[datetime | None] = mapped_column(index=True)
    special_hardship: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (
        sa.UniqueConstraint("id_card_index", name="uq_elders_id_card_index"),
        sa.Index("ix_elders_district_street", "district_code", "street"),
    )


class EmergencyContactRow(Base):
    __tablename__ = "emergency_contacts"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("elders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]  # the order the family gave: first is called first
    name: Mapped[str] = mapped_column(sa.String(50))
    relation: Mapped[str] = mapped_column(sa.String(20))
    phone_cipher: Mapped[str] = mapped_column(sa.Text)


class AssessmentRow(Base):
    """draft → signed (first assessor) → finalised (a second, different assessor). A finalised
    row is never updated again: a reassessment is a new row pointing to the previous one."""

    __tablename__ = "assessments"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("elders.id"))  # indexed with state below
    previous_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("assessments.id"))
    reason: Mapped[str] = mapped_column(sa.String(20))  # initial, periodic, condition_changed
    instrument: Mapped[str] = mapped_column(sa.String(40))
    instrument_version: Mapped[str] = mapped_column(sa.String(20))
    state: Mapped[str] = mapped_column(sa.String(20), default="draft")
    items: Mapped[dict] = mapped_column(sa.JSON)  # item code → score; partial while a draft
    coma: Mapped[bool] = mapped_column(default=False)
    diagnoses: Mapped[list] = mapped_column(sa.JSON)  # ICD-10 codes
    risk_events_30d: Mapped[list] = mapped_column(sa.JSON)  # one entry per event
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    first_assessor_id: Mapped[str | None] = mapped_column(sa.String(100))
    first_signed_at: Mapped[datetime | None]
    second_assessor_id: Mapped[str | None] = mapped_column(sa.String(100))
    finalised_at: Mapped[datetime | None]
    # the scoring result, written once at finalisation
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    total: Mapped[int | None]
    initial_grade: Mapped[int | None]
    grade: Mapped[int | None]
    valid_until: Mapped[date | None] = mapped_column(sa.Date)
    __table_args__ = (
        sa.Index("ix_assessments_elder_state", "elder_id", "state"),
        # at most one open assessment per elder, even if two requests race past the service's check
        sa.Index("uq_assessments_one_open_per_elder", "elder_id", unique=True,
                 postgresql_where=sa.text("state IN ('draft', 'signed')"),
                 sqlite_where=sa.text("state IN ('draft', 'signed')")),
    )


class AssessorAssignmentRow(Base):
    """Which assessors are "the elder's assessors": assigned by an officer, or by taking part
    in one of the elder's assessments. It decides who sees the unmasked ID card."""

    __tablename__ = "assessor_assignments"
    elder_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("elders.id", ondelete="CASCADE"), primary_key=True)
    assessor_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(20))  # officer, assessment
    assigned_by: Mapped[str] = mapped_column(sa.String(100))
    assigned_at: Mapped[datetime]


class AccessLogRow(Base):
    """One row per answer that carried an unmasked ID card or phone: who, whose, which fields."""

    __tablename__ = "pii_access_log"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    elder_id: Mapped[uuid.UUID] = mapped_column(index=True)
    fields: Mapped[str] = mapped_column(sa.String(200))  # e.g. "id_card,phone,emergency_contacts.phone"
    route: Mapped[str] = mapped_column(sa.String(200))
    request_id: Mapped[str | None] = mapped_column(sa.String(64))


class StatusListRow(Base):
    """A list from another bureau (deaths, moves, assistance), uploaded for a dry run and then
    applied once (docs/decisions.md)."""

    __tablename__ = "status_lists"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # rules.status_lists.Kind values
    source: Mapped[str] = mapped_column(sa.String(200))  # the file's name, or the sending system's
    state: Mapped[str] = mapped_column(sa.String(20))  # dry_run, applied
    counts: Mapped[dict] = mapped_column(sa.JSON)  # outcome → rows, whole list
    money_at_stake_fen: Mapped[int | None] = mapped_column(sa.BigInteger)  # null: vouchers not reached, or assistance
    uploaded_by: Mapped[str] = mapped_column(sa.String(100))
    uploaded_at: Mapped[datetime] = mapped_column(index=True)
    applied_by: Mapped[str | None] = mapped_column(sa.String(100))
    applied_at: Mapped[datetime | None]


class StatusListLineRow(Base):
    """One line of a list and its outcome. The ID number is kept masked and as its blind index
    (the matching key), never in plain."""

    __tablename__ = "status_list_rows"
    list_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("status_lists.id", ondelete="CASCADE"), primary_key=True)
    line: Mapped[int] = mapped_column(primary_key=True)
    id_card_masked: Mapped[str | None] = mapped_column(sa.String(40))
    id_card_index: Mapped[str | None] = mapped_column(sa.String(64))
    name: Mapped[str | None] = mapped_column(sa.String(50))  # as the list wrote it
    list_date: Mapped[date | None] = mapped_column(sa.Date)  # of death, of the move, or valid_from
    list_status: Mapped[str | None] = mapped_column(sa.String(20))  # assistance: economic_status code
    elder_id: Mapped[uuid.UUID | None]
    outcome: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str | None] = mapped_column(sa.String(300))
    change_field: Mapped[str | None] = mapped_column(sa.String(30))
    change_from: Mapped[str | None] = mapped_column(sa.String(30))
    change_to: Mapped[str | None] = mapped_column(sa.String(30))
    effective_date: Mapped[date | None] = mapped_column(sa.Date)
    amount_fen: Mapped[int | None] = mapped_column(sa.BigInteger)


class ElderStatusChangeRow(Base):
    """One applied change of an elder's record from a list: where it came from and who applied it."""

    __tablename__ = "elder_status_changes"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("elders.id", ondelete="CASCADE"))
    list_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("status_lists.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    file: Mapped[str] = mapped_column(sa.String(200))
    line: Mapped[int]
    field: Mapped[str] = mapped_column(sa.String(30))  # status, economic_status
    from_value: Mapped[str | None] = mapped_column(sa.String(30))
    to_value: Mapped[str] = mapped_column(sa.String(30))
    effective_date: Mapped[date] = mapped_column(sa.Date)
    applied_by: Mapped[str] = mapped_column(sa.String(100))
    applied_at: Mapped[datetime]
    __table_args__ = (sa.Index("ix_elder_status_changes_elder_applied", "elder_id", "applied_at"),)


class CarePlanRow(Base):
    """One version of an elder's care plan (docs/decisions.md, "Care plans"): draft →
    awaiting_consent → active (→ to_review after a new assessment) → replaced or ended. At most
    one plan per elder is live (active or to_review)."""

    __tablename__ = "care_plans"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("elders.id", ondelete="CASCADE"))
    version: Mapped[int]
    state: Mapped[str] = mapped_column(sa.String(20))  # rules.care_plans.STATE_NAMES
    kind: Mapped[str] = mapped_column(sa.String(20))  # care, home_bed
    assessment_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("assessments.id"))
    grade: Mapped[int]
    start_date: Mapped[date] = mapped_column(sa.Date)
    review_date: Mapped[date | None] = mapped_column(sa.Date)
    budget: Mapped[dict | None] = mapped_column(sa.JSON)  # vouchers' answer to POST /plan-budgets
    consent: Mapped[dict | None] = mapped_column(sa.JSON)  # by_account_id, by_role, method, at, accepts_self_pay_fen
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
    review_since: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(sa.String(200))
    replaced_by: Mapped[uuid.UUID | None]
    __table_args__ = (
        sa.UniqueConstraint("elder_id", "version", name="uq_care_plans_elder_version"),
        sa.Index("ix_care_plans_state", "state"),
        # one live plan per elder, even if two consents race past the service's check
        sa.Index("uq_care_plans_one_live_per_elder", "elder_id", unique=True,
                 postgresql_where=sa.text("state IN ('active', 'to_review')"),
                 sqlite_where=sa.text("state IN ('active', 'to_review')")),
    )


class CarePlanItemRow(Base):
    __tablename__ = "care_plan_items"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("care_plans.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    service_code: Mapped[str] = mapped_column(sa.String(40))
    provider_id: Mapped[uuid.UUID | None]
    frequency: Mapped[dict] = mapped_column(sa.JSON)  # rules.care_plans.Frequency
    duration_min: Mapped[int]
    voucher_kind: Mapped[str] = mapped_column(sa.String(20))  # community, mutual_aid, self_pay
    unit_price_fen: Mapped[int | None]  # the chosen provider's price, read from its catalogue


class HomeBedRow(Base):
    """A 家庭养老床位: preparing → open → closed. At most one bed per elder that is not closed."""

    __tablename__ = "home_beds"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("elders.id", ondelete="CASCADE"))
    plan_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("care_plans.id"))
    provider_id: Mapped[uuid.UUID]  # the anchoring institution or home-care centre
    state: Mapped[str] = mapped_column(sa.String(20))  # rules.home_beds.STATE_NAMES
    package: Mapped[dict] = mapped_column(sa.JSON)  # visits_per_week, remote_monitoring
    waiver_reason: Mapped[str | None] = mapped_column(sa.String(200))
    waived_by: Mapped[str | None] = mapped_column(sa.String(100))
    waived_at: Mapped[datetime | None]
    policy_version: Mapped[str | None] = mapped_column(sa.String(20))  # of the eligibility it opened under
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime]
    opened_on: Mapped[date | None] = mapped_column(sa.Date)
    opened_by: Mapped[str | None] = mapped_column(sa.String(100))
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    close_reason: Mapped[str | None] = mapped_column(sa.String(200))
    __table_args__ = (
        sa.Index("ix_home_beds_state", "state"),
        sa.Index("uq_home_beds_one_per_elder", "elder_id", unique=True,
                 postgresql_where=sa.text("state IN ('preparing', 'open')"),
                 sqlite_where=sa.text("state IN ('preparing', 'open')")),
    )


class HomeBedDeviceRow(Base):
    __tablename__ = "home_bed_devices"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    bed_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("home_beds.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # home_beds.json device_kinds
    serial: Mapped[str] = mapped_column(sa.String(64))
    installed_on: Mapped[date] = mapped_column(sa.Date)
    installed_by: Mapped[str] = mapped_column(sa.String(100))
    recorded_by: Mapped[str] = mapped_column(sa.String(100))
    recorded_at: Mapped[datetime]
    __table_args__ = (sa.UniqueConstraint("bed_id", "kind", "serial", name="uq_home_bed_devices_serial"),)


class HomeAdaptationRow(Base):
    """A completed 适老化改造 order of an elder, learnt from orders' `youfu.order.completed.v1`."""

    __tablename__ = "home_adaptations"
    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    elder_id: Mapped[uuid.UUID] = mapped_column(index=True)
    provider_id: Mapped[uuid.UUID | None]
    completed_at: Mapped[str] = mapped_column(sa.String(40))  # as the event said it
    recorded_at: Mapped[datetime]
