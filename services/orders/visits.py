"""Monthly home visits (探访关爱) to special-hardship elders, and their coverage.

Who is due: every active elder whom this service's elder copy (from assessment's events) marks
special hardship. Planning a month writes one `planned_visits` row per due elder (the register
coverage is measured against, unique per month and elder) and places one visit order each,
dispatched like any other order. A visit is paid by the civil-affairs programme, not by the
elder: the order is `service_code="visit"`, `payment="self_pay"` at price 0 fen (kind "visit"),
so no voucher hold is made and the elder is shown "老人无需付费".

Planning is idempotent: an elder already planned for the month is skipped, and a planned visit
whose order could not be placed (e.g. providers unreachable) is placed again on the next run.
Officers plan their district; city officers and admins the city or one district. The spawner
also plans the current month city-wide on its own (setting `auto_plan_visits`), so elders who
become special hardship mid-month get their visit without anyone asking.

Planning is a caller of its own transactions (one to register the month's due elders, then one per
visit order placed): a visit order that cannot be placed must not undo the register.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import district_scope
from services.orders.models import ElderRow, OrderRow, PlannedVisitRow, VisitPlanRow
from services.orders.placement import PlaceRequest, place
from services.orders.queries import LINK_VISIT
from services.orders.rules.recurrence import YearMonth, coverage_by_group, local_date, plan_monthly_visits
from services.orders.runtime import OrdersRuntime
from services.orders.views import coverage_answer, local_iso
from shared.auth import Principal, require_role, service_principal
from shared.errors import DomainError, FieldError, Invalid, ServiceUnavailable

log = logging.getLogger("youfu.orders.visits")
VISIT_CODE = "visit"
VISITED_STATES = ("completed", "settled")


def parse_month(text: str | None, now: datetime) -> YearMonth:
    if not text:
        return YearMonth.of(now)
    try:
        year, month = (int(x) for x in text.split("-"))
        return YearMonth(year, month)
    except ValueError:
        raise Invalid("月份格式不正确，应为 YYYY-MM", errors=[FieldError("month", "应为 YYYY-MM，例如 2026-03")]) from None


async def plan_visits(rt: OrdersRuntime, *, principal: Principal, month: str | None, district_code: str | None,
                      now: datetime) -> dict:
    require_role(principal, "officer", "city_officer", "service")
    district = district_scope(principal, district_code)
    ym = parse_month(month, now)
    if ym < YearMonth.of(now):
        raise Invalid("不能为已经过去的月份制定探访计划", errors=[FieldError("month", "请选择本月或以后的月份")])
    for attempt in range(3):
        try:
            async with rt.db.transaction() as s:
                plan_id, planned, already = await register_due_elders(s, principal=principal, ym=ym,
                                                                      district=district, now=now)
            break
        except IntegrityError:  # another planner (the spawner, a second officer) registered some meanwhile
            if attempt == 2:
                raise
    placed, failed = await place_planned_orders(rt, month=str(ym), district=district,
                                                retry_refused=not principal.is_service)
    return {"plan_id": plan_id, "month": str(ym), "district_code": district, "planned": planned,
            "already_planned": already, "orders_placed": placed, "failed": failed}


async def register_due_elders(s: AsyncSession, *, principal: Principal, ym: YearMonth, district: str | None,
                              now: datetime) -> tuple[str | None, int, int]:
    """In the caller's transaction: a planned-visit row for every due elder not planned yet this
    month."""
    due = [ElderRow.special_hardship.is_(True), ElderRow.status == "active"]
    if district:
        due.append(ElderRow.district_code == district)
    planned_already = sa.select(PlannedVisitRow.id).where(PlannedVisitRow.month == str(ym),
                                                          PlannedVisitRow.elder_id == ElderRow.elder_id).exists()
    # only the elders not planned yet are read: the spawner runs this every minute
    elders = {e.elder_id: e for e in (await s.execute(sa.select(ElderRow).where(*due, ~planned_already))).scalars()}
    already = (await s.execute(sa.select(sa.func.count()).select_from(ElderRow)
                               .where(*due, planned_already))).scalar()
    if not elders:
        return None, 0, already
    today, this_month = local_date(now), ym == YearMonth.of(now)
    ids = sorted(elders, key=str)
    planned = plan_monthly_visits(ids, ym, not_before=today + timedelta(days=1) if this_month else None,
                                  visit_time=time(9, 30))
    if not planned:  # the month's last day: no day left after today, so visit later today
        planned = plan_monthly_visits(ids, ym, not_before=today)
    plan = VisitPlanRow(id=uuid.uuid4(), month=str(ym), district_code=district, planned_count=len(planned),
                        created_by=principal.user_id, created_at=now)
    s.add(plan)
    await s.flush()
    for visit in planned:
        elder = elders[visit.elder_id]
        s.add(PlannedVisitRow(id=uuid.uuid4(), month=str(ym), elder_id=visit.elder_id,
                              district_code=elder.district_code, street=elder.street,
                              scheduled_at=max(visit.scheduled_at, now + timedelta(hours=1)), order_id=None,
                              plan_id=plan.id, created_at=now))
    await s.flush()
    return str(plan.id), len(planned), already


async def place_planned_orders(rt: OrdersRuntime, *, month: str, district: str | None,
                               retry_refused: bool) -> tuple[int, list[dict]]:
    """Place the visit order of every planned visit of `month` that has none yet. A visit that was
    refused (not merely unreachable) is retried only when a person plans again, not every minute."""
    query = sa.select(PlannedVisitRow).where(PlannedVisitRow.month == month, PlannedVisitRow.order_id.is_(None))
    if not retry_refused:
        query = query.where(PlannedVisitRow.error.is_(None))
    if district:
        query = query.where(PlannedVisitRow.district_code == district)
    async with rt.db.sessions() as s:
        waiting = list((await s.execute(query)).scalars())
    placed, failed = 0, []
    system = service_principal("orders-visits")
    for visit in waiting:
        start = visit.scheduled_at
        if start < rt.now() + timedelta(minutes=30):  # its day came while it waited: the next whole hour
            soon = rt.now() + timedelta(minutes=30)
            start = soon.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        request = PlaceRequest(elder_id=visit.elder_id, service_code=VISIT_CODE, window_start=start,
                               window_end=start + timedelta(minutes=rt.settings.visit_duration_min), payment="self_pay",
                               notes="每月探访关爱", kind="visit", programme_funded=True)

        async def link(tx, order, visit_id=visit.id) -> None:
            await tx.run(LINK_VISIT, visit_id=visit_id, order_id=order.id)

        try:
            _, _, replayed = await place(rt, principal=system, request=request, scope="visits", also=link,
                                         idempotency_key=f"visit:{month}:{visit.elder_id}", now=rt.now())
            placed += 0 if replayed else 1
        except DomainError as exc:
            log.warning("visit for elder %s in %s not placed: %s", visit.elder_id, month, exc.detail)
            failed.append({"elder_id": str(visit.elder_id), "reason": exc.detail})
            if isinstance(exc, ServiceUnavailable):
                continue  # tried again on the spawner's next pass
            async with rt.db.transaction() as s:
                await s.execute(sa.update(PlannedVisitRow).where(PlannedVisitRow.id == visit.id,
                                                                 PlannedVisitRow.order_id.is_(None))
                                .values(error=exc.detail[:500]))
    return placed, failed


async def plan_current_month(rt: OrdersRuntime) -> None:
    """The spawner's monthly duty: plan this month city-wide (idempotent, cheap when done)."""
    await plan_visits(rt, principal=service_principal("orders-visits"), month=None, district_code=None, now=rt.now())


