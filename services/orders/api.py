"""HTTP routes of the orders service (the gateway serves them under /api/orders/...).

Routes parse, authorise (the use cases check roles and write ownership into their queries) and
shape the answer; each use case opens its own transaction(s). Commands a client may retry take
an optional Idempotency-Key.
"""
from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Query

from services.orders import delivery, offers, recurring, visits
from services.orders.lifecycle import OrderState
from services.orders.models import OrderRow
from services.orders.placing import PlaceRequest, place_order
from services.orders.schemas import (AcceptIn, CheckInIn, CheckOutIn, CoverageOut, DeclineIn, OfferOut, OrderIn,
                                     OrderOut, ReasonIn, RecurringRuleIn, RecurringRuleOut, ResolveIn, ReviewIn,
                                     VisitPlanIn, VisitPlanOut)
from services.orders.service import load_order, order_answer, order_details, order_scope, runtime
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey, PageOffset
from shared.auth import require_role
from shared.errors import Forbidden

router = APIRouter(tags=["orders"])


@router.post("/orders", status_code=201, response_model=OrderOut,
             summary="下单（老人本人、绑定家属，或民政人员代本辖区老人下单）")
async def post_order(body: OrderIn, ctx: Ctx, principal: CurrentPrincipal, idempotency_key: IdempotencyKey) -> dict:
    request = PlaceRequest(elder_id=body.elder_id, service_code=body.service_code, window_start=body.window_start,
                           window_end=body.window_end, payment=body.payment, address=body.address, lat=body.lat,
                           lon=body.lon, notes=body.notes)
    _, answer, _ = await place_order(runtime(ctx), principal, request, idempotency_key=idempotency_key,
                                  scope=f"{principal.user_id}:POST:/orders")
    return answer


