"""HTTP routes for an elder's wallet (elders, families, clerks)."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query

from services.vouchers import wallets
from services.vouchers.schemas import HistoryOut, WalletOut
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["vouchers"])


@router.get("/wallets/{elder_id}", response_model=WalletOut, summary="老人本月代金券余额")
async def get_wallet(elder_id: UUID, ctx: Ctx, principal: CurrentPrincipal,
                     month: str | None = Query(None, max_length=7, description="YYYY-MM，默认本月")) -> dict:
    async with ctx.db.sessions() as session:
        return await wallets.wallet(session, principal=principal, elder_id=elder_id, month=month,
                                    now=ctx.now())


@router.get("/wallets/{elder_id}/history", response_model=HistoryOut, summary="代金券收支明细")
async def get_wallet_history(elder_id: UUID, ctx: Ctx, principal: CurrentPrincipal,
                             month: str | None = Query(None, max_length=7)) -> dict:
    async with ctx.db.sessions() as session:
        return await wallets.history(session, principal=principal, elder_id=elder_id, month=month)
