"""Tables of the gateway database: accounts, family links with consent, refresh tokens, admin log,
and each account's notices (the inbox of live notices, last 50 kept)."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import make_base

Base = make_base("gateway")


class User(Base):
    __tablename__ = "users"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    phone_index: Mapped[str] = mapped_column(sa.String(64), unique=True)  # HMAC of the phone, for sign-in
    phone_enc: Mapped[str] = mapped_column(sa.Text)
    display_name: Mapped[str] = mapped_column(sa.String(50))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(20))
    district_code: Mapped[str | None] = mapped_column(sa.String(6))
    provider_id: Mapped[str | None] = mapped_column(sa.String(36))
    caregiver_id: Mapped[str | None] = mapped_column(sa.String(36))
    elder_id: Mapped[str | None] = mapped_column(sa.String(36))  # an elder's own record
    status: Mapped[str] = mapped_column(sa.String(20), default="active")  # active | disabled | deleted
    # tokens issued before this instant are refused (sign-out everywhere, role change, deletion)
    tokens_valid_after: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FamilyLink(Base):
    __tablename__ = "family_links"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    elder_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    relation: Mapped[str] = mapped_column(sa.String(20))
    consent_by: Mapped[str] = mapped_column(sa.String(50))  # who gave consent (the elder, a guardian)
    consent_method: Mapped[str] = mapped_column(sa.String(20))  # in_person | phone_call | signed_form | app
    consent_at: Mapped[datetime]
    recorded_by: Mapped[uuid.UUID]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[uuid.UUID | None]


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)  # one sign-in and all its rotations
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AdminAction(Base):
    __tablename__ = "admin_actions"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    actor_id: Mapped[str] = mapped_column(sa.String(36))
    action: Mapped[str] = mapped_column(sa.String(50))
    target: Mapped[str] = mapped_column(sa.String(100))
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    at: Mapped[datetime] = mapped_column(index=True)


class Notice(Base):
    """One notice for one account: one row per (event, account), written by whichever gateway replica
    gets there first (INSERT … ON CONFLICT DO NOTHING). `seq` orders arrivals (the SSE event id a
    reconnecting page resumes from); `at` is the event's time (the inbox's order, and what pruning keeps)."""

    __tablename__ = "notices"
    __table_args__ = (sa.UniqueConstraint("event_id", "user_id", name="uq_notices_event_user"),
                      sa.Index("ix_notices_user_at", "user_id", "at"),
                      sa.Index("ix_notices_user_seq", "user_id", "seq"))
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                                     autoincrement=True)
    event_id: Mapped[str] = mapped_column(sa.String(64))
    user_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.String(300), default="")
    link: Mapped[str | None] = mapped_column(sa.String(200))
    at: Mapped[datetime]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class HotlineCall(Base):
    """One call to the 12349 desk (gateway/hotline.py). The caller's number is kept encrypted, as
    its blind index (search by number) and masked (lists); never in plain."""
    __tablename__ = "hotline_calls"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    caller_phone_enc: Mapped[str] = mapped_column(sa.Text)
    caller_phone_index: Mapped[str] = mapped_column(sa.String(64), index=True)
    caller_phone_masked: Mapped[str] = mapped_column(sa.String(20))
    caller_kind: Mapped[str] = mapped_column(sa.String(10))  # elder | family | unknown
    elder_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    elder_name: Mapped[str | None] = mapped_column(sa.String(50))
    district_code: Mapped[str | None] = mapped_column(sa.String(6))  # indexed with started_at below
    operator_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    operator_name: Mapped[str] = mapped_column(sa.String(50))
    reason: Mapped[str] = mapped_column(sa.String(20))
    outcome: Mapped[str] = mapped_column(sa.String(20))
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime]
    duration_s: Mapped[int]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    order_id: Mapped[str | None] = mapped_column(sa.String(36))  # an order placed during the call
    created_at: Mapped[datetime]

    __table_args__ = (sa.Index("ix_hotline_calls_district_started", "district_code", "started_at"),)
