"""HTTP routes for spending and wallets (orders, elders, families) and the policy tables.

Each write route opens exactly one transaction and hands it to one use case.
"""
from __future__ import annotations

from datetime import date
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder

from services.vouchers import policies, spending, wallets
from services.vouchers.calendar import local_date
from services.vouchers.schemas import (HistoryOut, HoldDetail, HoldIn, HoldOut, PolicyIn, QuoteIn, QuoteOut, VoidOut,
                                       WalletOut)
from services.vouchers.service import current_time
from shared import failpoints
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey
from shared.auth import require_role
from shared.idempotency import run_idempotent

router = APIRouter(tags=["vouchers"])


@router.post("/quotes", response_model=QuoteOut, summary="询价：券付多少、老人自付多少")
async def post_quote(body: QuoteIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await spending.quote(session, principal=principal, elder_id=body.elder_id, kind=body.kind,
                                    price_fen=body.price_fen, now=current_time(ctx))


@router.post("/holds", status_code=201, response_model=HoldOut, summary="下单预扣（订单服务调用，幂等键为订单号）")
async def post_hold(body: HoldIn, ctx: Ctx, principal: CurrentPrincipal, idempotency_key: IdempotencyKey) -> dict:
    require_role(principal, "service")
    now = current_time(ctx)

    async def work(session):
        return 201, await spending.place_hold(session, principal=principal, order_id=body.order_id,
                                              elder_id=body.elder_id, kind=body.kind, price_fen=body.price_fen,
                                              service_code=body.service_code, now=now)

    # Without a key the order id is the key: one order, one hold, whatever the caller retries.
    _, answer, replayed = await run_idempotent(ctx.db, key=idempotency_key or str(body.order_id),
                                               scope=f"{principal.user_id}:POST:/holds",
                                               body=body.model_dump(mode="json"), work=work)
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
        return await spending.void_hold(session, principal=principal, hold_id=hold_id, now=current_time(ctx))


@router.get("/wallets/{elder_id}", response_model=WalletOut, summary="老人本月代金券余额")
async def get_wallet(elder_id: UUID, ctx: Ctx, principal: CurrentPrincipal,
                     month: str | None = Query(None, max_length=7, description="YYYY-MM，默认本月")) -> dict:
    async with ctx.db.sessions() as session:
        return await wallets.wallet(session, principal=principal, elder_id=elder_id, month=month,
                                    now=current_time(ctx))


@router.get("/wallets/{elder_id}/history", response_model=HistoryOut, summary="代金券收支明细")
async def get_wallet_history(elder_id: UUID, ctx: Ctx, principal: CurrentPrincipal,
                             month: str | None = Query(None, max_length=7)) -> dict:
    async with ctx.db.sessions() as session:
        return await wallets.history(session, principal=principal, elder_id=elder_id, month=month)


@router.get("/policies", summary="全部政策版本（含历史）")
async def get_policies(ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await policies.list_versions(session)


@router.get("/policies/current", summary="某日生效的政策版本（默认今天）")
async def get_current_policy(ctx: Ctx, principal: CurrentPrincipal, on: date | None = None) -> dict:
    async with ctx.db.sessions() as session:
        return await policies.current_version(session, on=on or local_date(current_time(ctx)))


@router.post("/policies", status_code=201, summary="发布新政策版本（管理员）")
async def post_policy(body: PolicyIn, ctx: Ctx, principal: CurrentPrincipal, idempotency_key: IdempotencyKey) -> dict:
    # a version is a new row each time: a retried request (the gateway retries keyed writes)
    # must not publish the same version twice
    async def work(session):
        version = await policies.create_version(session, principal=principal,
                                                submitted=body.model_dump(mode="json"), now=current_time(ctx))
        return 201, jsonable_encoder(version)  # JSON-ready: a replay answers the stored copy

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key, scope=f"{principal.user_id}:POST:/policies",
                                        body=body.model_dump(mode="json"), work=work)
    return answer