@router.get("/orders/{order_id}", response_model=OrderOut, summary="订单详情（他人的订单返回 404）")
async def get_order(order_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as s:
        return await order_details(s, await load_order(s, principal, order_id), principal)


@router.get("/orders", response_model=list[OrderOut], summary="订单列表（按角色只含可见的订单）")
async def list_orders(ctx: Ctx, principal: CurrentPrincipal,
                      state: OrderState | None = None, elder_id: UUID | None = None,
                      provider_id: UUID | None = None, caregiver_id: UUID | None = None,
                      limit: int = Query(50, ge=1, le=500), offset: PageOffset = 0) -> list[dict]:
    if principal.role == "assessor":
        raise Forbidden("评估员不能查看订单")
    query = sa.select(OrderRow).where(order_scope(principal))
    for column, value in ((OrderRow.state, state.value if state else None), (OrderRow.elder_id, elder_id),
                          (OrderRow.provider_id, provider_id), (OrderRow.caregiver_id, caregiver_id)):
        if value is not None:
            query = query.where(column == value)
    query = query.order_by(OrderRow.window_start.desc(), OrderRow.id).limit(limit).offset(offset)
    async with ctx.db.sessions() as s:
        return [order_answer(o) for o in (await s.execute(query)).scalars()]


# ---- dispatch ---------------------------------------------------------------------------------


@router.get("/offers", response_model=list[OfferOut], summary="本机构待答复的派单（含截止时间和剩余秒数）")
async def get_offers(ctx: Ctx, principal: CurrentPrincipal, provider_id: UUID | None = None) -> list[dict]:
    return await offers.open_offers(runtime(ctx), principal, provider_id)


@router.post("/orders/{order_id}/accept", response_model=OrderOut, summary="接单并指派护理员（抢单时只有一家成功）")
async def accept(order_id: UUID, ctx: Ctx, principal: CurrentPrincipal, body: AcceptIn | None = None) -> dict:
    return await offers.accept(runtime(ctx), principal, order_id, body.caregiver_id if body else None)


@router.post("/orders/{order_id}/decline", response_model=OfferOut, summary="拒单（派给下一家）")
async def decline(order_id: UUID, ctx: Ctx, principal: CurrentPrincipal, body: DeclineIn | None = None) -> dict:
    return await offers.decline(runtime(ctx), principal, order_id, body.reason if body else "")


@router.get("/unmatched", response_model=list[OrderOut], summary="未匹配、等待重新派单的订单（民政）")
async def unmatched(ctx: Ctx, principal: CurrentPrincipal, district_code: str | None = Query(None, max_length=12)):
    return await offers.list_unmatched(runtime(ctx), principal, district_code)


# ---- delivery ---------------------------------------------------------------------------------


@router.post("/orders/{order_id}/check-in", response_model=OrderOut,
             summary="上门签到（超出范围需填写原因，按异常签到记录）")
async def check_in(order_id: UUID, body: CheckInIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await delivery.check_in(runtime(ctx), principal, order_id, lat=body.lat, lon=body.lon, reason=body.reason)


@router.post("/orders/{order_id}/check-out", response_model=OrderOut, summary="签退，填写服务记录（订单完成）")
async def check_out(order_id: UUID, body: CheckOutIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await delivery.check_out(runtime(ctx), principal, order_id, record=body.record,
                                    duration_min=body.duration_min)


@router.post("/orders/{order_id}/review", response_model=OrderOut, summary="确认并评价（每单一次）")
async def review(order_id: UUID, body: ReviewIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await delivery.review(runtime(ctx), principal, order_id, rating=body.rating, comment=body.comment)


@router.post("/orders/{order_id}/cancel", response_model=OrderOut,
             summary="取消（签到前；服务商取消已接订单即退回重新派单）")
async def cancel(order_id: UUID, body: ReasonIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await delivery.cancel(runtime(ctx), principal, order_id, reason=body.reason)


@router.post("/orders/{order_id}/dispute", response_model=OrderOut, summary="发起争议（服务开始后、结算前）")
async def dispute(order_id: UUID, body: ReasonIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await delivery.dispute(runtime(ctx), principal, order_id, reason=body.reason)


@router.post("/orders/{order_id}/resolve", response_model=OrderOut, summary="处理争议（民政）：维持或作废")
async def resolve(order_id: UUID, body: ResolveIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await delivery.resolve(runtime(ctx), principal, order_id, resolution=body.resolution, note=body.note)


# ---- recurring orders -------------------------------------------------------------------------


@router.post("/recurring-orders", status_code=201, response_model=RecurringRuleOut,
             summary="新建周期服务（如工作日 11:00 助餐），提前一天自动下单")
async def post_rule(body: RecurringRuleIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await recurring.create_rule(runtime(ctx), principal, body)


@router.get("/recurring-orders", response_model=list[RecurringRuleOut], summary="周期服务列表")
async def get_rules(ctx: Ctx, principal: CurrentPrincipal, elder_id: UUID | None = None) -> list[dict]:
    return await recurring.list_rules(runtime(ctx), principal, elder_id)


@router.delete("/recurring-orders/{rule_id}", response_model=RecurringRuleOut,
               summary="结束周期服务（已生成的订单保留，可逐单取消）")
async def end_rule(rule_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await recurring.set_status(runtime(ctx), principal, rule_id, "ended")


@router.post("/recurring-orders/{rule_id}/pause", response_model=RecurringRuleOut, summary="暂停周期服务")
async def pause_rule(rule_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await recurring.set_status(runtime(ctx), principal, rule_id, "paused")


@router.post("/recurring-orders/{rule_id}/resume", response_model=RecurringRuleOut, summary="恢复周期服务")
async def resume_rule(rule_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await recurring.set_status(runtime(ctx), principal, rule_id, "active")


@router.post("/recurring-orders/spawn", summary="立即运行一次周期下单（管理员；平时每分钟自动运行）")
async def spawn_now(ctx: Ctx, principal: CurrentPrincipal) -> dict:
    require_role(principal, "admin")
    return {"placed": await recurring.spawn_due(runtime(ctx))}


# ---- monthly visits ---------------------------------------------------------------------------


@router.post("/visit-plans", status_code=201, response_model=VisitPlanOut,
             summary="制定月度探访计划：每位特殊困难老人每月一次探访关爱（重复提交只补充新增对象）")
async def post_visit_plan(body: VisitPlanIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await visits.plan_visits(runtime(ctx), principal, month=body.month, district_code=body.district_code)


@router.get("/visit-coverage", response_model=CoverageOut, summary="探访覆盖率（按区县、街道：已探访 / 应探访）")
async def get_coverage(ctx: Ctx, principal: CurrentPrincipal, month: str | None = Query(None, pattern=r"^\d{4}-\d{2}$"),
                       district_code: str | None = Query(None, max_length=12)) -> dict:
    return await visits.coverage(runtime(ctx), principal, month=month, district_code=district_code)
