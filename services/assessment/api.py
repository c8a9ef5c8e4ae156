"""HTTP routes of elder records, instruments and the personal-data access log.

Each route opens exactly one transaction and hands it to one use case; the gateway serves these
paths under /api/assessment/…. Roles and ownership are decided in the use cases (records.py).
"""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query

from services.assessment import assessment_service, service
from services.assessment.instruments import DEFAULT_INSTRUMENT_CODE, Instrument, get_instrument, shipped_instruments
from services.assessment.schemas import (AccessLogPage, AssignmentIn, AssignmentOut, ElderIn, ElderOut, ElderPage,
                                         ElderPatch, InstrumentSummary, ScoreIn, ScoreOut)
from services.assessment.service import Runtime
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey, ServiceContext
from shared.db import utcnow
from shared.idempotency import run_idempotent

router = APIRouter(tags=["assessment"])
PageNo = Query(1, ge=1)
PageSize = Query(20, ge=1, le=100)


def runtime(ctx: ServiceContext) -> Runtime:
    clock = ctx.extras.get("clock") or utcnow
    return Runtime(cipher=ctx.extras["cipher"], source=ctx.source, now=clock(),
                   reassessment_months=ctx.extras["reassessment_months"])


@router.post("/elders", status_code=201, response_model=ElderOut, summary="登记老人档案（身份证号重复返回 409）")
async def register_elder(body: ElderIn, ctx: Ctx, principal: CurrentPrincipal, idempotency_key: IdempotencyKey) -> dict:
    rt = runtime(ctx)

    async def work(session):
        return 201, await service.register_elder(session, principal=principal, fields=body.model_dump(), rt=rt)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key, scope=f"{principal.user_id}:POST:/elders",
                                        body=body.model_dump(mode="json"), work=work)
    return answer


@router.get("/elders", response_model=ElderPage, summary="老人档案列表（个人信息始终脱敏）")
async def list_elders(ctx: Ctx, principal: CurrentPrincipal, district_code: str | None = Query(None, max_length=6),
                      street: str | None = Query(None, max_length=50), special_hardship: bool | None = None,
                      q: str | None = Query(None, max_length=50, description="姓名片段、身份证号或手机号"),
                      page: int = PageNo, page_size: int = PageSize) -> dict:
    async with ctx.db.sessions() as session:
        return await service.list_elders(session, principal=principal, rt=runtime(ctx), district_code=district_code,
                                         street=street, special_hardship=special_hardship, q=q, page=page,
                                         page_size=page_size)


@router.get("/elders/{elder_id}", response_model=ElderOut,
            summary="老人档案（按角色显示完整身份证号和电话，每次完整显示都记入访问日志）")
async def read_elder(elder_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await service.read_elder(session, principal=principal, elder_id=elder_id, rt=runtime(ctx),
                                        route=f"GET /elders/{elder_id}")


@router.patch("/elders/{elder_id}", response_model=ElderOut, summary="修改老人档案（发布 youfu.elder.updated.v1）")
async def update_elder(elder_id: UUID, body: ElderPatch, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    changes = body.model_dump(exclude_unset=True)
    async with ctx.db.transaction() as session:
        return await service.update_elder(session, principal=principal, elder_id=elder_id, changes=changes,
                                          rt=runtime(ctx))


@router.post("/elders/{elder_id}/assessors", status_code=201, response_model=AssignmentOut,
             summary="为老人指派评估员（区县或市级民政）")
async def assign_assessor(elder_id: UUID, body: AssignmentIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await service.assign_assessor(session, principal=principal, elder_id=elder_id,
                                             assessor_id=body.assessor_id, rt=runtime(ctx))


@router.get("/elders/{elder_id}/assessors", response_model=list[AssignmentOut], summary="老人的评估员")
async def list_assessors(elder_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await service.list_assignments(session, principal=principal, elder_id=elder_id)


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
    return assessment_service.score_only(code=code, items=body.items, coma=body.coma, diagnoses=body.diagnoses,
                                         risk_events_30d=body.risk_events_30d)


@router.get("/access-log", response_model=AccessLogPage, summary="个人信息完整显示记录（系统管理员）")
async def access_log(ctx: Ctx, principal: CurrentPrincipal, elder_id: UUID | None = None,
                     user_id: str | None = Query(None, max_length=100), page: int = PageNo,
                     page_size: int = PageSize) -> dict:
    async with ctx.db.sessions() as session:
        return await service.access_log(session, principal=principal, elder_id=elder_id, user_id=user_id,
                                        page=page, page_size=page_size)
