"""HTTP routes of 家庭养老床位 (one transaction each; setting up, recording a device and opening
take an Idempotency-Key). Who may do what is decided in the use cases (`access.py`)."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Query

from services.assessment import home_beds
from services.assessment.api.elders import PageNo, PageSize
from services.assessment.runtime import Runtime
from services.assessment.schemas import DeviceIn, HomeBedIn, HomeBedOut, HomeBedPage, ReasonIn
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey
from shared.idempotency import run_idempotent

router = APIRouter(tags=["assessment"])


@router.post("/elders/{elder_id}/home-beds", status_code=201, response_model=HomeBedOut,
             summary="申请家庭养老床位：床位进入筹备中，并起草家庭养老床位护理计划")
async def create_bed(elder_id: UUID, body: HomeBedIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                     idempotency_key: IdempotencyKey) -> dict:
    now = ctx.now()

    async def work(session):
        return 201, await home_beds.create_bed(session, runtime=rt, principal=principal, elder_id=elder_id,
                                               fields=body.model_dump(), now=now)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key,
                                        scope=f"{principal.user_id}:POST:/elders/{elder_id}/home-beds",
                                        body=body.model_dump(mode="json"), work=work)
    return answer


@router.get("/home-beds", response_model=HomeBedPage, summary="家庭养老床位列表（民政；筹备中的列出开床还缺什么）")
async def list_beds(ctx: Ctx, principal: CurrentPrincipal, district_code: str | None = Query(None, max_length=6),
                    state: str | None = Query(None, max_length=20), page: int = PageNo,
                    page_size: int = PageSize) -> dict:
    async with ctx.db.sessions() as session:
        return await home_beds.list_beds(session, principal=principal, district_code=district_code, state=state,
                                         page=page, page_size=page_size, now=ctx.now())


@router.get("/home-beds/{bed_id}", response_model=HomeBedOut, summary="一张家庭养老床位")
async def read_bed(bed_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await home_beds.read_bed(session, principal=principal, bed_id=bed_id, now=ctx.now())


@router.post("/home-beds/{bed_id}/devices", response_model=HomeBedOut, summary="登记已安装的智能设备")
async def add_device(bed_id: UUID, body: DeviceIn, ctx: Ctx, principal: CurrentPrincipal,
                     idempotency_key: IdempotencyKey) -> dict:
    now = ctx.now()

    async def work(session):
        return 200, await home_beds.add_device(session, principal=principal, bed_id=bed_id,
                                               fields=body.model_dump(), now=now)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key,
                                        scope=f"{principal.user_id}:POST:/home-beds/{bed_id}/devices",
                                        body=body.model_dump(mode="json"), work=work)
    return answer


@router.post("/home-beds/{bed_id}/waiver", response_model=HomeBedOut, summary="登记免于适老化改造（民政）")
async def waive(bed_id: UUID, body: ReasonIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await home_beds.waive_adaptation(session, principal=principal, bed_id=bed_id, reason=body.reason,
                                                now=ctx.now())


@router.post("/home-beds/{bed_id}/open", response_model=HomeBedOut,
             summary="开设家庭养老床位（民政；条件不全返回 409 并列出缺少的条件）")
async def open_bed(bed_id: UUID, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal,
                   idempotency_key: IdempotencyKey) -> dict:
    now = ctx.now()

    async def work(session):
        return 200, await home_beds.open_bed(session, runtime=rt, principal=principal, bed_id=bed_id, now=now)

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key,
                                        scope=f"{principal.user_id}:POST:/home-beds/{bed_id}/open", body=None,
                                        work=work)
    return answer


@router.post("/home-beds/{bed_id}/close", response_model=HomeBedOut, summary="撤销家庭养老床位（民政）")
async def close_bed(bed_id: UUID, body: ReasonIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await home_beds.close_bed(session, runtime=rt, principal=principal, bed_id=bed_id,
                                         reason=body.reason, now=ctx.now())
