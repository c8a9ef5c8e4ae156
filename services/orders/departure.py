"""An elder's departure: when assessment reports an elder deceased or moved away
(`youfu.elder.updated.v1`), their recurring rules end and their orders from the real date on are
cancelled, in the consumer's transaction (with the inbox row and the elder copy's new status).

Each order goes through the same cancellation as a person's (`delivery.cancel_order`, acting as
the platform): pending offers are revoked, `order.cancelled` is published (vouchers releases the
hold from it) and the hold is also voided at once after the commit. No monthly visit is planned
for the elder any more: planning and placing read only active elders (`visits.py`,
`placement.py`). Which orders and rules are affected is decided in `rules.departure`.

A death also ends the elder's open institutional stay on the date of death (reason 死亡,
`stay.ended`), and the bed is released at providers once the transaction has committed
(`end_stay_at_death`).

Idempotent by itself: an ended rule and a cancelled order are no longer candidates, so a second
event (a redelivery, or a later update of an elder already departed) changes nothing.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import parse_uuid
from services.orders.delivery import cancel_order
from services.orders.models import OrderRow, RecurringRuleRow
from services.orders.rules.departure import (
    CANCELLABLE_STATES,
    OPEN_RULE_STATUSES,
    OrderFacts,
    RuleFacts,
    departure_of,
    orders_to_cancel,
    rules_to_end,
)
from services.orders.rules.lifecycle import Actor
from services.orders.rules.stays import DEATH_REASON, StayCommand, death_day, next_status
from services.orders.stays import end_stay, open_stay_of, stay_dates

log = logging.getLogger("youfu.orders.departure")


async def cancel_orders_ahead(session: AsyncSession, *, which, ending, now: datetime) -> tuple[list, list]:
    """Cancel the open orders `which` selects from `ending.cutoff` on (a departure or a plan's end),
    through the cancellation every order takes. Returns (the orders looked at, the holds to void
    once the transaction has committed)."""
    # locked in id order, as every other writer of orders takes one row at a time
    orders = list((await session.execute(sa.select(OrderRow).where(
        which, OrderRow.window_start >= ending.cutoff,
        OrderRow.state.in_(CANCELLABLE_STATES)).order_by(OrderRow.id).with_for_update())).scalars())
    by_id = {o.id: o for o in orders}
    holds = []
    for order_id in orders_to_cancel(ending, [OrderFacts(o.id, o.state, o.window_start) for o in orders]):
        _, hold = await cancel_order(session, order=by_id[order_id], actor=Actor.PLATFORM,
                                     reason=ending.order_reason, now=now)
        if hold is not None:
            holds.append(hold)
    return orders, holds


async def end_services(session: AsyncSession, *, data: dict, now: datetime) -> list[uuid.UUID]:
    """`elder.updated` with status deceased or moved_away, in the consumer's transaction: end the
    elder's rules, cancel the orders from the real date on. Returns the holds to void once the
    transaction has committed (best effort; `order.cancelled` releases them anyway)."""
    elder_id = parse_uuid(data.get("elder_id"))
    departure = departure_of(data.get("status"), data.get("status_date"), now=now)
    if elder_id is None or departure is None:
        return []
    rules = list((await session.execute(sa.select(RecurringRuleRow).where(
        RecurringRuleRow.elder_id == elder_id, RecurringRuleRow.status.in_(OPEN_RULE_STATUSES))
        .order_by(RecurringRuleRow.id).with_for_update())).scalars())
    by_id = {r.id: r for r in rules}
    for ending in rules_to_end(departure, [RuleFacts(r.id, r.status, r.start_date, r.end_date) for r in rules]):
        rule = by_id[ending.id]
        rule.status, rule.end_date, rule.end_reason, rule.updated_at = "ended", ending.end_date, ending.reason, now
    orders, holds = await cancel_orders_ahead(session, which=OrderRow.elder_id == elder_id, ending=departure,
                                              now=now)
    if rules or orders:
        log.info("elder %s %s on %s: %d recurring rules ended, %d orders cancelled", elder_id,
                 data.get("status"), departure.status_date, len(rules), len(orders))
    return holds


async def end_stay_at_death(session: AsyncSession, *, data: dict, now: datetime) -> list[tuple[uuid.UUID, dict]]:
    """`elder.updated` with status deceased, in the consumer's transaction: the open stay ends on
    the date of death (`rules.stays.death_day`), reason 死亡. Returns the bed to release once the
    transaction has committed. A stay already ended is not open: a redelivery changes nothing."""
    elder_id = parse_uuid(data.get("elder_id"))
    departure = departure_of(data.get("status"), data.get("status_date"), now=now)
    if elder_id is None or departure is None or data.get("status") != "deceased":
        return []
    stay = await open_stay_of(session, elder_id, lock=True)
    if stay is None:
        return []
    status = next_status(stay.status, StayCommand.DIE)
    on = death_day(stay_dates(stay), departure.status_date)
    end_stay(session, stay, status=status, on=on, reason=DEATH_REASON, by="platform", now=now)
    log.info("elder %s deceased on %s: stay %s ended", elder_id, departure.status_date, stay.id)
    return [(stay.bed_id, {"stay_id": stay.id})]
