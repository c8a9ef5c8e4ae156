"""Routes of beds: the institution's desk declares beds, sets their daily rates and takes beds out
of service; the orders service reserves, fills and frees them (`/beds/{id}/reserve|occupy|release`,
role service); anyone signed in searches for a place; officers and the city read capacity."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.providers import beds
from services.providers.access import BED_HOLDER_ROLES
from services.providers.rules.registry import location_problems
from services.providers.runtime import Runtime
from services.providers.schemas import (
    BedOut,
    BedPatch,
    BedRatesIn,
    BedRatesOut,
    BedsIn,
    BedStatus,
    CapacityOut,
    CareLevel,
    Gender,
    OccupyIn,
    PlacesOut,
    ReleaseIn,
    ReserveIn,
)
from shared.app import Ctx, CurrentPrincipal
from shared.auth import Principal, require_role
from shared.errors import Invalid

router = APIRouter(tags=["providers"])


def _bed_holder(principal: CurrentPrincipal) -> Principal:
    """The reserve/occupy/release calls are the orders service's: any other caller is refused
    before its body is read."""
    return require_role(principal, *BED_HOLDER_ROLES)


BedHolder = Annotated[Principal, Depends(_bed_holder)]


# ---- the desk ---------------------------------------------------------------------------------

@router.post("/providers/{provider_id}/beds", status_code=201, response_model=list[BedOut],
             summary="登记床位（一张或多张；仅养老机构、居家养老服务中心）")
async def post_beds(provider_id: uuid.UUID, body: BedsIn, ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.transaction() as session:
        return await beds.declare_beds(session, principal=principal, provider_id=provider_id, beds=body.beds,
                                       now=ctx.now())


@router.get("/providers/{provider_id}/beds", response_model=list[BedOut], summary="床位一览（床位看板）")
async def get_beds(provider_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal, status: BedStatus | None = None,
                   care_level: CareLevel | None = None) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await beds.list_beds(session, principal=principal, provider_id=provider_id, status=status,
                                    care_level=care_level)


@router.patch("/beds/{bed_id}", response_model=BedOut, summary="停用或恢复床位、修改房间性别")
async def patch_bed(bed_id: uuid.UUID, body: BedPatch, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await beds.patch_bed(session, principal=principal, bed_id=bed_id, body=body, now=ctx.now())


@router.put("/providers/{provider_id}/bed-rates", response_model=BedRatesOut,
            summary="设置各护理等级的床位日价格（不得高于指导价）")
async def put_bed_rates(provider_id: uuid.UUID, body: BedRatesIn, ctx: Ctx, principal: CurrentPrincipal,
                        runtime: Runtime) -> dict:
    now = ctx.now()
    async with ctx.db.transaction() as session:
        return await beds.put_bed_rates(session, principal=principal, provider_id=provider_id, rates=body.rates,
                                        policy=runtime.bed_policy(now), now=now)


@router.get("/providers/{provider_id}/bed-rates", response_model=BedRatesOut, summary="床位日价格及指导价")
async def get_bed_rates(provider_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal, runtime: Runtime) -> dict:
    async with ctx.db.sessions() as session:
        return await beds.bed_rates(session, principal=principal, provider_id=provider_id,
                                    policy=runtime.bed_policy(ctx.now()))


# ---- the orders service -----------------------------------------------------------------------

@router.post("/beds/{bed_id}/reserve", response_model=BedOut,
             summary="为入住申请预留床位（订单服务调用；床位不空闲时 409，同一申请重复预留结果相同）")
async def post_reserve(bed_id: uuid.UUID, body: ReserveIn, ctx: Ctx, principal: BedHolder) -> dict:
    async with ctx.db.transaction() as session:
        return await beds.reserve_bed(session, principal=principal, bed_id=bed_id,
                                      application_id=body.application_id, now=ctx.now())


@router.post("/beds/{bed_id}/occupy", response_model=BedOut, summary="入住：预留的床位改为已入住（订单服务调用）")
async def post_occupy(bed_id: uuid.UUID, body: OccupyIn, ctx: Ctx, principal: BedHolder) -> dict:
    async with ctx.db.transaction() as session:
        return await beds.occupy_bed(session, principal=principal, bed_id=bed_id, application_id=body.application_id,
                                     stay_id=body.stay_id, now=ctx.now())


@router.post("/beds/{bed_id}/release", response_model=BedOut,
             summary="释放床位（取消预留、出院、转出；订单服务调用）")
async def post_release(bed_id: uuid.UUID, body: ReleaseIn, ctx: Ctx, principal: BedHolder) -> dict:
    async with ctx.db.transaction() as session:
        return await beds.release_bed(session, principal=principal, bed_id=bed_id,
                                      application_id=body.application_id, stay_id=body.stay_id, now=ctx.now())


# ---- finding a place, capacity ----------------------------------------------------------------

@router.get("/bed-search", response_model=PlacesOut,
            summary="查找有空闲床位的养老机构（按距离、评分、价格排序）")
async def get_bed_search(
    ctx: Ctx, principal: CurrentPrincipal, runtime: Runtime,
    lat: float = Query(...), lon: float = Query(...),
    care_level: CareLevel = Query(..., description="self_care 自理、nursing 护理型、dementia 失智照护"),
    gender: Gender | None = Query(None, description="老人性别：只找不限性别或同性别的房间"),
    limit: int = Query(10, ge=1, le=50),
) -> dict:
    errors = location_problems(lat, lon)
    if errors:
        raise Invalid("查询条件有误", errors=errors)
    async with ctx.db.sessions() as session:
        places = await beds.search_places(session, lat=lat, lon=lon, care_level=care_level, gender=gender,
                                          limit=limit, policy=runtime.bed_policy(ctx.now()))
    return {"places": places}


@router.get("/bed-capacity", response_model=CapacityOut,
            summary="床位容量、入住与空闲（按机构、按区县），护理型床位占比对照规划目标")
async def get_bed_capacity(ctx: Ctx, principal: CurrentPrincipal, runtime: Runtime,
                           district_code: str | None = Query(None, pattern=r"^[0-9]{6}$")) -> dict:
    async with ctx.db.sessions() as session:
        return await beds.bed_capacity(session, principal=principal, district_code=district_code,
                                       policy=runtime.bed_policy(ctx.now()))
