"""Delivering an order: geo-checked check-in, check-out (→ order.completed), the elder's review,
cancellation (→ order.cancelled + voiding the hold), disputes, and settlement when vouchers
reports the capture (voucher.redeemed).

Every command runs in its caller's transaction (the route's) under the order's row lock: the
life-cycle rule (`rules.lifecycle.transition`, 409 naming the current state) is checked first, then
the command's own rule; any refusal rolls back, so a refused command changes nothing. What must
happen only once the transaction has committed (voiding a hold, waking the dispatcher) is returned
to the caller as an `Outcome`.
"""
from __future__ import annotations

import logging
import math
import uuid
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import (
    ELDER_ROLES,
    PROVIDER_ROLES,
    actor_of,
    load_order,
    lock_order,
    parse_uuid,
    provider_of,
    require_assigned,
)
from services.orders.door import confirm_check_out
from services.orders.events import OrderCancelled, OrderCheckedIn, OrderCompleted, OrderReturned, OrderReviewed, publish
from services.orders.models import DoorRecordRow, OfferRow, OrderRow, ReviewRow, ServiceRecordRow
from services.orders.placement import order_details
from services.orders.rules.checkin import check_in_decision
from services.orders.rules.dispatch import OfferOutcome
from services.orders.rules.lifecycle import Actor, Command, OrderState, transition
from shared.auth import Principal, require_role
from shared.city import haversine_m
from shared.errors import Conflict, DomainError, Forbidden

log = logging.getLogger("youfu.orders.delivery")


class Outcome(NamedTuple):
    """A command's answer, and what its caller does once the transaction has committed."""

    answer: dict
    hold_to_void: uuid.UUID | None = None  # give the voucher hold back (best effort)
    redispatch: bool = False  # the order is due for dispatch again: wake the dispatcher


async def check_in(s: AsyncSession, *, principal: Principal, order_id: uuid.UUID, lat: float, lon: float,
                   reason: str | None, limit_m: int, now: datetime) -> dict:
    order = await load_order(s, principal, order_id, lock=True)
    require_assigned(principal, order, "签到")
    new_state = transition(order.state, Command.CHECK_IN)
    decision = check_in_decision(haversine_m(order.lat, order.lon, lat, lon), limit_m, reason)
    decision.raise_if_refused()  # 422 with the distance; nothing written
    s.add(ServiceRecordRow(order_id=order.id, caregiver_id=order.caregiver_id, checked_in_by=principal.user_id,
                           checkin_at=now, checkin_lat=lat, checkin_lon=lon,
                           checkin_distance_m=decision.distance_m, checkin_limit_m=decision.limit_m,
                           checkin_outcome=decision.outcome.value, exception_reason=decision.reason))
    order.state, order.updated_at = new_state.value, now
    publish(s, OrderCheckedIn(order_id=order.id, elder_id=order.elder_id, provider_id=order.provider_id,
                              district_code=order.district_code, caregiver_id=order.caregiver_id, at=now.isoformat(),
                              distance_m=decision.distance_m))
    await s.flush()
    return await order_details(s, order=order, principal=principal) | {"message": decision.message}


class CheckOut(NamedTuple):
    """Check-out's answer, or the refusal its caller raises once the transaction has committed
    (a wrong confirmation code is counted even though the check-out is refused)."""

    answer: dict | None
    refusal: DomainError | None = None


async def check_out(s: AsyncSession, *, principal: Principal, order_id: uuid.UUID, record: str,
                    duration_min: int | None, now: datetime, confirmation_code: str | None = None,
                    expected_code: str | None = None, unconfirmed_reason: str | None = None) -> CheckOut:
    """Check-out, confirmed at the door (issue 24): the elder's code (`expected_code`, derived by
    the caller only when a code was typed), the family's remote confirmation, or the caregiver's
    reason why neither was possible."""
    order = await load_order(s, principal, order_id, lock=True)
    require_assigned(principal, order, "签退")
    new_state = transition(order.state, Command.CHECK_OUT)
    _, _, refusal = await confirm_check_out(s, order=order, expected_code=expected_code,
                                            typed_code=confirmation_code, reason=unconfirmed_reason, now=now)
    if refusal is not None:  # only the counted try is written
        await s.flush()
        return CheckOut(None, refusal)
    service_record = await s.get(ServiceRecordRow, order.id)
    if duration_min is None:  # the time between check-in and check-out, in whole minutes
        duration_min = max(1, math.ceil((now - service_record.checkin_at).total_seconds() / 60))
    service_record.checkout_at, service_record.checked_out_by = now, principal.user_id
    service_record.record, service_record.duration_min = record, duration_min
    order.state, order.completed_at, order.updated_at = new_state.value, now, now
    _publish_completed(s, order, service_record, await s.get(DoorRecordRow, order.id))
    if order.hold_id is None:
        # self-paid (or a programme visit): no voucher share to capture, so nothing will come
        # back from vouchers; the order is settled with its completion
        order.captured_fen = 0
        order.state = transition(order.state, Command.SETTLE).value
        order.settled_at = now
    await s.flush()
    return CheckOut(await order_details(s, order=order, principal=principal))


