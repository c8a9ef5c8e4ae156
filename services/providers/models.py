"""Tables of the providers database (the kernel's outbox, inbox, dead letters and idempotency
keys are created by its migrations too).

Money is integer fen. Ratings are kept as a sum and a count so an average never drifts, and each
review is kept once per order (`reviews`), so a redelivered or repeated review cannot count twice.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import make_base

Base = make_base("providers")

Fen = sa.BigInteger
SeqId = sa.BigInteger().with_variant(sa.Integer, "sqlite")  # SQLite autoincrements INTEGER keys only


class ServiceItemRow(Base):
    """The city's standard service catalogue (标准服务目录) with guide prices; admin edits it."""

    __tablename__ = "service_items"
    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    category: Mapped[str] = mapped_column(sa.String(40))
    unit: Mapped[str] = mapped_column(sa.String(20))
    guide_price_fen: Mapped[int] = mapped_column(Fen)
    min_duration_min: Mapped[int]
    voucher_kinds: Mapped[list] = mapped_column(sa.JSON)
    dispatch_mode: Mapped[str] = mapped_column(sa.String(20))
    grab_size: Mapped[int]
    updated_by: Mapped[str] = mapped_column(sa.String(100))
    updated_at: Mapped[datetime]


class ProviderRow(Base):
    __tablename__ = "providers"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    legal_name: Mapped[str] = mapped_column(sa.String(200))
    credit_code: Mapped[str] = mapped_column(sa.String(18), unique=True)
    district_code: Mapped[str] = mapped_column(sa.String(12))
    street: Mapped[str | None] = mapped_column(sa.String(100))
    address: Mapped[str] = mapped_column(sa.String(300))
    lat: Mapped[float]
    lon: Mapped[float]
    # An organisation's service line and its named contact, not a private person's number.
    contact_name: Mapped[str] = mapped_column(sa.String(50))
    contact_phone: Mapped[str] = mapped_column(sa.String(30))
    star_rating: Mapped[int | None]  # 1–5 stars where the bureau has rated it
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    status_reason: Mapped[str | None] = mapped_column(sa.String(500))
    status_changed_at: Mapped[datetime]
    area_radius_m: Mapped[float | None]  # service area around the address …
    area_streets: Mapped[list] = mapped_column(sa.JSON, default=list)  # … and/or these streets
    rating_sum: Mapped[int] = mapped_column(default=0)
    rating_count: Mapped[int] = mapped_column(default=0)
    applied_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # updated_at: every write sets it (status, area, ratings …); replicas catch up by it
    __table_args__ = (sa.Index("ix_providers_district_status", "district_code", "status"),
                      sa.Index("ix_providers_updated_at", "updated_at"))


class ProviderHistoryRow(Base):
    """Every life-cycle change and star rating change: who, when, why."""

    __tablename__ = "provider_history"
    seq: Mapped[int] = mapped_column(SeqId, primary_key=True, autoincrement=True)  # the order things happened
    provider_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(20))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(sa.String(500))
    actor_id: Mapped[str] = mapped_column(sa.String(100))
    actor_role: Mapped[str] = mapped_column(sa.String(20))
    at: Mapped[datetime]


class DocumentRow(Base):
    """A qualification document as uploaded. A renewal is a new row; the latest expiry counts."""

    __tablename__ = "provider_documents"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("providers.id"))
    kind: Mapped[str] = mapped_column(sa.String(30))
    number: Mapped[str] = mapped_column(sa.String(100))
    issued_on: Mapped[date | None] = mapped_column(sa.Date)
    expires_on: Mapped[date] = mapped_column(sa.Date)
    file_url: Mapped[str | None] = mapped_column(sa.String(500))
    uploaded_by: Mapped[str] = mapped_column(sa.String(100))
    uploaded_at: Mapped[datetime]
    __table_args__ = (sa.Index("ix_provider_documents_provider_kind", "provider_id", "kind", "expires_on"),
                      sa.Index("ix_provider_documents_uploaded_at", "uploaded_at"))


