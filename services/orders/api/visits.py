"""Routes of the monthly visits (探访关爱): plans and coverage."""
from __future__ import annotations

from fastapi import APIRouter, Query

from services.orders import visits
from services.orders.runtime import Runtime
from services.orders.schemas import CoverageOut, VisitPlanIn, VisitPlanOut
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["orders"])


@router.post("/visit-plans", status_code=201, response_model=VisitPlanOut,
             summary="制定月度探访计划：每位特殊困难老人每月一次探访关爱（重复提交只补充新增对象）")
async def post_visit_plan(body: VisitPlanIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    # planning opens its own transactions: the register first, then one per visit order placed
    return await visits.plan_visits(rt, principal=principal, month=body.month, district_code=body.district_code,
                                    now=ctx.now())


@router.get("/visit-coverage", response_model=CoverageOut, summary="探访覆盖率（按区县、街道：已探访 / 应探访）")
async def get_coverage(ctx: Ctx, principal: CurrentPrincipal, month: str | None = Query(None, pattern=r"^\d{4}-\d{2}$"),
                       district_code: str | None = Query(None, max_length=12)) -> dict:
    async with ctx.db.sessions() as s:
        return await visits.coverage(s, principal=principal, month=month, district_code=district_code,
                                     now=ctx.now())
