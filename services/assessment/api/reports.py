"""Routes of the bureau's dashboard reports (assessment's part): read-only, officers and the city."""
from __future__ import annotations

from fastapi import APIRouter, Query

from services.assessment import reports
from services.assessment.runtime import Runtime
from services.assessment.schemas import RosterCountsOut
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["assessment"])
MONTH = r"^\d{4}-\d{2}$"


@router.get("/reports/indicators", response_model=RosterCountsOut,
            summary="规划指标的分母和评估覆盖：按月 × 区县的在册老人、特殊困难老人、已评估、逾期未复评（民政看板）")
async def get_indicator_counts(ctx: Ctx, rt: Runtime, principal: CurrentPrincipal, from_month: str = Query(pattern=MONTH),
                               to_month: str = Query(pattern=MONTH),
                               district_code: str | None = Query(None, max_length=6)) -> dict:
    async with ctx.db.sessions() as session:
        return await reports.indicator_counts(session, principal=principal, from_month=from_month, to_month=to_month,
                                              district_code=district_code, reassessment_months=rt.reassessment_months,
                                              now=ctx.now())
