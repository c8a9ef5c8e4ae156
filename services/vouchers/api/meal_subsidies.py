"""HTTP routes for meals at a meal point's counter: the subsidy (the orders service) and the
points' declared capacities (officers)."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError

from services.vouchers import meal_subsidies
from services.vouchers.schemas import MealPointCapacityIn, MealPointCapacityOut, MealSubsidyIn, MealSubsidyOut
from shared.app import Ctx, CurrentPrincipal
from shared.fast_sql import fast_transaction

router = APIRouter(tags=["meals"])


@router.post("/meal-subsidies", response_model=MealSubsidyOut,
             summary="助餐点用餐补贴：从社区照护券即时扣减（订单服务调用，按核销编号幂等）")
async def post_meal_subsidy(body: MealSubsidyIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    for attempt in (1, 2):
        try:
            lock = meal_subsidies.subsidy_lock(elder_id=body.elder_id, provider_id=body.provider_id,
                                               meal_date=body.meal_date)
            async with fast_transaction(ctx.db, lock=lock) as tx:
                return await meal_subsidies.grant_subsidy(
                    tx, principal=principal, redemption_id=body.redemption_id, elder_id=body.elder_id,
                    provider_id=body.provider_id, meal_date=body.meal_date, meal=body.meal, price_fen=body.price_fen,
                    method=body.method, served_at=body.served_at, now=ctx.now())
        except IntegrityError:  # the same redemption id at the same moment: the second reads the first's answer
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@router.post("/meal-subsidies/{redemption_id}/reverse", response_model=MealSubsidyOut,
             summary="撤销助餐补贴（退回社区照护券；重复撤销返回相同结果）")
async def reverse_meal_subsidy(redemption_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    for attempt in (1, 2):
        try:
            async with ctx.db.transaction() as session:
                return await meal_subsidies.reverse_subsidy(session, principal=principal, redemption_id=redemption_id,
                                                            now=ctx.now())
        except IntegrityError:  # the meal itself was being written at the same moment
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@router.put("/meal-points/{provider_id}/capacity", response_model=MealPointCapacityOut,
            summary="登记助餐点每日供餐能力（稽核规则“供餐超过申报能力”用）")
async def put_meal_point_capacity(provider_id: UUID, body: MealPointCapacityIn, ctx: Ctx,
                                  principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await meal_subsidies.set_capacity(session, principal=principal, provider_id=provider_id,
                                                 meals_per_day=body.meals_per_day, now=ctx.now())
