"""HTTP routes of return visits (回访): the monthly sample, the callers' results, the findings."""
from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response

from services.vouchers import return_visits
from services.vouchers.rules.return_visits import FindingOutcome, VisitResult
from services.vouchers.schemas import (
    FindingResolveIn,
    ReturnSampleIn,
    ReturnSampleOut,
    ReturnVisitOut,
    ServiceFindingOut,
    VisitResultIn,
)
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey
from shared.idempotency import run_idempotent

router = APIRouter(tags=["oversight"])


@router.post("/return-visit-samples", status_code=201, response_model=ReturnSampleOut,
             summary="抽取某区某月的回访样本（已抽取则返回原样本，200）")
async def post_return_sample(body: ReturnSampleIn, response: Response, ctx: Ctx, principal: CurrentPrincipal,
                             idempotency_key: IdempotencyKey) -> dict:
    now = ctx.now()

    async def work(session):
        return await return_visits.draw_return_sample(session, principal=principal, month=body.month,
                                                      district_code=body.district_code, seed=body.seed, now=now)

    status, answer, _ = await run_idempotent(ctx.db, key=idempotency_key, scope=f"{principal.user_id}:POST:/return-visit-samples",
                                             body=body.model_dump(mode="json"), work=work)
    response.status_code = status
    return answer


@router.get("/return-visit-samples", response_model=ReturnSampleOut, summary="某区某月的回访样本与结果")
async def get_return_sample(ctx: Ctx, principal: CurrentPrincipal, month: str = Query(max_length=7),
                            district_code: str | None = Query(None, max_length=12)) -> dict:
    async with ctx.db.sessions() as session:
        return await return_visits.get_return_sample(session, principal=principal, month=month,
                                                     district_code=district_code)


@router.post("/return-visits/{visit_id}/result", response_model=ReturnVisitOut,
             summary="记录回访结果（服务未发生：生成核实事项，暂扣该订单结算）")
async def post_visit_result(visit_id: UUID, body: VisitResultIn, ctx: Ctx, principal: CurrentPrincipal,
                            idempotency_key: IdempotencyKey) -> dict:
    now = ctx.now()

    async def work(session):
        return 200, await return_visits.record_visit_result(session, principal=principal, visit_id=visit_id,
                                                            result=VisitResult(body.result), note=body.note, now=now)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key,
                                        scope=f"{principal.user_id}:POST:/return-visits/{visit_id}/result",
                                        body=body.model_dump(mode="json"), work=work)
    return answer


@router.get("/service-findings", response_model=list[ServiceFindingOut], summary="回访发现的“服务未发生”核实事项")
async def get_findings(ctx: Ctx, principal: CurrentPrincipal,
                       status: Literal["open", "resolved"] | None = None) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await return_visits.list_findings(session, principal=principal, status=status)


@router.post("/service-findings/{finding_id}/resolve", response_model=ServiceFindingOut,
             summary="处理核实事项：服务已发生（恢复结算）或未发生（冲正退回）")
async def resolve_finding(finding_id: UUID, body: FindingResolveIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await return_visits.resolve_finding(session, principal=principal, finding_id=finding_id,
                                                   outcome=FindingOutcome(body.outcome), resolution=body.resolution,
                                                   now=ctx.now())
