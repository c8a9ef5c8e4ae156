"""The bureau's dashboard reports (assessment's part): per month and district, the elders on
the platform (the plan's denominators), the special-hardship elders, and assessment coverage with
overdue reassessments, each on the month's reference day (`rules/reports.py`). Counted in SQL, two
statements a month. District officers see their district, city officers the city. Special
hardship is the elder's flag today (no history of it is kept)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.assessment.access import district_scope
from services.assessment.models import AssessmentRow, ElderRow
from services.assessment.rules.reports import day_end_utc, month_range, overdue_before, reference_day
from shared.auth import Principal, require_role
from shared.city import local_day


async def indicator_counts(session: AsyncSession, *, principal: Principal, from_month: str, to_month: str,
                           district_code: str | None, reassessment_months: int, now: datetime) -> dict:
    require_role(principal, "officer", "city_officer")
    district = district_scope(principal, district_code)
    months = month_range(from_month, to_month)
    today = local_day(now)
    rows = []
    for month in months:
        day = reference_day(month, today)
        if day is None:
            continue  # a month still to come
        end = day_end_utc(day)
        on_platform = [ElderRow.created_at < end,
                       sa.or_(ElderRow.status == "active", ElderRow.status_date > day)]  # departed after the day
        if district:
            on_platform.append(ElderRow.district_code == district)
        counts: dict[str, dict] = {}
        roster = (sa.select(ElderRow.district_code, sa.func.count(),
                            sa.func.sum(sa.case((ElderRow.special_hardship.is_(True), 1), else_=0)))
                  .where(*on_platform).group_by(ElderRow.district_code))
        for code, elders, hardship in (await session.execute(roster)).all():
            counts[code] = {"elders": elders, "hardship_elders": int(hardship or 0), "assessed": 0, "overdue": 0}
        latest = (sa.select(AssessmentRow.elder_id, sa.func.max(AssessmentRow.finalised_at).label("last"))
                  .where(AssessmentRow.state == "finalised", AssessmentRow.finalised_at < end)
                  .group_by(AssessmentRow.elder_id).subquery())
        cutoff = overdue_before(day, months=reassessment_months)
        assessed = (sa.select(ElderRow.district_code, sa.func.count(),
                              sa.func.sum(sa.case((latest.c.last < cutoff, 1), else_=0)))
                    .join(latest, latest.c.elder_id == ElderRow.id).where(*on_platform).group_by(ElderRow.district_code))
        for code, n, overdue in (await session.execute(assessed)).all():
            counts[code] |= {"assessed": n, "overdue": int(overdue or 0)}
        rows += [{"month": month, "district_code": code, "reference_day": day.isoformat(), **c}
                 for code, c in sorted(counts.items())]
    return {"from_month": months[0], "to_month": months[-1], "district_code": district,
            "reassessment_months": reassessment_months, "rows": rows}
