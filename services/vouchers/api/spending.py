"""HTTP routes for spending a voucher: quotes (elders, families), holds (the orders service)."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.vouchers import spending
from services.vouchers.schemas import HoldDetail, HoldIn, HoldOut, QuoteIn, QuoteOut, VoidOut
from shared import failpoints
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey
from shared.auth import require_role
from shared.idempotency import run_idempotent_fast

router = APIRouter(tags=["vouchers"])


@router.post("/quotes", response_model=QuoteOut, summary="询价：券付多少、老人自付多少")
async def post_quote(body: QuoteIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await spending.quote(session, principal=principal, elder_id=body.elder_id, kind=body.kind,
                                    price_fen=body.price_fen, now=ctx.now())


@router.post("/holds", status_code=201, response_model=HoldOut, summary="下单预扣（订单服务调用，幂等键为订单号）")
async def post_hold(body: HoldIn, ctx: Ctx, principal: CurrentPrincipal, idempotency_key: IdempotencyKey) -> dict:
    require_role(principal, "service")
    now = ctx.now()

    async def work(tx, facts):
        return 201, await spending.place_hold(tx, principal=principal, order_id=body.order_id,
                                              elder_id=body.elder_id, kind=body.kind, price_fen=body.price_fen,
                                              service_code=body.service_code, now=now, facts=facts)

    # Without a key the order id is the key: one order, one hold, whatever the caller retries. The
    # wallet is locked with BEGIN and the hold's facts read with the key: two round trips (D79).
    _, answer, replayed = await run_idempotent_fast(
        ctx.db, key=idempotency_key or str(body.order_id), scope=f"{principal.user_id}:POST:/holds",
        body=body.model_dump(mode="json"), work=work,
        lock=spending.hold_lock(elder_id=body.elder_id, kind=body.kind, now=now),
        first=spending.hold_facts(order_id=body.order_id, elder_id=body.elder_id, kind=body.kind, now=now))
    if replayed:  # the stored answer says "held"; the hold may have been released since (orphans.py)
        async with ctx.db.sessions() as session:
            answer = answer | {"status": await spending.hold_status(session, order_id=body.order_id) or "released"}
    failpoints.hit("vouchers.hold.after_commit", "vouchers")  # tests/faults: the hold is stored, the answer not sent
    return answer


@router.get("/holds/{hold_id}", response_model=HoldDetail, summary="查询预扣")
async def get_hold(hold_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await spending.get_hold(session, principal=principal, hold_id=hold_id)


@router.post("/holds/{hold_id}/void", response_model=VoidOut, summary="撤销预扣（重复撤销返回相同结果）")
async def void_hold(hold_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await spending.void_hold(session, principal=principal, hold_id=hold_id, now=ctx.now())