def _publish_completed(s: AsyncSession, order: OrderRow, record: ServiceRecordRow,
                       door: DoorRecordRow | None = None) -> None:
    """What vouchers needs to capture the hold and the audit needs to check the visit; how the
    service was confirmed at the door (issue 24) when it was."""
    publish(s, OrderCompleted(
        order_id=order.id, elder_id=order.elder_id, provider_id=order.provider_id, district_code=order.district_code,
        hold_id=order.hold_id, service_code=order.service_code, amount_fen=order.price_fen,
        voucher_fen=order.voucher_fen, duration_min=record.duration_min or 0,
        checkin_distance_m=float(record.checkin_distance_m), caregiver_id=order.caregiver_id,
        completed_at=(order.completed_at or record.checkout_at).isoformat(),
        confirmation=door.confirmation if door is not None else None,
        unconfirmed_reason=door.unconfirmed_reason if door is not None else None))
    order.completed_event_sent = True


async def review(s: AsyncSession, *, principal: Principal, order_id: uuid.UUID, rating: int, comment: str,
                 now: datetime) -> dict:
    if principal.role not in ELDER_ROLES:
        raise Forbidden("只有老人本人或绑定的家属可以评价")
    order = await load_order(s, principal, order_id, lock=True)
    transition(order.state, Command.CONFIRM)
    if await s.get(ReviewRow, order.id) is not None:
        raise Conflict("该订单已经评价过了，每个订单只能评价一次", reason="already_reviewed",
                       current_state=order.state)
    s.add(ReviewRow(order_id=order.id, elder_id=order.elder_id, provider_id=order.provider_id,
                    caregiver_id=order.caregiver_id, rating=rating, comment=comment,
                    reviewed_by=principal.user_id, created_at=now))
    publish(s, OrderReviewed(order_id=order.id, elder_id=order.elder_id, provider_id=order.provider_id,
                             district_code=order.district_code, caregiver_id=order.caregiver_id, rating=rating,
                             comment=comment or None))
    await s.flush()
    return await order_details(s, order=order, principal=principal)


async def cancel(s: AsyncSession, *, principal: Principal, order_id: uuid.UUID, reason: str,
                 now: datetime) -> Outcome:
    """The elder's side or the platform cancel before check-in (→ cancelled, hold voided); the
    provider that accepted gives the order back instead (→ placed, dispatched again)."""
    if principal.role == "caregiver":
        raise Forbidden("护理员不能取消订单，请联系所在机构")
    actor = actor_of(principal)
    order = await load_order(s, principal, order_id, lock=True)
    if actor is Actor.PROVIDER and order.provider_id != provider_of(principal):
        raise Forbidden("只有接单的服务商可以退回订单")
    new_state, hold_to_void = await cancel_order(s, order=order, actor=actor, reason=reason, now=now)
    answer = await order_details(s, order=order, principal=principal)
    return Outcome(answer, hold_to_void, redispatch=new_state is OrderState.PLACED)


