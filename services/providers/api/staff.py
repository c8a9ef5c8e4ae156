"""Routes of the caregivers (and neighbour volunteers) of a provider; a change shows in this
process's candidates once committed."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from services.providers import staff
from services.providers.runtime import Runtime
from services.providers.schemas import CaregiverIn, CaregiverOut, CaregiverPatch
from shared.app import Ctx, CurrentPrincipal
from shared.city import local_day

router = APIRouter(tags=["providers"])


@router.get("/providers/{provider_id}/caregivers", response_model=list[CaregiverOut], summary="护理员列表")
async def get_caregivers(provider_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal,
                         status: str | None = Query(None, max_length=20)) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await staff.list_caregivers(session, principal=principal, provider_id=provider_id, status=status,
                                           today=local_day(ctx.now()))


@router.post("/providers/{provider_id}/caregivers", status_code=201, response_model=CaregiverOut,
             summary="登记护理员（邻里互助点登记志愿者）")
async def post_caregiver(provider_id: uuid.UUID, body: CaregiverIn, ctx: Ctx, principal: CurrentPrincipal,
                         runtime: Runtime) -> dict:
    found = await runtime.locate(body.base_lat, body.base_lon, body.base_address)
    if found is not None:
        body = body.model_copy(update={"base_lat": found.lat, "base_lon": found.lon})
    async with ctx.db.transaction() as session:
        answer = await staff.add_caregiver(session, principal=principal, provider_id=provider_id, body=body,
                                           now=ctx.now())
    await runtime.reindex(provider_id)
    return answer | {"geocoded": found.view() if found else None}


@router.get("/caregivers/{caregiver_id}", response_model=CaregiverOut, summary="护理员信息（本服务商）")
async def get_caregiver(caregiver_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await staff.get_caregiver(session, principal=principal, caregiver_id=caregiver_id,
                                         today=local_day(ctx.now()))


@router.patch("/caregivers/{caregiver_id}", response_model=CaregiverOut, summary="修改护理员信息或状态")
async def patch_caregiver(caregiver_id: uuid.UUID, body: CaregiverPatch, ctx: Ctx, principal: CurrentPrincipal,
                          runtime: Runtime) -> dict:
    async with ctx.db.transaction() as session:
        answer = await staff.patch_caregiver(session, principal=principal, caregiver_id=caregiver_id, body=body,
                                             now=ctx.now())
    await runtime.reindex(uuid.UUID(answer["provider_id"]))
    return answer
