"""Recurring orders: rules (e.g. 助餐 on weekdays at 11:00 for 8 weeks), pausing and ending them,
and the spawner that places each occurrence a day ahead.

The spawner (a periodic task, `main.py`; it is the caller that opens its transactions) places
occurrences through the same placing use case as people do (same checks,
same voucher hold), acting as the platform on the rule's behalf (access was checked when the rule
was made). Each occurrence is placed once: the idempotency key is rule id + local date, and the
occurrence row (unique per rule and instant) is written in the order's own transaction; the pure
`rules.recurrence.RecurrenceRule.due_for_spawn` also skips instants already spawned. A restart, a second replica or a manual run
therefore never doubles an order.
"""
from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import CITY_ROLES, ELDER_ROLES, require_elder_access, require_elder_district, rule_scope
from services.orders.elders import ensure_elder
from services.orders.models import RecurringOccurrenceRow, RecurringRuleRow
from services.orders.placement import PlaceRequest, place
from services.orders.queries import INSERT_OCCURRENCE
from services.orders.rules.placement import check_payment
from services.orders.rules.recurrence import RecurrenceRule, local_date
from services.orders.runtime import OrdersRuntime, runtime_of
from services.orders.schemas import RecurringRuleIn
from services.orders.views import rule_answer
from services.orders.visits import plan_current_month
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import Conflict, DomainError, Forbidden, NotFound, ServiceUnavailable

log = logging.getLogger("youfu.orders.recurrence")


def domain_rule(row: RecurringRuleRow) -> RecurrenceRule:
    hour, minute = (int(x) for x in row.local_time.split(":"))
    return RecurrenceRule(frozenset(row.weekdays), time(hour, minute), row.start_date, row.end_date,
                          skip_dates=frozenset(date.fromisoformat(d) for d in row.skip_dates or []),
                          extra_dates=frozenset(date.fromisoformat(d) for d in row.extra_dates or []),
                          month_days=frozenset(row.month_days or []))


async def create_rule(s: AsyncSession, *, rt: OrdersRuntime, principal: Principal, rule_in: RecurringRuleIn,
                      now: datetime) -> dict:
    """A new rule, in the caller's transaction. The elder copy and the service item are read from
    the other services before the first statement, so no connection is held meanwhile."""
    body = rule_in
    require_elder_access(principal, body.elder_id)
    elder = await ensure_elder(rt, body.elder_id)
    require_elder_district(principal, elder)
    if body.weeks is not None:
        rule = RecurrenceRule.for_weeks(body.weekdays, body.time, body.start_date, body.weeks,
                                        skip_dates=frozenset(body.skip_dates), extra_dates=frozenset(body.extra_dates))
    else:
        rule = RecurrenceRule(frozenset(body.weekdays), body.time, body.start_date, body.end_date,
                              skip_dates=frozenset(body.skip_dates), extra_dates=frozenset(body.extra_dates))
    check_payment(body.payment, await rt.service_item(body.service_code))
    row = RecurringRuleRow(
        id=uuid.uuid4(), elder_id=body.elder_id, district_code=elder.district_code, service_code=body.service_code,
        weekdays=sorted(rule.weekdays), local_time=rule.local_time.strftime("%H:%M"), duration_min=body.duration_min,
        start_date=rule.start_date, end_date=rule.end_date, skip_dates=sorted(d.isoformat() for d in rule.skip_dates),
        extra_dates=sorted(d.isoformat() for d in rule.extra_dates), address=body.address, lat=body.lat, lon=body.lon,
        notes=body.notes, payment=body.payment, status="active", created_by=principal.user_id,
        created_by_role=principal.role, created_at=now, updated_at=now)
    s.add(row)
    return rule_answer(row)


async def list_rules(s: AsyncSession, *, principal: Principal, elder_id: uuid.UUID | None) -> list[dict]:
    query = sa.select(RecurringRuleRow).where(rule_scope(principal)).order_by(RecurringRuleRow.created_at)
    if elder_id:
        query = query.where(RecurringRuleRow.elder_id == elder_id)
    return [rule_answer(r) for r in (await s.execute(query)).scalars()]


