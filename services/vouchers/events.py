"""Events the vouchers service publishes on `youfu.vouchers` (key: elder id)."""
from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

from shared.events import event_type

TOPIC = "youfu.vouchers"


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
