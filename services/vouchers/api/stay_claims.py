"""HTTP routes for the monthly bed-day claims of institutional stays."""
from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Query

from services.vouchers import stay_claims
from services.vouchers.schemas import StayClaimDraftIn, StayClaimOut
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["institutional stays"])


@router.post("/stay-claims/draft", response_model=list[StayClaimOut],
             summary="起草某月的机构托养床日结算单（月份结束后；重复起草结果不变）")
async def post_stay_claims_draft(body: StayClaimDraftIn, ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.transaction() as session:
        return await stay_claims.draft_claims(session, principal=principal, month=body.month,
                                              district_code=body.district_code, now=ctx.now())


@router.get("/stay-claims", response_model=list[StayClaimOut], summary="机构托养床日结算单")
async def get_stay_claims(ctx: Ctx, principal: CurrentPrincipal, month: str | None = Query(None, max_length=7),
                          provider_id: UUID | None = None,
                          state: Literal["drafted", "confirmed", "settled"] | None = None) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await stay_claims.list_claims(session, principal=principal, month=month, provider_id=provider_id,
                                             state=state)


@router.get("/stay-claims/{claim_id}", response_model=StayClaimOut, summary="一张床日结算单")
async def get_stay_claim(claim_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await stay_claims.get_claim(session, principal=principal, claim_id=claim_id)


@router.post("/stay-claims/{claim_id}/confirm", response_model=StayClaimOut, summary="机构确认床日结算单")
async def confirm_stay_claim(claim_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await stay_claims.confirm_claim(session, principal=principal, claim_id=claim_id, now=ctx.now())


@router.post("/stay-claims/{claim_id}/approve", response_model=StayClaimOut,
             summary="民政审核床日结算单并结算（核销机构托养券）")
async def approve_stay_claim(claim_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await stay_claims.approve_claim(session, principal=principal, claim_id=claim_id, now=ctx.now())
