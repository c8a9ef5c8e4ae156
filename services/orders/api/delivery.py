"""Routes of delivering an order: check-in, check-out, review, cancel, dispute, resolve."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.orders import delivery, door
from services.orders.runtime import Runtime
from services.orders.schemas import CheckInIn, CheckOutIn, OrderOut, ReasonIn, ResolveIn, ReviewIn
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["orders"])


@router.post("/orders/{order_id}/check-in", response_model=OrderOut,
             summary="上门签到（超出范围需填写原因，按异常签到记录）")
async def check_in(order_id: UUID, body: CheckInIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        return await delivery.check_in(s, principal=principal, order_id=order_id, lat=body.lat, lon=body.lon,
                                       reason=body.reason, limit_m=rt.settings.checkin_limit_m, now=ctx.now())


@router.post("/orders/{order_id}/check-out", response_model=OrderOut,
             summary="签退，填写服务记录（订单完成）：输入老人的上门确认码，或家属已远程确认，或填写无法确认的原因")
async def check_out(order_id: UUID, body: CheckOutIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    code = (body.confirmation_code or "").strip() or None
    expected = door.expected_code(rt.door_code_key, order_id, now=ctx.now()) if code else None
    async with ctx.db.transaction() as s:
        result = await delivery.check_out(s, principal=principal, order_id=order_id, record=body.record,
                                          duration_min=body.duration_min, now=ctx.now(), confirmation_code=code,
                                          expected_code=expected, unconfirmed_reason=body.unconfirmed_reason)
    if result.refusal is not None:  # a wrong code: the try is counted (committed), the check-out refused
        raise result.refusal
    return result.answer


@router.post("/orders/{order_id}/review", response_model=OrderOut, summary="确认并评价（每单一次）")
async def review(order_id: UUID, body: ReviewIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        return await delivery.review(s, principal=principal, order_id=order_id, rating=body.rating,
                                     comment=body.comment, now=ctx.now())


@router.post("/orders/{order_id}/cancel", response_model=OrderOut,
             summary="取消（签到前；服务商取消已接订单即退回重新派单）")
async def cancel(order_id: UUID, body: ReasonIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        outcome = await delivery.cancel(s, principal=principal, order_id=order_id, reason=body.reason, now=ctx.now())
    if outcome.redispatch:
        rt.wake_dispatcher()
    await rt.void_hold(outcome.hold_to_void)
    return outcome.answer


@router.post("/orders/{order_id}/dispute", response_model=OrderOut, summary="发起争议（服务开始后、结算前）")
async def dispute(order_id: UUID, body: ReasonIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        return await delivery.dispute(s, principal=principal, order_id=order_id, reason=body.reason, now=ctx.now())


@router.post("/orders/{order_id}/resolve", response_model=OrderOut, summary="处理争议（民政）：维持或作废")
async def resolve(order_id: UUID, body: ResolveIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        outcome = await delivery.resolve(s, principal=principal, order_id=order_id, resolution=body.resolution,
                                         note=body.note, now=ctx.now())
    await rt.void_hold(outcome.hold_to_void)
    return outcome.answer
