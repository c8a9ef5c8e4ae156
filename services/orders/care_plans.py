"""Care plans (照护计划) on the orders side: an active plan becomes recurring rules, a replaced or
ended plan stops them, and what was planned is counted against what was delivered.

Assessment owns the plans and publishes `youfu.careplan.activated/replaced/ended.v1`; this service
reads them as plain dicts (`consumers.py`), in the consumer's transaction:
- activated: one recurring rule per plan item (source plan id + item id, unique: a second
  delivery or a second copy of the event creates nothing), from the plan's start date with no end
  (the plan's review does not stop the service: a plan to review stays in force until replaced),
  paying with the item's voucher kind, the item's provider offered each order first. The spawner
  places the occurrences a day ahead like any rule's (`recurrence.py`).
- replaced / ended: the plan's rules end the day before the effective date, and their orders
  from that date on that nobody started are cancelled through the person's cancellation path, as
  an elder's departure does (`departure.py`): `order.cancelled` carries the hold to vouchers, and
  the holds are voided once the transaction has committed (the caller's `after_commit`).

Planned against delivered (`GET /plan-delivery`, `/plan-delivery/summary`) and the provider's
schedule from plans (`GET /plan-schedule`) read the plan rules within the caller's scope
(`access.plan_rule_scope`) and count with `rules.care_plans`.
"""
from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import (
    district_scope,
    parse_uuid,
    plan_rule_scope,
    require_plan_reader,
    schedule_provider,
)
from services.orders.departure import cancel_orders_ahead
from services.orders.dispatch.dispatcher import EXPIRED_UNMATCHED_REASON
from services.orders.models import ElderRow, OrderRow, RecurringOccurrenceRow, RecurringRuleRow
from services.orders.recurrence import domain_rule
from services.orders.rules.care_plans import (
    REPLACED_REASON,
    Delivery,
    SpawnedOrder,
    below_floor,
    check_schedule_range,
    ended_reason,
    item_delivery,
    month_of,
    plan_ending,
    schedule_of,
    summary_zh,
)
from services.orders.rules.departure import (
    OPEN_RULE_STATUSES,
    RuleFacts,
    rules_to_end,
)
from services.orders.rules.recurrence import RecurrenceRule, YearMonth, local_date
from services.orders.views import local_iso
from shared.auth import Principal
from shared.city import district_name
from shared.errors import invalid_field

log = logging.getLogger("youfu.orders.care_plans")

PAYMENTS = frozenset({"community", "mutual_aid", "self_pay"})  # a plan item's voucher kinds


# ---- from the plan's events (the consumer's transaction) --------------------------------------


async def create_plan_rules(session: AsyncSession, *, data: dict, now: datetime) -> int:
    """`careplan.activated`: one rule per item not yet made; returns how many were made. A plan
    item the contract does not allow raises (the event goes to the dead letters, nothing written)."""
    plan_id, elder_id = parse_uuid(data.get("plan_id")), parse_uuid(data.get("elder_id"))
    if plan_id is None or elder_id is None:
        log.warning("careplan.activated without plan or elder id: %s", data)
        return 0
    start = date.fromisoformat(str(data["start_date"])[:10]) if data.get("start_date") else local_date(now)
    made = set((await session.execute(sa.select(RecurringRuleRow.source_item_id).where(
        RecurringRuleRow.source_plan_id == plan_id))).scalars())
    created = 0
    for item in data.get("items") or []:
        item_id = str(item.get("item_id") or "")
        if not item_id or item_id in made:
            continue
        schedule = schedule_of(item.get("frequency"))
        rule = RecurrenceRule(frozenset(schedule.weekdays), schedule.local_time, start,
                              month_days=frozenset(schedule.month_days))
        payment = item.get("voucher_kind") or "self_pay"
        if payment not in PAYMENTS:
            raise invalid_field("voucher_kind", f"照护计划的付费方式「{payment}」无效")
        session.add(RecurringRuleRow(
            id=uuid.uuid4(), elder_id=elder_id, district_code=data.get("district_code"),
            service_code=str(item.get("service_code")), weekdays=sorted(rule.weekdays),
            month_days=sorted(rule.month_days), local_time=rule.local_time.strftime("%H:%M"),
            duration_min=int(item.get("duration_min") or 60), start_date=rule.start_date, end_date=None,
            skip_dates=[], extra_dates=[], address=data.get("address"), lat=data.get("lat"), lon=data.get("lon"),
            notes="", payment=payment, status="active", source_plan_id=plan_id, source_item_id=item_id,
            preferred_provider_id=parse_uuid(item.get("provider_id")), created_by=f"careplan:{plan_id}",
            created_by_role="service", created_at=now, updated_at=now))
        made.add(item_id)
        created += 1
    if created:
        await session.flush()  # the unique key answers here, inside the handler, if a copy raced us
        log.info("care plan %s (elder %s): %d recurring rules", plan_id, elder_id, created)
    return created


