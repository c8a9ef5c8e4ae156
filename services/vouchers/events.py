"""Events the vouchers service publishes on `youfu.vouchers` (key: elder id), publishing them in
the caller's transaction, and reading the fields of the events it consumes."""
from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import event_type, make_event
from shared.fast_sql import FastTx
from shared.outbox import add_event

TOPIC = "youfu.vouchers"
SOURCE = "/youfu/vouchers"


def publish(session: AsyncSession, data: BaseModel) -> None:
    """Queue an event in the caller's transaction (sent only if it commits)."""
    add_event(session, make_event(data, source=SOURCE))


async def publish_fast(tx: FastTx, data: BaseModel) -> None:
    """`publish` for the paths on `shared.fast_sql` (an order's hold)."""
    await tx.add_event(make_event(data, source=SOURCE))


def parse_uuid(value: object) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def parse_instant(text: object) -> datetime | None:
    """An ISO instant from an event; None when missing, malformed or without a zone (a naive
    time could be either UTC or Shanghai, eight hours apart)."""
    if not text:
        return None
    try:
        instant = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return instant if instant.tzinfo else None


@event_type("youfu.voucher.issued.v1", topic=TOPIC, key="elder_id")
class VoucherIssued(BaseModel):
    """A monthly voucher was issued to an elder's wallet."""

    elder_id: UUID
    voucher_id: UUID
    kind: str
    month: str
    face_value_fen: int
    district_code: str | None = None


@event_type("youfu.voucher.redeemed.v1", topic=TOPIC, key="elder_id")
class VoucherRedeemed(BaseModel):
    """A hold was captured for a completed order; the order can be settled."""

    elder_id: UUID
    order_id: UUID
    hold_id: UUID
    amount_fen: int
    provider_id: UUID | None = None


@event_type("youfu.voucher.released.v1", topic=TOPIC, key="elder_id")
class VoucherReleased(BaseModel):
    """A hold was voided (order cancelled or unmatched)."""

    elder_id: UUID
    order_id: UUID
    hold_id: UUID
    amount_fen: int


@event_type("youfu.voucher.expired.v1", topic=TOPIC, key="elder_id")
class VoucherExpired(BaseModel):
    """A month ended with an unspent balance, which lapsed."""

    elder_id: UUID
    voucher_id: UUID
    month: str
    amount_fen: int


@event_type("youfu.voucher.held.v1", topic=TOPIC, key="elder_id")
class VoucherHeld(BaseModel):
    """Part of a wallet was reserved for an order (0 fen when the wallet was already used up)."""

    elder_id: UUID
    order_id: UUID
    hold_id: UUID
    kind: str
    month: str
    amount_fen: int


@event_type("youfu.voucher.reversed.v1", topic=TOPIC, key="elder_id")
class VoucherReversed(BaseModel):
    """An auditor reversed a redemption: the provider's payable is reduced, the money goes back
    to the elder's wallet while its month lasts, else to the city budget."""

    elder_id: UUID
    order_id: UUID
    hold_id: UUID
    amount_fen: int
    provider_id: UUID
    reason: str


@event_type("youfu.stay_claim.drafted.v1", topic=TOPIC, key="elder_id")
class StayClaimDrafted(BaseModel):
    """A monthly bed-day claim was drafted (or re-drafted with new figures, a higher `revision`);
    the voucher part is held in the elder's institutional wallet of the month."""

    claim_id: UUID
    elder_id: UUID
    stay_id: UUID
    provider_id: UUID
    month: str
    revision: int
    billed_days: int
    amount_fen: int
    voucher_fen: int
    elder_fen: int


@event_type("youfu.stay_claim.approved.v1", topic=TOPIC, key="elder_id")
class StayClaimApproved(BaseModel):
    """The district officer approved a claim the institution had confirmed."""

    claim_id: UUID
    elder_id: UUID
    provider_id: UUID
    month: str
    approved_by: str


@event_type("youfu.stay_claim.settled.v1", topic=TOPIC, key="elder_id")
class StayClaimSettled(BaseModel):
    """An approved claim's voucher part was captured to the institution's payable account."""

    claim_id: UUID
    elder_id: UUID
    provider_id: UUID
    month: str
    amount_fen: int
    voucher_fen: int
    elder_fen: int


@event_type("youfu.complaint.filed.v1", topic=TOPIC, key="complaint_id")
class ComplaintFiled(BaseModel):
    """A complaint became a ticket of the district's bureau, due by `deadline`."""

    complaint_id: UUID
    district_code: str
    provider_id: UUID | None = None
    order_id: UUID | None = None
    deadline: datetime


@event_type("youfu.complaint.answered.v1", topic=TOPIC, key="complaint_id")
class ComplaintAnswered(BaseModel):
    """The bureau closed a complaint with an answer the complainant can read."""

    complaint_id: UUID
    status: str  # resolved | rejected
    complainant_user_id: str | None = None
    elder_id: UUID | None = None


@event_type("youfu.finding.opened.v1", topic=TOPIC, key="order_id")
class FindingOpened(BaseModel):
    """A return visit heard that the service did not happen: the order is held out of the
    provider's settlement."""

    finding_id: UUID
    order_id: UUID
    provider_id: UUID
    kind: str


@event_type("youfu.finding.resolved.v1", topic=TOPIC, key="order_id")
class FindingResolved(BaseModel):
    """The finding was resolved (`outcome`: cleared, the line is paid; upheld, the capture reversed)."""

    finding_id: UUID
    order_id: UUID
    provider_id: UUID
    kind: str
    outcome: str | None = None