async def cancel_order(s: AsyncSession, *, order: OrderRow, actor: Actor, reason: str,
                       now: datetime) -> tuple[OrderState, uuid.UUID | None]:
    """Cancel (or, by its provider, give back) an order the caller holds locked and may act on;
    also the platform's own cancellations (`elders.record_elder`). Returns the new state and the
    hold to void once the transaction has committed."""
    hold_to_void = None
    new_state = transition(order.state, Command.CANCEL, actor=actor)
    offers = (await s.execute(sa.select(OfferRow).where(OfferRow.order_id == order.id))).scalars().all()
    if new_state is OrderState.PLACED:  # given back: this provider is not asked again
        publish(s, OrderReturned(order_id=order.id, elder_id=order.elder_id, provider_id=order.provider_id,
                                 district_code=order.district_code, caregiver_id=order.caregiver_id,
                                 reason=reason))
        for offer in offers:
            if offer.outcome == OfferOutcome.ACCEPTED.value:
                offer.outcome, offer.answered_at, offer.reason = OfferOutcome.WITHDRAWN.value, now, reason
        order.provider_id = order.provider_name = order.caregiver_id = order.caregiver_name = None
        order.accepted_at, order.next_dispatch_at = None, now
    else:
        for offer in offers:
            if offer.outcome == OfferOutcome.PENDING.value:
                offer.outcome, offer.answered_at = OfferOutcome.REVOKED.value, now
        order.cancel_reason, order.cancelled_by, order.cancelled_at = reason, actor.value, now
        order.next_dispatch_at = None
        publish(s, OrderCancelled(order_id=order.id, elder_id=order.elder_id, provider_id=order.provider_id,
                                  district_code=order.district_code, hold_id=order.hold_id, reason=reason,
                                  cancelled_by=actor.value))
        hold_to_void = order.hold_id
    order.state, order.updated_at = new_state.value, now
    await s.flush()
    return new_state, hold_to_void


async def dispute(s: AsyncSession, *, principal: Principal, order_id: uuid.UUID, reason: str,
                  now: datetime) -> dict:
    if principal.role in PROVIDER_ROLES:
        raise Forbidden("服务商不能发起争议；如有问题请联系民政部门")
    order = await load_order(s, principal, order_id, lock=True)
    new_state = transition(order.state, Command.DISPUTE)
    order.dispute_state_before, order.dispute_reason = order.state, reason
    order.state, order.updated_at = new_state.value, now
    await s.flush()
    return await order_details(s, order=order, principal=principal)


async def resolve(s: AsyncSession, *, principal: Principal, order_id: uuid.UUID, resolution: str, note: str,
                  now: datetime) -> Outcome:
    """An officer ends a dispute: upheld → the service stands (completed, and settled if vouchers
    already captured); voided → cancelled and the hold released."""
    require_role(principal, "officer", "city_officer")
    hold_to_void = None
    order = await load_order(s, principal, order_id, lock=True)
    new_state = transition(order.state, Command.RESOLVE, resolution=resolution)
    order.resolution = resolution
    if new_state is OrderState.COMPLETED:
        record = await s.get(ServiceRecordRow, order.id)
        if not order.completed_event_sent and record is not None:
            order.completed_at = order.completed_at or now
            if record.duration_min is None:
                record.duration_min = max(1, math.ceil((now - record.checkin_at).total_seconds() / 60))
            _publish_completed(s, order, record, await s.get(DoorRecordRow, order.id))
        if order.captured_fen is not None:  # vouchers captured while the dispute ran
            new_state = transition(new_state, Command.SETTLE)
            order.settled_at = now
    else:
        reason = f"争议处理：服务作废。{note}".strip()
        order.cancel_reason, order.cancelled_by, order.cancelled_at = reason, Actor.PLATFORM.value, now
        publish(s, OrderCancelled(order_id=order.id, elder_id=order.elder_id, provider_id=order.provider_id,
                                  district_code=order.district_code, hold_id=order.hold_id, reason=reason,
                                  cancelled_by=Actor.PLATFORM.value))
        hold_to_void = order.hold_id
    order.state, order.updated_at = new_state.value, now
    await s.flush()
    answer = await order_details(s, order=order, principal=principal)
    return Outcome(answer, hold_to_void)


async def settle_from_redemption(session: AsyncSession, *, data: dict, now: datetime) -> None:
    """`youfu.voucher.redeemed.v1`: the voucher share was captured, so the order is settled.
    Idempotent by itself too: a settled order stays as it is."""
    order_id = parse_uuid(data.get("order_id"))
    order = await lock_order(session, order_id) if order_id else None
    if order is None:
        log.info("voucher.redeemed for an order this service does not know: %s", data.get("order_id"))
        return
    if order.state == OrderState.SETTLED.value:
        return
    order.captured_fen = int(data.get("amount_fen") or 0)
    if order.state == OrderState.COMPLETED.value:
        order.state = transition(order.state, Command.SETTLE).value
        order.settled_at, order.updated_at = now, now
    else:  # e.g. disputed: settled when the dispute is upheld
        log.warning("order %s redeemed while %s; settlement waits", order.id, order.state)
