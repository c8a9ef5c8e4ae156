"""HTTP routes for recovery (追缴) after a death or a move: the estimates a status list's dry run
shows as the money at stake. The recovery findings themselves are listed with the anomalies."""
from __future__ import annotations

from fastapi import APIRouter, Response

from services.vouchers import recovery
from services.vouchers.schemas import RecoveryEstimateIn, RecoveryEstimateOut
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["civil affairs"])


@router.post("/recovery-estimates", response_model=RecoveryEstimateOut,
             summary="估算老人去世或迁出之日起应追缴的代金券金额（按服务商）")
async def post_recovery_estimates(body: RecoveryEstimateIn, ctx: Ctx, principal: CurrentPrincipal) -> Response:
    async with ctx.db.transaction() as session:  # reads, through a temporary table dropped at commit
        answer = await recovery.estimate_recovery(session, principal=principal,
                                                  elders=[e.model_dump() for e in body.elders])
    return Response(answer, media_type="application/json")  # already the answer's JSON
