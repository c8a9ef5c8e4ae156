"""HTTP routes for the monthly issuance runs (officers, city officers)."""
from __future__ import annotations

from fastapi import APIRouter, Query

from services.vouchers.issuance import runs
from services.vouchers.schemas import IssuanceRunOut, MonthIn
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["civil affairs"])


@router.post("/issuance-runs", status_code=201, response_model=IssuanceRunOut, summary="发放本月代金券（重复运行不会重复发放）")
async def post_issuance_run(body: MonthIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    return await runs.run_issuance(ctx.db, principal=principal, month=body.month,
                                   district_code=body.district_code, now=ctx.now())


@router.get("/issuance-runs", response_model=list[IssuanceRunOut], summary="发放记录")
async def get_issuance_runs(ctx: Ctx, principal: CurrentPrincipal, month: str | None = Query(None, max_length=7)):
    async with ctx.db.sessions() as session:
        return await runs.list_runs(session, principal=principal, month=month)
