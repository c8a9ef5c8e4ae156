"""Routes of care plans on the orders side: planned against delivered, and a provider's schedule
from plans. The rules themselves come from assessment's events (`consumers.py`)."""
from __future__ import annotations

from datetime import date
from uuid import UUID

from fastapi import APIRouter, Query

from services.orders import care_plans
from services.orders.schemas import DeliverySummaryOut, PlanDeliveryOut, PlanScheduleOut
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["orders"])
Month = Query(None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM（北京时间的月份），默认本月")


@router.get("/plan-delivery", response_model=PlanDeliveryOut,
            summary="照护计划执行情况：某位老人某月按服务项目的计划、已下单、已完成与未完成（原因）")
async def get_plan_delivery(ctx: Ctx, principal: CurrentPrincipal, elder_id: UUID | None = None,
                            month: str | None = Month) -> dict:
    # elder_id is checked after the caller's role (the use case), so a refused role learns nothing
    async with ctx.db.sessions() as s:
        return await care_plans.plan_delivery(s, principal=principal, elder_id=elder_id, month=month, now=ctx.now())


@router.get("/plan-delivery/summary", response_model=DeliverySummaryOut,
            summary="照护计划执行率：按区县、按服务商，及执行率低于 80% 的老人")
async def get_delivery_summary(ctx: Ctx, principal: CurrentPrincipal, month: str | None = Month,
                               district_code: str | None = Query(None, max_length=12)) -> dict:
    async with ctx.db.sessions() as s:
        return await care_plans.delivery_summary(s, principal=principal, month=month, district_code=district_code,
                                                 now=ctx.now())


@router.get("/plan-schedule", response_model=PlanScheduleOut,
            summary="服务商的照护计划排班（按日期，默认今天起 7 天，最多 62 天）")
async def get_plan_schedule(ctx: Ctx, principal: CurrentPrincipal, first: date | None = Query(None, alias="from"),
                            last: date | None = Query(None, alias="to"), provider_id: UUID | None = None) -> dict:
    async with ctx.db.sessions() as s:
        return await care_plans.plan_schedule(s, principal=principal, provider_id=provider_id, first=first, last=last,
                                              now=ctx.now())
