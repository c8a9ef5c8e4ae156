"""HTTP routes of elder records and the personal-data access log.

Each route opens exactly one transaction and hands it to one use case; the gateway serves these
paths under /api/assessment/…. Roles and ownership are decided in the use cases (`access.py`).
"""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query

from services.assessment import elders
from services.assessment.runtime import Runtime
from services.assessment.schemas import AccessLogPage, AssignmentIn, AssignmentOut, ElderIn, ElderOut, ElderPage, ElderPatch
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey
from shared.idempotency import run_idempotent

router = APIRouter(tags=["assessment"])
PageNo = Query(1, ge=1)
PageSize = Query(20, ge=1, le=100)


@router.post("/elders", status_code=201, response_model=ElderOut, summary="登记老人档案（身份证号重复返回 409）")
async def register_elder(body: ElderIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                         idempotency_key: IdempotencyKey) -> dict:
    now = ctx.now()

    async def work(session):
        return 201, await elders.register_elder(session, runtime=rt, principal=principal, fields=body.model_dump(),
                                                now=now)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key, scope=f"{principal.user_id}:POST:/elders",
                                        body=body.model_dump(mode="json"), work=work)
    return answer


@router.get("/elders", response_model=ElderPage, summary="老人档案列表（个人信息始终脱敏）")
async def list_elders(ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                      district_code: str | None = Query(None, max_length=6),
                      street: str | None = Query(None, max_length=50), special_hardship: bool | None = None,
                      q: str | None = Query(None, max_length=50, description="姓名片段、身份证号或手机号"),
                      page: int = PageNo, page_size: int = PageSize) -> dict:
    async with ctx.db.sessions() as session:
        return await elders.list_elders(session, runtime=rt, principal=principal, district_code=district_code,
                                        street=street, special_hardship=special_hardship, q=q, page=page,
                                        page_size=page_size, now=ctx.now())


@router.get("/elders/{elder_id}", response_model=ElderOut,
            summary="老人档案（按角色显示完整身份证号和电话，每次完整显示都记入访问日志）")
async def read_elder(elder_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await elders.read_elder(session, runtime=rt, principal=principal, elder_id=elder_id,
                                       route=f"GET /elders/{elder_id}", now=ctx.now())


@router.get("/elders/{elder_id}/emergency-contacts",
            summary="老人的紧急联系人及完整电话（仅供订单服务在紧急呼叫时发短信；每次读取记入访问日志）")
async def emergency_contacts(elder_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    """Service-to-service (orders texts the contacts of an elder who raised an alarm); every user
    role but the system administrator is refused."""
    async with ctx.db.transaction() as session:
        return await elders.emergency_contacts(session, runtime=rt, principal=principal, elder_id=elder_id,
                                               route=f"GET /elders/{elder_id}/emergency-contacts", now=ctx.now())


@router.patch("/elders/{elder_id}", response_model=ElderOut, summary="修改老人档案（发布 youfu.elder.updated.v1）")
async def update_elder(elder_id: UUID, body: ElderPatch, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    changes = body.model_dump(exclude_unset=True)
    async with ctx.db.transaction() as session:
        return await elders.update_elder(session, runtime=rt, principal=principal, elder_id=elder_id,
                                         changes=changes, now=ctx.now())


@router.post("/elders/{elder_id}/assessors", status_code=201, response_model=AssignmentOut,
             summary="为老人指派评估员（区县或市级民政）")
async def assign_assessor(elder_id: UUID, body: AssignmentIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await elders.assign_assessor(session, principal=principal, elder_id=elder_id,
                                            assessor_id=body.assessor_id, now=ctx.now())


@router.get("/elders/{elder_id}/assessors", response_model=list[AssignmentOut], summary="老人的评估员")
async def list_assessors(elder_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await elders.list_assignments(session, principal=principal, elder_id=elder_id)


@router.get("/access-log", response_model=AccessLogPage, summary="个人信息完整显示记录（系统管理员）")
async def access_log(ctx: Ctx, principal: CurrentPrincipal, elder_id: UUID | None = None,
                     user_id: str | None = Query(None, max_length=100), page: int = PageNo,
                     page_size: int = PageSize) -> dict:
    async with ctx.db.sessions() as session:
        return await elders.list_access_log(session, principal=principal, elder_id=elder_id, user_id=user_id,
                                            page=page, page_size=page_size)
