"""Tables every service database has: outbox, inbox, dead letters, idempotency keys.

They live on the shared `Base` metadata so each service's migrations create them in its own
database; no service ever reads another service's copy.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import KernelBase


class OutboxRow(KernelBase):
    __tablename__ = "outbox"
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    topic: Mapped[str] = mapped_column(sa.String(100))
    key: Mapped[str] = mapped_column(sa.String(100))
    type: Mapped[str] = mapped_column(sa.String(120))
    payload: Mapped[str] = mapped_column(sa.Text)  # the CloudEvents JSON, exactly as sent
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    # the unsent rows alone, by seq (D74): the relay's claim is a plain index scan that skips the
    # entries of rows already sent once it has seen them, with or without autovacuum
    __table_args__ = (sa.Index("ix_outbox_unsent", "seq", postgresql_where=sa.text("sent_at IS NULL"),
                               sqlite_where=sa.text("sent_at IS NULL")),)


class InboxRow(KernelBase):
    __tablename__ = "inbox"
    consumer: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    received_at: Mapped[datetime]


class DeadLetterRow(KernelBase):
    __tablename__ = "dead_letters"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    consumer: Mapped[str] = mapped_column(sa.String(100))
    event_id: Mapped[str] = mapped_column(sa.String(64))
    topic: Mapped[str] = mapped_column(sa.String(100))
    type: Mapped[str] = mapped_column(sa.String(120))
    payload: Mapped[str] = mapped_column(sa.Text)
    error: Mapped[str] = mapped_column(sa.Text)
    attempts: Mapped[int]
    created_at: Mapped[datetime]
    replayed_at: Mapped[datetime | None]
    __table_args__ = (sa.UniqueConstraint("consumer", "event_id"),)


class IdempotencyRow(KernelBase):
    __tablename__ = "idempotency_keys"
    scope: Mapped[str] = mapped_column(sa.String(200), primary_key=True)  # caller + method + route
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int]
    response: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(index=True)
