"""Routes of meals at the counter: the elder's dynamic code, printed cards, a meal point's lookup,
meals taken (under an Idempotency-Key: the counter's offline queue retries) and undone, and the
bureau's monthly report. Taking and undoing a meal call vouchers inside the use case (`meals.py`)."""
from __future__ import annotations

from datetime import date
from uuid import UUID

from fastapi import APIRouter, Query

from services.orders import meals
from services.orders.meals import RedeemRequest
from services.orders.runtime import Runtime
from services.orders.schemas import (
    MealCardOut,
    MealCodeOut,
    MealLookupIn,
    MealLookupOut,
    MealRedemptionIn,
    MealRedemptionOut,
    MealReportOut,
)
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey
from shared.city import local_day

router = APIRouter(tags=["meals"])


@router.get("/elders/{elder_id}/meal-code", response_model=MealCodeOut,
            summary="老人的助餐码（老人本人或绑定家属；60 秒有效，只能用一次）")
async def meal_code(elder_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    return await meals.issue_meal_code(rt, principal=principal, elder_id=elder_id, now=ctx.now())


@router.post("/elders/{elder_id}/meal-cards", status_code=201, response_model=MealCardOut,
             summary="为没有手机的老人办理助餐卡（民政人员；新卡使旧卡作废）")
async def meal_card(elder_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    return await meals.issue_meal_card(rt, principal=principal, elder_id=elder_id, now=ctx.now())


@router.post("/meal-points/{provider_id}/lookups", response_model=MealLookupOut,
             summary="助餐点查询助餐码（显示老人姓名、补贴档次、今日用餐；不核销）")
async def look_up(provider_id: UUID, body: MealLookupIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    return await meals.look_up(rt, principal=principal, provider_id=provider_id, code_text=body.code, now=ctx.now())


@router.post("/meal-points/{provider_id}/redemptions", status_code=201, response_model=MealRedemptionOut,
             summary="助餐点核销一餐（补贴当场从社区照护券扣除；支持离线补录）")
async def redeem(provider_id: UUID, body: MealRedemptionIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                 idempotency_key: IdempotencyKey) -> dict:
    request = RedeemRequest(provider_id=provider_id, code=body.code, meal=body.meal, price_fen=body.price_fen,
                            scanned_at=body.scanned_at, method=body.method, confirm_name=body.confirm_name)
    _, answer, _ = await meals.redeem(rt, principal=principal, request=request, idempotency_key=idempotency_key,
                                      scope=f"{principal.user_id}:POST:/meal-points/{provider_id}/redemptions",
                                      now=ctx.now())
    return answer


@router.post("/meal-points/{provider_id}/redemptions/{redemption_id}/undo", response_model=MealRedemptionOut,
             summary="撤销核销（同一助餐点，10 分钟内；补贴退回）")
async def undo(provider_id: UUID, redemption_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    return await meals.undo(rt, principal=principal, provider_id=provider_id, redemption_id=redemption_id,
                            now=ctx.now())


@router.get("/meal-points/{provider_id}/redemptions", response_model=list[MealRedemptionOut],
            summary="助餐点某日的核销记录（默认今天）")
async def list_meals(provider_id: UUID, ctx: Ctx, principal: CurrentPrincipal, day: date | None = None) -> list[dict]:
    async with ctx.db.sessions() as s:
        return await meals.list_counter_meals(s, principal=principal, provider_id=provider_id,
                                              day=day or local_day(ctx.now()))


@router.get("/meals/report", response_model=MealReportOut,
            summary="助餐月报：按助餐点、日期、补贴档次统计，及各助餐点的补贴申领额（民政）")
async def report(ctx: Ctx, principal: CurrentPrincipal, month: str = Query(pattern=r"^\d{4}-\d{2}$"),
                 district_code: str | None = None) -> dict:
    async with ctx.db.sessions() as s:
        return await meals.meal_report(s, principal=principal, month=month, district_code=district_code)