async def stop_plan_rules(session: AsyncSession, *, data: dict, reason: str, now: datetime) -> list[uuid.UUID]:
    """`careplan.replaced` / `careplan.ended`: end the plan's rules, cancel their orders from the
    effective date on that nobody started. Returns the holds to void once committed."""
    plan_id = parse_uuid(data.get("plan_id"))
    if plan_id is None:
        return []
    ending = plan_ending(reason, data.get("effective_date"), now=now)
    rules = list((await session.execute(sa.select(RecurringRuleRow).where(RecurringRuleRow.source_plan_id == plan_id)
                                        .order_by(RecurringRuleRow.id).with_for_update())).scalars())
    if not rules:
        return []
    by_id = {r.id: r for r in rules}
    open_rules = [RuleFacts(r.id, r.status, r.start_date, r.end_date) for r in rules if r.status in OPEN_RULE_STATUSES]
    for rule_end in rules_to_end(ending, open_rules):
        rule = by_id[rule_end.id]
        rule.status, rule.end_date, rule.end_reason, rule.updated_at = "ended", rule_end.end_date, rule_end.reason, now
    orders, holds = await cancel_orders_ahead(session, which=OrderRow.recurring_rule_id.in_(list(by_id)),
                                              ending=ending, now=now)
    log.info("care plan %s stopped (%s, from %s): %d rules ended, %d orders cancelled", plan_id, reason,
             ending.status_date, len(open_rules), len(orders))
    return holds


async def stop_replaced_plan(session: AsyncSession, *, data: dict, now: datetime) -> list[uuid.UUID]:
    return await stop_plan_rules(session, data=data, reason=REPLACED_REASON, now=now)


async def stop_ended_plan(session: AsyncSession, *, data: dict, now: datetime) -> list[uuid.UUID]:
    return await stop_plan_rules(session, data=data, reason=ended_reason(data.get("reason")), now=now)


# ---- planned against delivered ----------------------------------------------------------------


def _in_month(month: YearMonth) -> list[sa.ColumnElement[bool]]:
    """Plan rules that run on some day of `month`."""
    return [RecurringRuleRow.start_date <= month.last_day,
            sa.or_(RecurringRuleRow.end_date.is_(None), RecurringRuleRow.end_date >= month.first_day)]


async def _month_counts(session: AsyncSession, month: YearMonth, conditions: list, *,
                        now: datetime) -> list[tuple[RecurringRuleRow, Delivery]]:
    """Each plan rule meeting `conditions` (the caller's scope among them) with its count."""
    where = [*conditions, *_in_month(month)]
    rules = list((await session.execute(sa.select(RecurringRuleRow).where(*where)
                                        .order_by(RecurringRuleRow.created_at, RecurringRuleRow.id))).scalars())
    if not rules:
        return []
    start, end = month.bounds_utc()
    spawned: dict[uuid.UUID, list[SpawnedOrder]] = defaultdict(list)
    orders = (await session.execute(
        sa.select(OrderRow.recurring_rule_id, OrderRow.window_start, OrderRow.window_end, OrderRow.state,
                  OrderRow.cancel_reason)
        .join(RecurringRuleRow, OrderRow.recurring_rule_id == RecurringRuleRow.id)
        .where(*where, OrderRow.window_start >= start, OrderRow.window_start < end))).all()
    for rule_id, window_start, window_end, state, cancel_reason in orders:
        spawned[rule_id].append(SpawnedOrder(window_start, window_end, state,
                                             expired_unmatched=cancel_reason == EXPIRED_UNMATCHED_REASON))
    return [(r, item_delivery(domain_rule(r).occurrences(month.first_day, month.last_day), spawned[r.id], month,
                              now=now, until=r.end_date))
            for r in rules]


def _item_answer(rule: RecurringRuleRow, delivery: Delivery) -> dict:
    return {"plan_id": str(rule.source_plan_id), "item_id": rule.source_item_id, "rule_id": str(rule.id),
            "service_code": rule.service_code,
            "provider_id": str(rule.preferred_provider_id) if rule.preferred_provider_id else None,
            "status": rule.status} | delivery.as_dict()


async def plan_delivery(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID | None,
                        month: str | None, now: datetime) -> dict:
    """One elder's month by plan item. An elder outside the caller's scope, like an elder without
    a plan, has nothing planned."""
    require_plan_reader(principal)
    if elder_id is None:
        raise invalid_field("elder_id", "请指定老人")
    ym = month_of(month, now=now)
    counted = await _month_counts(session, ym, [plan_rule_scope(principal), RecurringRuleRow.elder_id == elder_id],
                                  now=now)
    total = Delivery()
    for _, delivery in counted:
        total.add(delivery)
    return {"elder_id": str(elder_id), "month": str(ym)} | total.as_dict() | {
        "summary_zh": summary_zh(total.planned, total.completed),
        "items": [_item_answer(rule, delivery) for rule, delivery in counted]}