async def set_status(s: AsyncSession, *, principal: Principal, rule_id: uuid.UUID, status: str,
                     now: datetime) -> dict:
    """active ⇄ paused; ended is final (DELETE). Orders already placed stay: cancel them one by one."""
    row = (await s.execute(sa.select(RecurringRuleRow).where(RecurringRuleRow.id == rule_id, rule_scope(principal))
                           .with_for_update())).scalar_one_or_none()
    if row is None:
        raise NotFound("没有找到该周期服务", rule_id=str(rule_id))
    if principal.role not in ELDER_ROLES and principal.role not in CITY_ROLES and principal.role != "officer":
        raise Forbidden("当前账号不能修改周期服务")
    if row.status == "ended":
        if status == "ended":
            return rule_answer(row)
        raise Conflict("该周期服务已结束，不能再修改；如需继续请新建", current_state="ended")
    if status == "ended":
        today = local_date(now)
        if today >= row.start_date:  # nothing after today; a rule not yet started just ends
            row.end_date = domain_rule(row).ended_after(today).end_date
    row.status, row.updated_at = status, now
    return rule_answer(row)


# ---- the spawner (a caller: it opens its own transactions) ------------------------------------


async def spawn_due(rt: OrdersRuntime, *, now: datetime) -> int:
    """Place every occurrence due within the lead time; returns how many orders were placed."""
    lead = timedelta(hours=rt.settings.spawn_lead_h)
    horizon = local_date(now + lead)
    async with rt.db.sessions() as s:
        rules = list((await s.execute(sa.select(RecurringRuleRow).where(
            RecurringRuleRow.status == "active", RecurringRuleRow.start_date <= horizon,
            sa.or_(RecurringRuleRow.end_date.is_(None), RecurringRuleRow.end_date >= local_date(now))))).scalars())
        done: dict[uuid.UUID, list[datetime]] = {}
        if rules:
            spawned = sa.select(RecurringOccurrenceRow.rule_id, RecurringOccurrenceRow.occurs_at).where(
                RecurringOccurrenceRow.rule_id.in_([r.id for r in rules]))
            for rule_id, at in (await s.execute(spawned)).all():
                done.setdefault(rule_id, []).append(at)
    placed = 0
    for row in rules:
        for instant in domain_rule(row).due_for_spawn(now=now, lead=lead, spawned=done.get(row.id, [])):
            placed += await _spawn_one(rt, row, instant)
    return placed


async def _spawn_one(rt: OrdersRuntime, row: RecurringRuleRow, instant: datetime) -> int:
    principal = Principal(user_id=f"recurring:{row.id}", role="service")
    request = PlaceRequest(elder_id=row.elder_id, service_code=row.service_code, window_start=instant,
                           window_end=instant + timedelta(minutes=row.duration_min), payment=row.payment,
                           address=row.address, lat=row.lat, lon=row.lon, notes=row.notes, kind="recurring",
                           recurring_rule_id=row.id, preferred_provider_id=row.preferred_provider_id)

    async def record(tx, order) -> None:
        await tx.run(INSERT_OCCURRENCE, id=uuid.uuid4(), rule_id=row.id, occurs_at=instant, order_id=order.id,
                     status="placed", error=None, created_at=rt.now())

    key = f"{row.id}:{local_date(instant).isoformat()}"
    try:
        _, _, replayed = await place(rt, principal=principal, request=request, idempotency_key=key,
                                     scope="recurring", now=rt.now(), also=record)
        return 0 if replayed else 1
    except ServiceUnavailable as exc:  # try again on the next pass, while the occurrence is still ahead
        log.warning("recurring rule %s, %s: %s", row.id, instant, exc.detail)
        return 0
    except IntegrityError:  # another spawner placed it at the same moment
        return 0
    except DomainError as exc:  # no voucher this month, item withdrawn …: record it, do not retry forever
        log.warning("recurring rule %s could not place %s: %s", row.id, instant, exc.detail)
        try:
            async with rt.db.transaction() as s:
                s.add(RecurringOccurrenceRow(id=uuid.uuid4(), rule_id=row.id, occurs_at=instant, order_id=None,
                                             status="failed", error=exc.detail[:500], created_at=rt.now()))
        except IntegrityError:
            pass
        return 0


async def spawn_pass(ctx: ServiceContext) -> None:
    """The spawner's periodic pass (`main.py`): occurrences due, then this month's visit plan."""
    rt = runtime_of(ctx)
    await spawn_due(rt, now=rt.now())
    if rt.settings.auto_plan_visits:
        await plan_current_month(rt)
