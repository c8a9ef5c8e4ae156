"""What providers do with offers: see the open ones, accept (one winner), decline.

Split from `dispatch.dispatcher` (the dispatcher's side). Each use case runs in its caller's
transaction (the route's). Exactly one winner in grab mode: `accept` takes
the order's row lock (SELECT … FOR UPDATE) before it reads the offers, so concurrent accepts
queue and every one after the first sees the order accepted. Two guards hold even if that lock
were lost: the state change is a conditional UPDATE (… WHERE state = 'offered', exactly one row
or 409), and a partial unique index allows one accepted offer per order. (The grab test fails
when both the lock and the conditional UPDATE are removed, so it does exercise the race.)
"""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import PROVIDER_ROLES, district_scope, parse_uuid, require_provider
from services.orders.dispatch.dispatcher import domain_offer, write_dispatch
from services.orders.events import OrderAccepted, publish_fast
from services.orders.models import OrderRow
from services.orders.queries import ACCEPT_ORDER, DECLINE_OFFER, LOCK_ORDER, OFFERS_OF, OPEN_OFFERS, SET_OFFER_OUTCOME, snapshot
from services.orders.rules.dispatch import OfferOutcome, accept_offer, decline_offer
from services.orders.rules.lifecycle import Command, OrderState, transition
from services.orders.runtime import OrdersRuntime
from services.orders.views import offer_answer, offered_order_view, order_answer
from shared.auth import Principal, require_role
from shared.errors import Conflict, Forbidden, NotFound, invalid_field
from shared.fast_sql import FastTx


async def _offered_order(tx: FastTx, order_id: uuid.UUID, provider: uuid.UUID):
    """The order (row-locked) and its offers, as snapshots; 404 unless this provider was offered it."""
    order = snapshot(await tx.row(LOCK_ORDER, order_id=order_id))
    # after the lock, in a statement of its own: joined to the locking read, offers would be read
    # as they were before a wait for the lock (the grab test's losers then saw no winner)
    rows = [snapshot(r) for r in await tx.rows(OFFERS_OF, order_id=order_id)] if order is not None else []
    if order is None or not any(r.provider_id == provider for r in rows):
        raise NotFound("没有找到派给您机构的该订单", order_id=str(order_id))
    return order, rows


async def accept(tx: FastTx, *, rt: OrdersRuntime, principal: Principal, order_id: uuid.UUID,
                 caregiver_id: uuid.UUID | None, now: datetime) -> dict:
    provider = require_provider(principal)
    if principal.role == "caregiver":
        own = parse_uuid(principal.caregiver_id)
        if own is None or (caregiver_id is not None and caregiver_id != own):
            raise Forbidden("护理员只能为自己接单")
        caregiver_id = own
    order, rows = await _offered_order(tx, order_id, provider)
    winner = next((r for r in rows if r.outcome == OfferOutcome.ACCEPTED.value), None)
    if order.state != OrderState.OFFERED.value:
        if winner is not None and winner.provider_id != provider:
            raise Conflict("该订单已被其他服务商接单。", reason="taken", current_state=order.state)
        if winner is not None:
            raise Conflict("您已接过该订单，无需重复接单。", reason="already_accepted", current_state=order.state)
        transition(order.state, Command.ACCEPT)  # raises, naming the current state
    taken = accept_offer([domain_offer(r) for r in rows], str(provider), now=now)
    new_state = transition(order.state, Command.ACCEPT)
    mine = next(r for r in rows if r.provider_id == provider and r.offered_at == taken.offered_at)
    chosen = caregiver_id or mine.caregiver_id
    if chosen is None:
        raise invalid_field("caregiver_id", "请指定上门的护理员")
    if chosen != mine.caregiver_id:
        # not the caregiver matching chose: providers must vouch for this one (rare path, so
        # the HTTP call under the order's row lock is acceptable)
        await check_caregiver(rt, caregiver_id=chosen, provider=provider, service_code=order.service_code,
                              service_name=order.service_name)
    caregiver_name = mine.caregiver_name if chosen == mine.caregiver_id else None
    if await tx.run(ACCEPT_ORDER, order_id=order.id, state=new_state.value, now=now, provider_id=provider,
                    provider_name=mine.provider_name, caregiver_id=chosen, caregiver_name=caregiver_name) != 1:
        raise Conflict("该订单已被其他服务商接单。", reason="taken")
    try:  # the one-accepted-offer index: the database's own last word
        await tx.run(SET_OFFER_OUTCOME, offer_id=mine.id, outcome=OfferOutcome.ACCEPTED.value, answered_at=now)
    except IntegrityError:
        raise Conflict("该订单已被其他服务商接单。", reason="taken") from None
    for other in rows:
        if other is not mine and other.outcome == OfferOutcome.PENDING.value:
            outcome = OfferOutcome.REVOKED if now < other.deadline else OfferOutcome.EXPIRED
            tx.later(SET_OFFER_OUTCOME, offer_id=other.id, outcome=outcome.value, answered_at=now)
    order.state, order.updated_at, order.accepted_at = new_state.value, now, now
    order.provider_id, order.provider_name = provider, mine.provider_name
    order.caregiver_id, order.caregiver_name, order.next_dispatch_at = chosen, caregiver_name, None
    await publish_fast(tx, OrderAccepted(order_id=order.id, elder_id=order.elder_id, provider_id=provider,
                                         district_code=order.district_code, caregiver_id=chosen,
                                         window_start=order.window_start.isoformat()))
    return order_answer(order)