async def delivery_summary(session: AsyncSession, *, principal: Principal, month: str | None,
                           district_code: str | None, now: datetime) -> dict:
    """The bureau's view of a month: by district and by provider, and the elders under the floor."""
    district = district_scope(principal, district_code)
    ym = month_of(month, now=now)
    conditions = [plan_rule_scope(principal)]
    if district:
        conditions.append(RecurringRuleRow.district_code == district)
    counted = await _month_counts(session, ym, conditions, now=now)
    total, by_district, by_provider, by_elder = Delivery(), defaultdict(Delivery), defaultdict(Delivery), {}
    elder_district: dict[uuid.UUID, str | None] = {}
    for rule, delivery in counted:
        total.add(delivery)
        by_district[rule.district_code].add(delivery)
        by_provider[rule.preferred_provider_id].add(delivery)
        by_elder.setdefault(rule.elder_id, Delivery()).add(delivery)
        elder_district[rule.elder_id] = rule.district_code
    below = below_floor(by_elder)
    names = {}
    if below:
        names = dict((await session.execute(sa.select(ElderRow.elder_id, ElderRow.name)
                                            .where(ElderRow.elder_id.in_(below)))).all())
    return {"month": str(ym), "district_code": district} | total.as_dict() | {
        "by_district": [{"district_code": code, "district_name": district_name(code) if code else None}
                        | d.as_dict() for code, d in sorted(by_district.items(), key=lambda kv: kv[0] or "")],
        "by_provider": [{"provider_id": str(p) if p else None} | d.as_dict()
                        for p, d in sorted(by_provider.items(), key=lambda kv: str(kv[0] or ""))],
        "elders_below": [{"elder_id": str(e), "name": names.get(e), "district_code": elder_district[e]}
                         | by_elder[e].as_dict() for e in below]}


async def plan_schedule(session: AsyncSession, *, principal: Principal, provider_id: uuid.UUID | None,
                        first: date | None, last: date | None, now: datetime) -> dict:
    """A provider's occurrences from care plans on local dates first … last (default: a week from
    today), with the order each became (once the spawner has placed it)."""
    provider = schedule_provider(principal, provider_id)
    first = first or local_date(now)
    last = last or first + timedelta(days=6)
    check_schedule_range(first, last)
    rules = list((await session.execute(sa.select(RecurringRuleRow).where(
        RecurringRuleRow.preferred_provider_id == provider, RecurringRuleRow.source_plan_id.is_not(None),
        RecurringRuleRow.start_date <= last,
        sa.or_(RecurringRuleRow.status == "active",
               sa.and_(RecurringRuleRow.status == "ended", RecurringRuleRow.end_date.is_not(None))),
        sa.or_(RecurringRuleRow.end_date.is_(None), RecurringRuleRow.end_date >= first)))).scalars())
    occurrences = []
    if rules:
        elders = {e.elder_id: e for e in (await session.execute(sa.select(ElderRow).where(
            ElderRow.elder_id.in_({r.elder_id for r in rules})))).scalars()}
        placed = {(rule_id, _utc(at)): (order_id, state) for rule_id, at, order_id, state in (await session.execute(
            sa.select(RecurringOccurrenceRow.rule_id, RecurringOccurrenceRow.occurs_at, OrderRow.id, OrderRow.state)
            .join(OrderRow, OrderRow.id == RecurringOccurrenceRow.order_id)
            .where(RecurringOccurrenceRow.rule_id.in_([r.id for r in rules])))).all()}
        for rule in rules:
            elder = elders.get(rule.elder_id)
            for at in domain_rule(rule).occurrences(first, last):
                order_id, state = placed.get((rule.id, _utc(at)), (None, None))
                occurrences.append({
                    "at": local_iso(at), "duration_min": rule.duration_min, "plan_id": str(rule.source_plan_id),
                    "item_id": rule.source_item_id, "rule_id": str(rule.id), "elder_id": str(rule.elder_id),
                    "elder_name": elder.name if elder else None, "district_code": rule.district_code,
                    "address": rule.address or (elder.address if elder else None), "service_code": rule.service_code,
                    "order_id": str(order_id) if order_id else None, "order_state": state})
    occurrences.sort(key=lambda o: (o["at"], o["rule_id"]))
    return {"provider_id": str(provider), "from": first.isoformat(), "to": last.isoformat(),
            "count": len(occurrences), "occurrences": occurrences}


def _utc(instant: datetime) -> datetime:
    """SQLite gives naive UTC back; PostgreSQL aware."""
    return (instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
