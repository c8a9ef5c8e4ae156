"""Routes of placing an order and reading orders back."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query

from services.orders import placement
from services.orders.placement import PlaceRequest
from services.orders.rules.lifecycle import OrderState
from services.orders.runtime import Runtime
from services.orders.schemas import OrderIn, OrderOut
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey, PageOffset

router = APIRouter(tags=["orders"])


@router.post("/orders", status_code=201, response_model=OrderOut,
             summary="下单（老人本人、绑定家属，或民政人员代本辖区老人下单）")
async def post_order(body: OrderIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                     idempotency_key: IdempotencyKey) -> dict:
    request = PlaceRequest(elder_id=body.elder_id, service_code=body.service_code, window_start=body.window_start,
                           window_end=body.window_end, payment=body.payment, address=body.address, lat=body.lat,
                           lon=body.lon, notes=body.notes)
    scope = f"{principal.user_id}:POST:/orders"
    prepared = await placement.prepare_order(rt, principal=principal, request=request, scope=scope,
                                             idempotency_key=idempotency_key, now=ctx.now())
    # the transaction (under the idempotency key) and what follows its commit
    _, answer, _ = await placement.place_in_transaction(rt, placement=prepared, idempotency_key=idempotency_key,
                                                        scope=scope)
    return answer


@router.get("/orders/{order_id}", response_model=OrderOut, summary="订单详情（他人的订单返回 404）")
async def get_order(order_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as s:
        return await placement.read_order(s, principal=principal, order_id=order_id)


@router.get("/orders", response_model=list[OrderOut], summary="订单列表（按角色只含可见的订单）")
async def list_orders(ctx: Ctx, principal: CurrentPrincipal,
                      state: OrderState | None = None, elder_id: UUID | None = None,
                      provider_id: UUID | None = None, caregiver_id: UUID | None = None,
                      limit: int = Query(50, ge=1, le=500), offset: PageOffset = 0) -> list[dict]:
    async with ctx.db.sessions() as s:
        return await placement.list_orders(s, principal=principal, state=state, elder_id=elder_id,
                                           provider_id=provider_id, caregiver_id=caregiver_id, limit=limit,
                                           offset=offset)
