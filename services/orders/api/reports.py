"""Routes of the bureau's dashboard reports (orders' part): read-only, officers and the city."""
from __future__ import annotations

from fastapi import APIRouter, Query

from services.orders import reports
from services.orders.schemas import ActivityOut, IndicatorCountsOut, UnmetDemandOut
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["orders"])
MONTH = r"^\d{4}-\d{2}$"


@router.get("/reports/indicators", response_model=IndicatorCountsOut,
            summary="规划指标的分子：按月 × 区县的探访、居家服务和助餐人数（民政看板）")
async def get_indicator_counts(ctx: Ctx, principal: CurrentPrincipal, from_month: str = Query(pattern=MONTH),
                               to_month: str = Query(pattern=MONTH),
                               district_code: str | None = Query(None, max_length=12)) -> dict:
    async with ctx.db.sessions() as s:
        return await reports.indicator_counts(s, principal=principal, from_month=from_month, to_month=to_month,
                                              district_code=district_code, now=ctx.now())


@router.get("/reports/activity", response_model=ActivityOut, summary="本月订单按下单时刻和接单用时（民政看板）")
async def get_activity(ctx: Ctx, principal: CurrentPrincipal, month: str = Query(pattern=MONTH),
                       district_code: str | None = Query(None, max_length=12)) -> dict:
    async with ctx.db.sessions() as s:
        return await reports.activity(s, principal=principal, month=month, district_code=district_code, now=ctx.now())


@router.get("/reports/unmet", response_model=UnmetDemandOut, summary="未满足的需求：无人接单的订单和老人分布（民政看板）")
async def get_unmet(ctx: Ctx, principal: CurrentPrincipal, month: str = Query(pattern=MONTH),
                    district_code: str | None = Query(None, max_length=12)) -> dict:
    async with ctx.db.sessions() as s:
        return await reports.unmet_demand(s, principal=principal, month=month, district_code=district_code, now=ctx.now())
