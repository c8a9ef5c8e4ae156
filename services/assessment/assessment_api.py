"""HTTP routes of capability assessments and the reassessment-due list (one transaction each)."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query

from services.assessment import assessment_service
from services.assessment.api import PageNo, PageSize, runtime
from services.assessment.schemas import AssessmentIn, AssessmentOut, AssessmentUpdate, DuePage
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey
from shared.idempotency import run_idempotent

router = APIRouter(tags=["assessment"])


@router.post("/elders/{elder_id}/assessments", status_code=201, response_model=AssessmentOut,
             summary="新建评估草稿（评估员；可只填部分条目）")
async def create_assessment(elder_id: UUID, body: AssessmentIn, ctx: Ctx, principal: CurrentPrincipal,
                            idempotency_key: IdempotencyKey) -> dict:
    rt = runtime(ctx)

    async def work(session):
        return 201, await assessment_service.create_assessment(session, principal=principal, elder_id=elder_id,
                                                               fields=body.model_dump(), rt=rt)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key,
                                        scope=f"{principal.user_id}:POST:/elders/{elder_id}/assessments",
                                        body=body.model_dump(mode="json"), work=work)
    return answer


@router.get("/elders/{elder_id}/assessments", response_model=list[AssessmentOut],
            summary="老人的评估记录（老人和家属只看到已定稿的）")
async def list_assessments(elder_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await assessment_service.history(session, principal=principal, elder_id=elder_id)


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut, summary="一份评估")
async def read_assessment(assessment_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await assessment_service.get_assessment(session, principal=principal, assessment_id=assessment_id)


@router.put("/assessments/{assessment_id}", response_model=AssessmentOut,
            summary="保存评估草稿（整份替换；签名后不能再改，返回 409）")
async def update_assessment(assessment_id: UUID, body: AssessmentUpdate, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await assessment_service.update_draft(session, principal=principal, assessment_id=assessment_id,
                                                     fields=body.model_dump(), rt=runtime(ctx))


@router.post("/assessments/{assessment_id}/sign", response_model=AssessmentOut,
             summary="评估员签名：第一位签名，第二位不同的评估员签名后定稿并发布 youfu.assessment.completed.v1")
async def sign_assessment(assessment_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await assessment_service.sign(session, principal=principal, assessment_id=assessment_id,
                                             rt=runtime(ctx))


@router.get("/reassessments-due", response_model=DuePage, summary="待评估和到期复评的老人（按区县）")
async def reassessments_due(ctx: Ctx, principal: CurrentPrincipal,
                            district_code: str | None = Query(None, max_length=6),
                            page: int = PageNo, page_size: int = PageSize) -> dict:
    async with ctx.db.sessions() as session:
        return await assessment_service.reassessments_due(session, principal=principal, district_code=district_code,
                                                          rt=runtime(ctx), page=page, page_size=page_size)