async def check_caregiver(rt: OrdersRuntime, *, caregiver_id: uuid.UUID, provider: uuid.UUID, service_code: str,
                          service_name: str) -> None:
    """A caregiver named at accept time: of this provider, on duty, able to do this service, and
    under today's limit (providers counts today's load from order events)."""
    try:
        cg = await rt.client("providers").get(f"/caregivers/{caregiver_id}")
    except NotFound:
        raise invalid_field("caregiver_id", "没有这位护理员") from None
    if str(cg.get("provider_id")) != str(provider):
        raise invalid_field("caregiver_id", "该护理员不属于您的机构")
    if cg.get("status") != "active":
        raise invalid_field("caregiver_id", f"该护理员当前{cg.get('status_name') or '不在岗'}，不能派他上门")
    if service_code not in (cg.get("skills") or []):
        raise invalid_field("caregiver_id", f"该护理员没有登记「{service_name}」技能")
    if int(cg.get("today_load") or 0) >= int(cg.get("daily_limit") or 0):
        raise Conflict(f"该护理员今天已接 {cg.get('today_load')} 单，达到每日上限 {cg.get('daily_limit')} 单；"
                       "请换一位护理员", reason="caregiver_full", caregiver_id=str(caregiver_id))


async def decline(tx: FastTx, *, principal: Principal, order_id: uuid.UUID, reason: str, now: datetime) -> dict:
    """The offer declined and the order due at once; the caller wakes the dispatcher once this
    has committed."""
    provider = require_provider(principal)
    order, rows = await _offered_order(tx, order_id, provider)
    if order.state != OrderState.OFFERED.value:
        transition(order.state, Command.DECLINE)
    declined = decline_offer([domain_offer(r) for r in rows], str(provider), now=now)
    mine = next(r for r in rows if r.provider_id == provider and r.offered_at == declined.offered_at)
    mine.outcome, mine.answered_at, mine.reason = OfferOutcome.DECLINED.value, now, reason
    await tx.run(DECLINE_OFFER, offer_id=mine.id, answered_at=now, reason=reason)
    # the dispatcher picks the next one at once
    await write_dispatch(tx, order, state=transition(order.state, Command.DECLINE).value, next_dispatch_at=now,
                         updated_at=now)
    return offer_answer(mine, now)


async def open_offers(reads: FastTx, *, principal: Principal, provider_id: uuid.UUID | None,
                      now: datetime) -> list[dict]:
    """A provider's open offers with their deadlines and time left (admins may name a provider)."""
    if principal.role in PROVIDER_ROLES:
        provider = require_provider(principal)
    else:
        require_role(principal, "admin")
        provider = provider_id
        if provider is None:
            raise invalid_field("provider_id", "请指定服务商")
    rows = await reads.rows(OPEN_OFFERS, provider_id=provider, now=now)
    return [offer_answer(snapshot(row), now) | {"order": offered_order_view(row)} for row in rows]


async def list_unmatched(session: AsyncSession, *, principal: Principal, district_code: str | None) -> list[dict]:
    district = district_scope(principal, district_code)
    query = sa.select(OrderRow).where(OrderRow.state == OrderState.UNMATCHED.value)
    if district:
        query = query.where(OrderRow.district_code == district)
    rows = (await session.execute(query.order_by(OrderRow.window_start))).scalars()
    return [order_answer(o) | {"unmatched_rounds": o.unmatched_count} for o in rows]
