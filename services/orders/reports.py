"""The bureau's dashboard reports (orders' part): per month and district the numerators the
plan's indicators need (special-hardship elders visited, elders served, elders who took a
subsidised meal), the month's orders by hour and time to acceptance, and the unmet demand
(orders no provider took, elder neighbourhoods for the map). Scope is in every query: a district
officer's own district, the city for city officers. The gateway divides (gateway/rules/indicators.py)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import district_scope
from services.orders.models import ElderRow, MealRedemptionRow, OrderRow
from services.orders.rules.recurrence import YearMonth
from services.orders.rules.reports import acceptance_bands, by_local_hour, month_range, parse_year_month, rounded_points
from services.orders.views import local_iso
from services.orders.visits import VISITED_STATES, coverage
from shared.auth import Principal, require_role
from shared.city import district_name

MAX_UNMET_ORDERS = 2_000


def _scoped(principal: Principal, district_code: str | None) -> str | None:
    require_role(principal, "officer", "city_officer")
    return district_scope(principal, district_code)


async def indicator_counts(s: AsyncSession, *, principal: Principal, from_month: str, to_month: str,
                           district_code: str | None, now: datetime) -> dict:
    """Per month × district: special-hardship elders due a visit and visited (the visit coverage's
    own figures), elders with a completed home service (visits not counted), elders who took a
    meal (a meal undone does not count), counted by the elder's district."""
    district = _scoped(principal, district_code)
    months = month_range(from_month, to_month)
    current = YearMonth.of(now)
    rows: list[dict] = []
    for ym in months:
        if ym > current:
            continue  # nothing has happened yet: the gateway shows 无数据
        start, end = ym.bounds_utc()
        cells: dict[str, dict] = {}

        def cell(code: str | None) -> dict:
            code = code or ""
            return cells.setdefault(code, {"month": str(ym), "district_code": code or None, "hardship_due": 0,
                                           "hardship_visited": 0, "served_elders": 0, "meal_elders": 0})
        cov = await coverage(s, principal=principal, month=str(ym), district_code=district, now=now)
        for d in cov["districts"]:
            c = cell(d["district_code"])
            c["hardship_due"], c["hardship_visited"] = d["required"], d["visited"]
        served = (sa.select(OrderRow.district_code, sa.func.count(sa.distinct(OrderRow.elder_id)))
                  .where(OrderRow.kind != "visit", OrderRow.state.in_(VISITED_STATES),
                         OrderRow.completed_at >= start, OrderRow.completed_at < end)
                  .group_by(OrderRow.district_code))
        if district:
            served = served.where(OrderRow.district_code == district)
        for code, n in (await s.execute(served)).all():
            cell(code)["served_elders"] = n
        meal_district = sa.func.coalesce(ElderRow.district_code, MealRedemptionRow.district_code)
        meals = (sa.select(meal_district, sa.func.count(sa.distinct(MealRedemptionRow.elder_id)))
                 .select_from(MealRedemptionRow)
                 .join(ElderRow, ElderRow.elder_id == MealRedemptionRow.elder_id, isouter=True)
                 .where(MealRedemptionRow.meal_date >= ym.first_day, MealRedemptionRow.meal_date <= ym.last_day,
                        MealRedemptionRow.undone_at.is_(None))
                 .group_by(meal_district))
        if district:
            meals = meals.where(meal_district == district)
        for code, n in (await s.execute(meals)).all():
            cell(code)["meal_elders"] = n
        rows.extend(sorted(cells.values(), key=lambda r: r["district_code"] or ""))
    return {"from_month": str(months[0]), "to_month": str(months[-1]), "district_code": district,
            "as_of": local_iso(now), "rows": rows}


async def activity(s: AsyncSession, *, principal: Principal, month: str, district_code: str | None,
                   now: datetime) -> dict:
    """The month's orders (visits aside) by the hour they were placed, and how long acceptance took."""
    district = _scoped(principal, district_code)
    ym = parse_year_month(month, "month")
    start, end = ym.bounds_utc()
    q = sa.select(OrderRow.created_at, OrderRow.accepted_at).where(
        OrderRow.kind != "visit", OrderRow.created_at >= start, OrderRow.created_at < end)
    if district:
        q = q.where(OrderRow.district_code == district)
    found = (await s.execute(q)).all()
    hours = by_local_hour(created for created, _ in found)
    bands, median = acceptance_bands((created, accepted) for created, accepted in found if accepted is not None)
    return {"month": str(ym), "district_code": district, "as_of": local_iso(now), "orders": len(found),
            "accepted": sum(1 for _, accepted in found if accepted is not None),
            "by_hour": [{"hour": h, "orders": n} for h, n in enumerate(hours)],
            "acceptance": bands, "median_acceptance_min": median}


async def unmet_demand(s: AsyncSession, *, principal: Principal, month: str, district_code: str | None,
                       now: datetime) -> dict:
    """Orders of the month (by service time) that found no provider, or were cancelled after
    rounds that found nobody; and where the district's active elders live, in ~100 m counts."""
    district = _scoped(principal, district_code)
    ym = parse_year_month(month, "month")
    start, end = ym.bounds_utc()
    no_provider = sa.or_(OrderRow.state == "unmatched",
                         sa.and_(OrderRow.state == "cancelled", OrderRow.unmatched_count > 0))
    q = (sa.select(OrderRow).where(no_provider, OrderRow.window_start >= start, OrderRow.window_start < end)
         .order_by(OrderRow.window_start).limit(MAX_UNMET_ORDERS))
    if district:
        q = q.where(OrderRow.district_code == district)
    orders = [{"order_id": str(o.id), "state": o.state,
               "reason": "未匹配到服务商" if o.state == "unmatched" else "无服务商接单后取消",
               "service_code": o.service_code, "service_name": o.service_name, "window_start": local_iso(o.window_start),
               "district_code": o.district_code, "district_name": district_name(o.district_code) if o.district_code else None,
               "street": o.street, "lat": o.lat, "lon": o.lon}
              for o in (await s.execute(q)).scalars()]
    eq = sa.select(ElderRow.lat, ElderRow.lon).where(ElderRow.status == "active", ElderRow.lat.is_not(None))
    if district:
        eq = eq.where(ElderRow.district_code == district)
    points = rounded_points((await s.execute(eq)).all())
    return {"month": str(ym), "district_code": district, "as_of": local_iso(now), "orders": orders,
            "elder_points": points}