async def coverage(s: AsyncSession, *, principal: Principal, month: str | None, district_code: str | None,
                   now: datetime) -> dict:
    """Visited / due per district and street. Due: the month's planned visits, plus (for the
    current month) special-hardship elders not planned yet: an unplanned elder is a gap too."""
    require_role(principal, "officer", "city_officer")
    district = district_scope(principal, district_code)
    ym = parse_month(month, now)
    start, end = ym.bounds_utc()
    q = sa.select(PlannedVisitRow.elder_id, PlannedVisitRow.district_code, PlannedVisitRow.street).where(
        PlannedVisitRow.month == str(ym))
    if district:
        q = q.where(PlannedVisitRow.district_code == district)
    due = {e: (d, st) for e, d, st in (await s.execute(q)).all()}
    if ym == YearMonth.of(now):
        q = sa.select(ElderRow.elder_id, ElderRow.district_code, ElderRow.street).where(
            ElderRow.special_hardship.is_(True), ElderRow.status == "active")
        if district:
            q = q.where(ElderRow.district_code == district)
        for e, d, st in (await s.execute(q)).all():
            due.setdefault(e, (d, st))
    visits = (await s.execute(sa.select(OrderRow.elder_id, OrderRow.completed_at).where(
        OrderRow.kind == "visit", OrderRow.state.in_(VISITED_STATES), OrderRow.completed_at >= start,
        OrderRow.completed_at < end))).all()
    visits = [(e, at) for e, at in visits]
    by_district = coverage_by_group({e: d or "" for e, (d, _) in due.items()}, visits, ym)
    by_street = coverage_by_group({e: (d or "", st or "") for e, (d, st) in due.items()}, visits, ym)
    groups = []
    for code, cov in by_district.items():
        streets = [coverage_answer({"street": st or None}, c) for (d, st), c in by_street.items() if d == code]
        groups.append(coverage_answer({"district_code": code or None}, cov) | {"streets": streets})
    required = sum(c.required for c in by_district.values())
    visited = sum(c.visited for c in by_district.values())
    return {"month": str(ym), "district_code": district, "required": required, "visited": visited,
            "ratio": round(visited / required, 4) if required else None, "districts": groups,
            "as_of": local_iso(now)}

