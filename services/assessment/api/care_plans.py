"""HTTP routes of care plans (one transaction each; writes a client may retry take an
Idempotency-Key). Who may do what is decided in the use cases (`access.py`)."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query

from services.assessment import care_plans
from services.assessment.api.elders import PageNo, PageSize
from services.assessment.runtime import Runtime
from services.assessment.schemas import (
    CarePlanIn,
    CarePlanOut,
    CarePlanPage,
    CarePlanUpdate,
    ConsentIn,
    ProviderOption,
    ReasonIn,
)
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey
from shared.idempotency import run_idempotent

router = APIRouter(tags=["assessment"])


@router.post("/elders/{elder_id}/care-plans", status_code=201, response_model=CarePlanOut,
             summary="起草护理计划（按能力等级从政策表起草，或给出条目；没有定稿评估返回 409）")
async def create_plan(elder_id: UUID, body: CarePlanIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                      idempotency_key: IdempotencyKey) -> dict:
    now = ctx.now()

    async def work(session):
        return 201, await care_plans.create_plan(session, runtime=rt, principal=principal, elder_id=elder_id,
                                                 fields=body.model_dump(), now=now)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key,
                                        scope=f"{principal.user_id}:POST:/elders/{elder_id}/care-plans",
                                        body=body.model_dump(mode="json"), work=work)
    return answer


@router.get("/elders/{elder_id}/care-plans", response_model=list[CarePlanOut],
            summary="老人的护理计划（各版本，新的在前；老人和家属看不到草稿）")
async def elder_plans(elder_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await care_plans.elder_plans(session, principal=principal, elder_id=elder_id)


@router.get("/elders/{elder_id}/care-plans/provider-options", response_model=list[ProviderOption],
            summary="某项服务可选的服务商（就近合格，按派单的综合排序）")
async def provider_options(elder_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                           service_code: str = Query(..., max_length=40),
                           voucher_kind: str | None = Query(None, max_length=20)) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await care_plans.provider_options(session, runtime=rt, principal=principal, elder_id=elder_id,
                                                 service_code=service_code, voucher_kind=voucher_kind)


@router.get("/care-plans", response_model=CarePlanPage, summary="按状态列出护理计划（民政；如待复核的计划）")
async def list_plans(ctx: Ctx, principal: CurrentPrincipal, state: str | None = Query(None, max_length=20),
                     district_code: str | None = Query(None, max_length=6), page: int = PageNo,
                     page_size: int = PageSize) -> dict:
    async with ctx.db.sessions() as session:
        return await care_plans.list_plans(session, principal=principal, state=state, district_code=district_code,
                                           page=page, page_size=page_size)


@router.get("/care-plans/{plan_id}", response_model=CarePlanOut, summary="一份护理计划")
async def read_plan(plan_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await care_plans.read_plan(session, principal=principal, plan_id=plan_id)


@router.put("/care-plans/{plan_id}", response_model=CarePlanOut, summary="修改护理计划草稿（整份替换条目；提交后 409）")
async def update_plan(plan_id: UUID, body: CarePlanUpdate, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await care_plans.update_plan(session, runtime=rt, principal=principal, plan_id=plan_id,
                                            fields=body.model_dump(), now=ctx.now())


@router.post("/care-plans/{plan_id}/submit", response_model=CarePlanOut,
             summary="提交老人确认：按开始日期所在月份计算服务次数，由服务券服务计算费用")
async def submit_plan(plan_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                      idempotency_key: IdempotencyKey) -> dict:
    now = ctx.now()

    async def work(session):
        return 200, await care_plans.submit_plan(session, runtime=rt, principal=principal, plan_id=plan_id, now=now)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key,
                                        scope=f"{principal.user_id}:POST:/care-plans/{plan_id}/submit", body=None,
                                        work=work)
    return answer


@router.post("/care-plans/{plan_id}/consent", response_model=CarePlanOut,
             summary="确认护理计划（老人或家属在应用内；民政工作人员当面或电话代为确认）：计划生效，原计划被替代")
async def consent_plan(plan_id: UUID, body: ConsentIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                       idempotency_key: IdempotencyKey) -> dict:
    now = ctx.now()

    async def work(session):
        return 200, await care_plans.consent_plan(session, runtime=rt, principal=principal, plan_id=plan_id,
                                                  method=body.method, accepts_self_pay=body.accepts_self_pay,
                                                  given_by_name=body.given_by_name, now=now)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key,
                                        scope=f"{principal.user_id}:POST:/care-plans/{plan_id}/consent",
                                        body=body.model_dump(mode="json"), work=work)
    return answer


@router.post("/care-plans/{plan_id}/end", response_model=CarePlanOut, summary="终止护理计划（民政）")
async def end_plan(plan_id: UUID, body: ReasonIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await care_plans.end_plan(session, runtime=rt, principal=principal, plan_id=plan_id,
                                         reason=body.reason, now=ctx.now())
