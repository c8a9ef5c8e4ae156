"""The bureau's oversight figures of a month (`GET /oversight-figures`): return-visit coverage
and failure rate by provider, complaints (filed, still open, overdue) and the time to answer,
by district and for the whole city. The confirmation share and no-show rate are the orders
service's figures, not these."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers.access import acting_district
from services.vouchers.models import ComplaintRow, CompletedOrderRow, ReturnVisitRow
from services.vouchers.rules.calendar import month_end_utc, month_start_utc, parse_month
from services.vouchers.rules.complaints import ComplaintStatus, is_overdue
from services.vouchers.rules.return_visits import (
    ProviderVisits,
    VisitResult,
    check_oversight_month,
    coverage_figures,
    summarise,
)
from services.vouchers.views import district_name
from shared.auth import Principal

_FIELDS = ("completed", "sampled", "called", "reached", "not_delivered", "dissatisfied")


def _visits(counts: dict) -> dict:
    return coverage_figures(ProviderVisits(**{k: counts.get(k, 0) for k in _FIELDS}))


def _complaint_figures(rows: list, now: datetime) -> dict:
    hours = [(r.answered_at - r.filed_at).total_seconds() / 3600 for r in rows if r.answered_at is not None]
    median, mean = summarise(hours)
    return {"filed": len(rows), "open": sum(1 for r in rows if not ComplaintStatus(r.status).closed),
            "overdue": sum(1 for r in rows if is_overdue(ComplaintStatus(r.status), r.deadline, now)),
            "answered": len(hours), "median_hours_to_answer": median, "mean_hours_to_answer": mean}


async def oversight_figures(session: AsyncSession, *, principal: Principal, month: str, district_code: str | None,
                            now: datetime) -> dict:
    district = acting_district(principal, district_code)
    check_oversight_month(parse_month(month)[0])
    counts: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    done = sa.select(CompletedOrderRow.district_code, CompletedOrderRow.provider_id, sa.func.count()).where(
        CompletedOrderRow.month == month).group_by(CompletedOrderRow.district_code, CompletedOrderRow.provider_id)
    visits = sa.select(ReturnVisitRow.district_code, ReturnVisitRow.provider_id, ReturnVisitRow.result,
                       sa.func.count()).where(ReturnVisitRow.month == month).group_by(
        ReturnVisitRow.district_code, ReturnVisitRow.provider_id, ReturnVisitRow.result)
    filed = sa.select(ComplaintRow).where(ComplaintRow.filed_at >= month_start_utc(month),
                                          ComplaintRow.filed_at < month_end_utc(month))
    if district:
        done = done.where(CompletedOrderRow.district_code == district)
        visits = visits.where(ReturnVisitRow.district_code == district)
        filed = filed.where(ComplaintRow.district_code == district)
    for code, provider, n in (await session.execute(done)).all():
        counts[code or ""][str(provider)]["completed"] += n
    for code, provider, result, n in (await session.execute(visits)).all():
        c = counts[code][str(provider)]
        c["sampled"] += n
        if result is not None:
            c["called"] += n
            if result != str(VisitResult.UNREACHABLE):
                c["reached"] += n
            if result == str(VisitResult.NOT_DELIVERED):
                c["not_delivered"] += n
            if result == str(VisitResult.DISSATISFIED):
                c["dissatisfied"] += n
    complaints: dict[str, list] = defaultdict(list)
    for row in (await session.execute(filed)).scalars():
        complaints[row.district_code].append(row)
    districts = []
    for code in sorted(set(counts) | set(complaints)):
        totals: dict[str, int] = defaultdict(int)
        for c in counts[code].values():
            for k in _FIELDS:
                totals[k] += c.get(k, 0)
        districts.append({"district_code": code, "district_name": district_name(code),
                          "return_visits": _visits(totals),
                          "providers": [{"provider_id": p, **_visits(c)} for p, c in sorted(counts[code].items())],
                          "complaints": _complaint_figures(complaints[code], now)})
    city_totals = {k: sum(d["return_visits"][k] for d in districts) for k in _FIELDS}
    return {"month": month, "district_code": district, "districts": districts,
            "city": None if district else {"return_visits": _visits(city_totals),
                                           "complaints": _complaint_figures(
                                               [r for rows in complaints.values() for r in rows], now)}}
