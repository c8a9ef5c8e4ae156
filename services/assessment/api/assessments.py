"""HTTP routes of capability assessments, the instruments they are scored with, and the
reassessment-due list (one transaction each)."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query

from services.assessment import assessments
from services.assessment.api.elders import PageNo, PageSize
from services.assessment.instruments import DEFAULT_INSTRUMENT_CODE, get_instrument, shipped_instruments
from services.assessment.rules.instruments import Instrument
from services.assessment.runtime import Runtime
from services.assessment.schemas import (
    AssessmentIn,
    AssessmentOut,
    AssessmentUpdate,
    DuePage,
    InstrumentSummary,
    ScoreIn,
    ScoreOut,
)
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey
from shared.idempotency import run_idempotent

router = APIRouter(tags=["assessment"])


@router.post("/elders/{elder_id}/assessments", status_code=201, response_model=AssessmentOut,
             summary="新建评估草稿（评估员；可只填部分条目）")
async def create_assessment(elder_id: UUID, body: AssessmentIn, ctx: Ctx, principal: CurrentPrincipal,
                            idempotency_key: IdempotencyKey) -> dict:
    now = ctx.now()

    async def work(session):
        return 201, await assessments.create_assessment(session, principal=principal, elder_id=elder_id,
                                                        fields=body.model_dump(), now=now)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key,
                                        scope=f"{principal.user_id}:POST:/elders/{elder_id}/assessments",
                                        body=body.model_dump(mode="json"), work=work)
    return answer


@router.get("/elders/{elder_id}/assessments", response_model=list[AssessmentOut],
            summary="老人的评估记录（老人和家属只看到已定稿的）")
async def list_assessments(elder_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await assessments.list_assessments(session, principal=principal, elder_id=elder_id)


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut, summary="一份评估")
async def read_assessment(assessment_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await assessments.read_assessment(session, principal=principal, assessment_id=assessment_id)


@router.put("/assessments/{assessment_id}", response_model=AssessmentOut,
            summary="保存评估草稿（整份替换；签名后不能再改，返回 409）")
async def update_assessment(assessment_id: UUID, body: AssessmentUpdate, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await assessments.update_draft(session, principal=principal, assessment_id=assessment_id,
                                              fields=body.model_dump(), now=ctx.now())


@router.post("/assessments/{assessment_id}/sign", response_model=AssessmentOut,
             summary="评估员签名：第一位签名，第二位不同的评估员签名后定稿并发布 youfu.assessment.completed.v1")
async def sign_assessment(assessment_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await assessments.sign_assessment(session, runtime=rt, principal=principal,
                                                 assessment_id=assessment_id, now=ctx.now())


@router.get("/reassessments-due", response_model=DuePage, summary="待评估和到期复评的老人（按区县）")
async def reassessments_due(ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                            district_code: str | None = Query(None, max_length=6),
                            page: int = PageNo, page_size: int = PageSize) -> dict:
    async with ctx.db.sessions() as session:
        return await assessments.list_reassessments_due(session, runtime=rt, principal=principal,
                                                        district_code=district_code, page=page,
                                                        page_size=page_size, now=ctx.now())


@router.get("/instruments", response_model=list[InstrumentSummary], summary="评估量表列表")
async def list_instruments(principal: CurrentPrincipal) -> list[dict]:
    return [{"code": i.code, "name": i.name, "version": i.version, "description": i.description,
             "default": i.code == DEFAULT_INSTRUMENT_CODE, "item_count": len(i.items), "max_total": i.max_total}
            for i in shipped_instruments().values()]


@router.get("/instruments/{code}", response_model=Instrument, response_model_by_alias=True,
            summary="评估量表定义：维度、条目、各分值表述、等级和等级变更规则")
async def read_instrument(code: str, principal: CurrentPrincipal) -> Instrument:
    return get_instrument(code)


@router.post("/instruments/{code}/score", response_model=ScoreOut, summary="计算得分和等级（不保存）")
async def score_instrument(code: str, body: ScoreIn, principal: CurrentPrincipal) -> dict:
    return assessments.score_only(code=code, items=body.items, coma=body.coma, diagnoses=body.diagnoses,
                                  risk_events_30d=body.risk_events_30d)
