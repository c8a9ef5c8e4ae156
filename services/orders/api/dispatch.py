"""Routes of dispatch: a provider's open offers, accept, decline; the unmatched orders."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query

from services.orders.dispatch import offers
from services.orders.runtime import Runtime
from services.orders.schemas import AcceptIn, DeclineIn, OfferOut, OrderOut
from shared.app import Ctx, CurrentPrincipal
from shared.fast_sql import fast_reads, fast_transaction

router = APIRouter(tags=["orders"])


@router.get("/offers", response_model=list[OfferOut], summary="本机构待答复的派单（含截止时间和剩余秒数）")
async def get_offers(ctx: Ctx, principal: CurrentPrincipal, provider_id: UUID | None = None) -> list[dict]:
    async with fast_reads(ctx.db) as reads:
        return await offers.open_offers(reads, principal=principal, provider_id=provider_id, now=ctx.now())


@router.post("/orders/{order_id}/accept", response_model=OrderOut, summary="接单并指派护理员（抢单时只有一家成功）")
async def accept(order_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                 body: AcceptIn | None = None) -> dict:
    async with fast_transaction(ctx.db) as tx:
        return await offers.accept(tx, rt=rt, principal=principal, order_id=order_id,
                                   caregiver_id=body.caregiver_id if body else None, now=ctx.now())


@router.post("/orders/{order_id}/decline", response_model=OfferOut, summary="拒单（派给下一家）")
async def decline(order_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                  body: DeclineIn | None = None) -> dict:
    async with fast_transaction(ctx.db) as tx:
        answer = await offers.decline(tx, principal=principal, order_id=order_id,
                                      reason=body.reason if body else "", now=ctx.now())
    rt.wake_dispatcher()
    return answer


@router.get("/unmatched", response_model=list[OrderOut], summary="未匹配、等待重新派单的订单（民政）")
async def unmatched(ctx: Ctx, principal: CurrentPrincipal, district_code: str | None = Query(None, max_length=12)):
    async with ctx.db.sessions() as s:
        return await offers.list_unmatched(s, principal=principal, district_code=district_code)
