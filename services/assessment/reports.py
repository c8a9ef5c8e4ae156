"""The bureau's dashboard reports (assessment's part): per month and district, the elders on
the platform (the plan's denominators), the special-hardship elders, and assessment coverage with
overdue reassessments. District officers see their district, city officers the city; the counting
is `rules/reports.py`. Special hardship is the elder's flag today (no history is kept of it)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.assessment.access import district_scope
from services.assessment.models import AssessmentRow, ElderRow
from services.assessment.rules.reports import RosterElder, month_range, reference_day, roster_counts
from shared.auth import Principal, require_role
from shared.city import local_day


async def indicator_counts(session: AsyncSession, *, principal: Principal, from_month: str, to_month: str,
                           district_code: str | None, reassessment_months: int, now: datetime) -> dict:
    require_role(principal, "officer", "city_officer")
    district = district_scope(principal, district_code)
    months = month_range(from_month, to_month)
    q = sa.select(ElderRow.id, ElderRow.district_code, ElderRow.created_at, ElderRow.status, ElderRow.status_date,
                  ElderRow.special_hardship)
    aq = (sa.select(AssessmentRow.elder_id, AssessmentRow.finalised_at)
          .join(ElderRow, ElderRow.id == AssessmentRow.elder_id)
          .where(AssessmentRow.state == "finalised", AssessmentRow.finalised_at.is_not(None)))
    if district:
        q, aq = q.where(ElderRow.district_code == district), aq.where(ElderRow.district_code == district)
    finalised: dict = defaultdict(list)
    for elder_id, at in (await session.execute(aq)).all():
        finalised[elder_id].append(at)
    roster = [RosterElder(district_code=d, registered_at=created, special_hardship=bool(hardship),
                          departed_on=(status_date or local_day(created)) if status != "active" else None,
                          finalised=tuple(finalised.get(elder_id, ())))
              for elder_id, d, created, status, status_date, hardship in (await session.execute(q)).all()]
    today = local_day(now)
    rows = []
    for month in months:
        day = reference_day(month, today)
        if day is None:
            continue
        for code, counts in sorted(roster_counts(roster, day, months=reassessment_months).items()):
            rows.append({"month": month, "district_code": code, "reference_day": day.isoformat(), **counts})
    return {"from_month": months[0], "to_month": months[-1], "district_code": district,
            "reassessment_months": reassessment_months, "rows": rows}