class CatalogueItemRow(Base):
    """One service a provider offers, by standard code; one row per code and provider."""

    __tablename__ = "catalogue_items"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("providers.id"))
    service_code: Mapped[str] = mapped_column(sa.ForeignKey("service_items.code"))
    name: Mapped[str] = mapped_column(sa.String(100))
    unit: Mapped[str] = mapped_column(sa.String(20))
    price_fen: Mapped[int] = mapped_column(Fen)
    min_duration_min: Mapped[int]
    voucher_kinds: Mapped[list] = mapped_column(sa.JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (
        sa.UniqueConstraint("provider_id", "service_code", name="uq_catalogue_items_provider_code"),
        sa.CheckConstraint("price_fen >= 0", name="ck_catalogue_items_price"),
        sa.Index("ix_catalogue_items_updated_at", "updated_at"),
    )


class CaregiverRow(Base):
    __tablename__ = "caregivers"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("providers.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    gender: Mapped[str] = mapped_column(sa.String(10))
    skills: Mapped[list] = mapped_column(sa.JSON)  # standard service codes
    certificate_level: Mapped[str | None] = mapped_column(sa.String(20))
    base_lat: Mapped[float]
    base_lon: Mapped[float]
    service_radius_m: Mapped[float]
    working_hours: Mapped[list] = mapped_column(sa.JSON, default=list)
    daily_limit: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(20))
    rating_sum: Mapped[int] = mapped_column(default=0)
    rating_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (sa.Index("ix_caregivers_updated_at", "updated_at"),)


class OrderLoadRow(Base):
    """One order a caregiver took, on the (Asia/Shanghai) day it was accepted: today's load is
    the count of today's rows not cancelled. Keyed by order so a re-dispatch moves it."""

    __tablename__ = "order_loads"
    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    caregiver_id: Mapped[uuid.UUID]
    provider_id: Mapped[uuid.UUID | None]
    day: Mapped[date] = mapped_column(sa.Date)
    cancelled: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]  # when this service wrote it, not when the order was accepted
    __table_args__ = (sa.Index("ix_order_loads_caregiver_day", "caregiver_id", "day"),
                      sa.Index("ix_order_loads_updated_at", "updated_at"))


class ReviewRow(Base):
    """The rating an order got; at most one per order (a later review of it replaces this one)."""

    __tablename__ = "reviews"
    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(index=True)
    caregiver_id: Mapped[uuid.UUID | None]
    elder_id: Mapped[uuid.UUID | None]
    rating: Mapped[int]
    comment: Mapped[str | None] = mapped_column(sa.String(1000))
    reviewed_at: Mapped[datetime]


class BedRow(Base):
    """A bed an institution (or a home-care centre, for respite) declared. `application_id` holds a
    reservation, `stay_id` the stay living in it (orders' ids; both cleared when it is freed).
    Status changes only through `rules/beds.py`'s transitions."""

    __tablename__ = "beds"
    bed_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("providers.id"))
    room: Mapped[str] = mapped_column(sa.String(30))
    bed_no: Mapped[str] = mapped_column(sa.String(20))
    care_level: Mapped[str] = mapped_column(sa.String(20))
    room_gender: Mapped[str | None] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(20))
    application_id: Mapped[uuid.UUID | None]
    stay_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (
        sa.UniqueConstraint("provider_id", "room", "bed_no", name="uq_beds_provider_room_bed"),
        sa.Index("ix_beds_provider_status", "provider_id", "status"),
        sa.Index("ix_beds_care_level_status", "care_level", "status"),  # the place search
    )


class BedRateRow(Base):
    """A provider's daily rate for a care level (fen a day), never above the guide rate of the bed
    policy version in force when it was set (`policy_version`)."""

    __tablename__ = "bed_rates"
    provider_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("providers.id"), primary_key=True)
    care_level: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    daily_rate_fen: Mapped[int] = mapped_column(Fen)
    policy_version: Mapped[str] = mapped_column(sa.String(20))
    updated_by: Mapped[str] = mapped_column(sa.String(100))
    updated_at: Mapped[datetime]
    __table_args__ = (sa.CheckConstraint("daily_rate_fen >= 0", name="ck_bed_rates_rate"),)
