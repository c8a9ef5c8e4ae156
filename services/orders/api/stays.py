"""Routes of institutional stays: applications (apply, the desk accepts with a bed or declines),
admission, leave, return, transfer, discharge, and reading them back. The routes that call
providers about a bed run their use case through `stays.in_transaction` (the bed is given back if
the transaction does not commit)."""
from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Query

from services.orders import stays
from services.orders.runtime import Runtime
from services.orders.schemas import (
    StayAcceptIn,
    StayAdmitIn,
    StayApplicationIn,
    StayApplicationOut,
    StayDeclineIn,
    StayDischargeIn,
    StayLeaveIn,
    StayOnIn,
    StayOut,
    StayTransferIn,
)
from shared.app import Ctx, CurrentPrincipal, PageOffset

router = APIRouter(tags=["stays"])
ApplicationStatus = Literal["submitted", "accepted", "declined", "admitted"]
StayStatusName = Literal["admitted", "on_leave", "back", "transferred", "discharged", "ended_by_death"]


@router.post("/stay-applications", status_code=201, response_model=StayApplicationOut,
             summary="申请入住养老机构（老人本人、绑定家属，或民政人员代本辖区老人申请）")
async def apply(body: StayApplicationIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        return await stays.apply_for_stay(s, rt=rt, principal=principal, elder_id=body.elder_id,
                                          provider_id=body.provider_id, care_level=body.care_level, kind=body.kind,
                                          planned_start=body.planned_start, planned_end=body.planned_end,
                                          note=body.note, now=ctx.now())


@router.post("/stay-applications/{application_id}/accept", response_model=StayApplicationOut,
             summary="机构接收入住申请并预留床位（床位已被占用或预留则 409）")
async def accept(application_id: UUID, body: StayAcceptIn, ctx: Ctx, rt: Runtime,
                 principal: CurrentPrincipal) -> dict:
    return await stays.in_transaction(rt, lambda s, beds: stays.accept_application(
        s, beds=beds, principal=principal, application_id=application_id, bed_id=body.bed_id, now=ctx.now()))


@router.post("/stay-applications/{application_id}/decline", response_model=StayApplicationOut,
             summary="机构婉拒入住申请（已预留的床位随之释放）")
async def decline(application_id: UUID, body: StayDeclineIn, ctx: Ctx, rt: Runtime,
                  principal: CurrentPrincipal) -> dict:
    return await stays.in_transaction(rt, lambda s, beds: stays.decline_application(
        s, beds=beds, principal=principal, application_id=application_id, reason=body.reason, now=ctx.now()))


@router.get("/stay-applications", response_model=list[StayApplicationOut], summary="入住申请列表（按角色只含可见的）")
async def list_applications(ctx: Ctx, principal: CurrentPrincipal, elder_id: UUID | None = None,
                            provider_id: UUID | None = None, status: ApplicationStatus | None = None,
                            limit: int = Query(50, ge=1, le=500), offset: PageOffset = 0) -> list[dict]:
    async with ctx.db.sessions() as s:
        return await stays.list_applications(s, principal=principal, elder_id=elder_id, provider_id=provider_id,
                                             status=status, limit=limit, offset=offset)


@router.get("/stay-applications/{application_id}", response_model=StayApplicationOut,
            summary="入住申请详情（他人的返回 404）")
async def get_application(application_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as s:
        return await stays.read_application(s, principal=principal, application_id=application_id)


@router.post("/stays", status_code=201, response_model=StayOut,
             summary="办理入住（床位已占用或老人已有未结束的入住则 409）")
async def admit(body: StayAdmitIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    return await stays.in_transaction(rt, lambda s, beds: stays.admit(
        s, beds=beds, principal=principal, application_id=body.application_id, admitted_on=body.admitted_on,
        now=ctx.now()))


@router.post("/stays/{stay_id}/leave", response_model=StayOut, summary="请假外出（回家或住院；日期须在入住期间）")
async def leave(stay_id: UUID, body: StayLeaveIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        return await stays.leave(s, principal=principal, stay_id=stay_id, kind=body.kind,
                                 leave_from=body.leave_from, leave_to=body.leave_to, now=ctx.now())


@router.post("/stays/{stay_id}/return", response_model=StayOut, summary="销假返院")
async def return_(stay_id: UUID, body: StayOnIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as s:
        return await stays.return_from_leave(s, principal=principal, stay_id=stay_id, on=body.on, now=ctx.now())


@router.post("/stays/{stay_id}/transfer", response_model=StayOut, summary="转床（本机构或其他机构的床位）")
async def transfer(stay_id: UUID, body: StayTransferIn, ctx: Ctx, rt: Runtime, principal: CurrentPrincipal) -> dict:
    return await stays.in_transaction(rt, lambda s, beds: stays.transfer(
        s, beds=beds, principal=principal, stay_id=stay_id, bed_id=body.bed_id, on=body.on, now=ctx.now()))


@router.post("/stays/{stay_id}/discharge", response_model=StayOut, summary="出院（日期不能早于入住日期）")
async def discharge(stay_id: UUID, body: StayDischargeIn, ctx: Ctx, rt: Runtime,
                    principal: CurrentPrincipal) -> dict:
    return await stays.in_transaction(rt, lambda s, beds: stays.discharge(
        s, beds=beds, principal=principal, stay_id=stay_id, on=body.on, reason=body.reason, now=ctx.now()))


@router.get("/stays", response_model=list[StayOut], summary="入住记录列表（按角色只含可见的）")
async def list_stays(ctx: Ctx, principal: CurrentPrincipal, elder_id: UUID | None = None,
                     provider_id: UUID | None = None, status: StayStatusName | None = None,
                     open: bool = Query(False, description="只看未结束的入住"),
                     limit: int = Query(50, ge=1, le=500), offset: PageOffset = 0) -> list[dict]:
    async with ctx.db.sessions() as s:
        return await stays.list_stays(s, principal=principal, elder_id=elder_id, provider_id=provider_id,
                                      status=status, open_only=open, limit=limit, offset=offset)


@router.get("/stays/{stay_id}", response_model=StayOut, summary="入住记录详情，含请假、转床等变动（他人的返回 404）")
async def get_stay(stay_id: UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as s:
        return await stays.read_stay(s, principal=principal, stay_id=stay_id)
