"""HTTP routes of the providers service: parse, authorise (in the use case's query), call one use
case in one transaction, then tell the search index about the change once it has committed."""
from __future__ import annotations

import logging
import time
import uuid
from typing import Annotated
from datetime import date, datetime

from fastapi import APIRouter, Depends, Path, Query
from fastapi.encoders import jsonable_encoder

from services.providers import catalogue, domain, registry, staff
from services.providers.geocoding import NOT_RECOGNISED, GeocodeResult, Geocoder
from services.providers.schemas import (CandidatesOut, CaregiverIn, CaregiverOut, CaregiverPatch, CatalogueItemIn,
                                        CatalogueItemOut, CatalogueItemPatch, DocumentIn, DocumentOut, DocumentsOut,
                                        Gender, GeocodeOut, HistoryEntry, ProviderApplication, ProviderKind,
                                        ProviderOut, ProviderStatus, ReasonIn, ServiceArea, ServiceItemIn,
                                        ServiceItemOut, StarRatingIn, VoucherKind)
from services.providers.search import CandidateSearch
from services.providers.service import as_uuid, current_time
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey, PageOffset
from shared.auth import Principal, require_role
from shared.errors import FieldError, Invalid, NotFound
from shared.idempotency import run_idempotent

router = APIRouter(tags=["providers"])
log = logging.getLogger("youfu.providers.api")


def today(ctx) -> date:
    return domain.local_day(current_time(ctx))


def search_of(ctx) -> CandidateSearch:
    return ctx.extras["search"]


async def locate(ctx, lat: float | None, lon: float | None, address: str | None) -> GeocodeResult | None:
    """A point for a body that gave an address but neither coordinate (None otherwise, or when
    the address is not recognised: the use case then names the field to fix)."""
    if lat is not None or lon is not None or not address:
        return None
    geocoder: Geocoder = ctx.extras["geocoder"]
    return await geocoder.geocode(address)


async def reindex(ctx, provider_id: uuid.UUID) -> None:
    """Show a committed change in this process's candidates at once. If that fails the change
    still stands (it is in the database) and the periodic re-read picks it up: log, don't fail."""
    try:
        await search_of(ctx).refresh_provider(provider_id)
    except Exception:
        log.exception("could not refresh provider %s in the candidate index", provider_id)


# ---- the city's standard catalogue -------------------------------------------------------------

@router.get("/service-items", response_model=list[ServiceItemOut], summary="标准服务目录（含指导价）")
async def get_service_items(ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await catalogue.list_service_items(session)


@router.get("/service-items/{code}", response_model=ServiceItemOut, summary="标准服务目录中的一项")
async def get_service_item(code: str, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return catalogue.service_item_view(await catalogue.standard_item(session, code))


@router.put("/service-items/{code}", response_model=ServiceItemOut, summary="新增或修改标准服务项目（管理员）")
async def put_service_item(body: ServiceItemIn, ctx: Ctx, principal: CurrentPrincipal,
                           code: str = Path(pattern=r"^[a-z][a-z0-9_]{1,39}$")) -> dict:
    async with ctx.db.transaction() as session:
        return await catalogue.put_service_item(session, principal=principal, code=code, body=body,
                                                now=current_time(ctx))


# ---- providers ---------------------------------------------------------------------------------

@router.post("/providers", status_code=201, response_model=ProviderOut, summary="服务商入驻申请")
async def post_provider(body: ProviderApplication, ctx: Ctx, principal: CurrentPrincipal,
                        idempotency_key: IdempotencyKey) -> dict:
    asked = body.model_dump(mode="json")  # the request as sent: what a replay must match
    found = await locate(ctx, body.lat, body.lon, body.address)
    if found is not None:
        body = body.model_copy(update={"lat": found.lat, "lon": found.lon})
    credit_code = registry.check_application(body)  # 422 with every field's reason; nothing written
    now = current_time(ctx)

    async def work(session):
        answer = await registry.apply(session, principal=principal, body=body, credit_code=credit_code, now=now)
        return 201, jsonable_encoder(answer | {"geocoded": found.view() if found else None})

    _, answer, _ = await run_idempotent(ctx.db, key=idempotency_key, scope=f"{principal.user_id}:POST:/providers",
                                        body=asked, work=work)
    return answer


@router.get("/providers", response_model=list[ProviderOut], summary="服务商列表（区县民政只看本区县）")
async def get_providers(ctx: Ctx, principal: CurrentPrincipal,
                        district_code: str | None = Query(None, max_length=12),
                        status: ProviderStatus | None = None, kind: ProviderKind | None = None,
                        limit: int = Query(100, ge=1, le=500), offset: PageOffset = 0) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await registry.list_providers(session, principal=principal, district_code=district_code,
                                             status=status, kind=kind, limit=limit, offset=offset, today=today(ctx))


@router.get("/providers/{provider_id}", response_model=ProviderOut, summary="服务商信息")
async def get_provider(provider_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await registry.get_provider(session, principal=principal, provider_id=provider_id, today=today(ctx))


def _status_route(action: str, summary: str) -> None:
    async def change(provider_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal,
                     body: ReasonIn | None = None) -> dict:
        async with ctx.db.transaction() as session:
            answer = await registry.change_status(session, principal=principal, provider_id=provider_id, action=action,
                                                  reason=body.reason if body else None, now=current_time(ctx))
        await reindex(ctx, provider_id)
        return answer

    router.add_api_route(f"/providers/{{provider_id}}/{action}", change, methods=["POST"], response_model=ProviderOut,
                         summary=summary, name=f"provider_{action}")


for _action, _summary in (("approve", "审核通过（本区县民政、市级、管理员）"), ("reject", "驳回申请"),
                          ("suspend", "暂停接单"), ("reinstate", "恢复接单")):
    _status_route(_action, _summary)


@router.put("/providers/{provider_id}/star-rating", response_model=ProviderOut, summary="评定星级（民政）")
async def put_star_rating(provider_id: uuid.UUID, body: StarRatingIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        return await registry.set_star_rating(session, principal=principal, provider_id=provider_id,
                                              star_rating=body.star_rating, reason=body.reason, now=current_time(ctx))


@router.get("/providers/{provider_id}/history", response_model=list[HistoryEntry], summary="状态变更记录")
async def get_history(provider_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await registry.history(session, principal=principal, provider_id=provider_id)


@router.put("/providers/{provider_id}/service-area", response_model=ServiceArea, summary="设置服务范围（半径和/或街道）")
async def put_service_area(provider_id: uuid.UUID, body: ServiceArea, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        answer = await registry.set_service_area(session, principal=principal, provider_id=provider_id,
                                                 radius_m=body.radius_m, streets=body.streets, now=current_time(ctx))
    await reindex(ctx, provider_id)
    return answer


# ---- qualification documents -------------------------------------------------------------------

@router.post("/providers/{provider_id}/documents", status_code=201, response_model=DocumentOut,
             summary="上传资质文件（续期即上传新的一份）")
async def post_document(provider_id: uuid.UUID, body: DocumentIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        answer = await registry.add_document(session, principal=principal, provider_id=provider_id, body=body,
                                             now=current_time(ctx))
    await reindex(ctx, provider_id)
    return answer


@router.get("/providers/{provider_id}/documents", response_model=DocumentsOut, summary="资质文件及是否齐全有效")
async def get_documents(provider_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await registry.list_documents(session, principal=principal, provider_id=provider_id, today=today(ctx))


@router.get("/documents/expiring", response_model=list[DocumentOut], summary="即将到期和已过期的资质文件")
async def get_expiring(ctx: Ctx, principal: CurrentPrincipal,
                       within_days: int = Query(30, ge=0, le=3650)) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await registry.expiring_documents(session, principal=principal, within_days=within_days,
                                                 today=today(ctx))


# ---- a provider's catalogue --------------------------------------------------------------------

@router.get("/providers/{provider_id}/catalogue", response_model=list[CatalogueItemOut], summary="服务商的服务项目")
async def get_catalogue(provider_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await catalogue.list_catalogue(session, principal=principal, provider_id=provider_id)


@router.post("/providers/{provider_id}/catalogue", status_code=201, response_model=CatalogueItemOut,
             summary="新增服务项目（可用券的价格不得高于指导价）")
async def post_catalogue_item(provider_id: uuid.UUID, body: CatalogueItemIn, ctx: Ctx,
                              principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        answer = await catalogue.add_item(session, principal=principal, provider_id=provider_id, body=body,
                                          now=current_time(ctx))
    await reindex(ctx, provider_id)
    return answer


@router.patch("/providers/{provider_id}/catalogue/{item_id}", response_model=CatalogueItemOut, summary="修改服务项目")
async def patch_catalogue_item(provider_id: uuid.UUID, item_id: uuid.UUID, body: CatalogueItemPatch, ctx: Ctx,
                               principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        answer = await catalogue.patch_item(session, principal=principal, provider_id=provider_id, item_id=item_id,
                                            body=body, now=current_time(ctx))
    await reindex(ctx, provider_id)
    return answer


# ---- caregivers --------------------------------------------------------------------------------

@router.get("/providers/{provider_id}/caregivers", response_model=list[CaregiverOut], summary="护理员列表")
async def get_caregivers(provider_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal,
                         status: str | None = Query(None, max_length=20)) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await staff.list_caregivers(session, principal=principal, provider_id=provider_id, status=status,
                                           today=today(ctx))


@router.post("/providers/{provider_id}/caregivers", status_code=201, response_model=CaregiverOut,
             summary="登记护理员（邻里互助点登记志愿者）")
async def post_caregiver(provider_id: uuid.UUID, body: CaregiverIn, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    found = await locate(ctx, body.base_lat, body.base_lon, body.base_address)
    if found is not None:
        body = body.model_copy(update={"base_lat": found.lat, "base_lon": found.lon})
    async with ctx.db.transaction() as session:
        answer = await staff.add_caregiver(session, principal=principal, provider_id=provider_id, body=body,
                                           now=current_time(ctx))
    await reindex(ctx, provider_id)
    return answer | {"geocoded": found.view() if found else None}


@router.get("/caregivers/{caregiver_id}", response_model=CaregiverOut, summary="护理员信息（本服务商）")
async def get_caregiver(caregiver_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await staff.get_caregiver(session, principal=principal, caregiver_id=caregiver_id, today=today(ctx))


@router.patch("/caregivers/{caregiver_id}", response_model=CaregiverOut, summary="修改护理员信息或状态")
async def patch_caregiver(caregiver_id: uuid.UUID, body: CaregiverPatch, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.transaction() as session:
        answer = await staff.patch_caregiver(session, principal=principal, caregiver_id=caregiver_id, body=body,
                                             now=current_time(ctx))
    await reindex(ctx, uuid.UUID(answer["provider_id"]))
    return answer


# ---- geocoding ---------------------------------------------------------------------------------

async def geocoding_staff(principal: CurrentPrincipal) -> Principal:
    """Staff who record addresses only: with a map provider's key set, each call spends the city's
    quota. A dependency, so a refused role is refused before its query is even read."""
    require_role(principal, "provider_admin", "assessor", "officer", "city_officer", "admin")
    return principal


@router.get("/geocode", response_model=GeocodeOut, summary="按地址估算位置（WGS-84；内置地名表为近似位置）",
            responses={404: {"description": "无法识别这个地址"}})
async def get_geocode(ctx: Ctx, principal: Annotated[Principal, Depends(geocoding_staff)],
                      address: str = Query(..., min_length=2, max_length=300, description="地址")) -> dict:
    found = await locate(ctx, None, None, address)
    if found is None:
        raise NotFound(NOT_RECOGNISED, resource="address")
    return found.view()


# ---- nearest-qualified candidates (dispatch) ---------------------------------------------------

@router.get("/candidates", response_model=CandidatesOut, summary="就近合格的服务人员（派单用），按综合得分排序")
async def get_candidates(
    ctx: Ctx, principal: CurrentPrincipal,
    service_code: str = Query(..., max_length=40), lat: float = Query(...), lon: float = Query(...),
    k: int = Query(10, ge=1, le=50), exclude_providers: str | None = Query(None, max_length=4000),
    voucher_kind: VoucherKind | None = None,
    street: str | None = Query(None, max_length=100, description="老人所在街道（服务商按街道划定服务范围时用）"),
    gender: Gender | None = Query(None, description="只要这一性别的服务人员"),
    at: datetime | None = Query(None, description="服务时间：只要这时在班的服务人员"),
    previous_caregivers: str | None = Query(None, max_length=4000, description="曾为该老人服务的人员（优先）"),
) -> dict:
    require_role(principal, "service", "officer", "city_officer", "admin")
    errors = domain.location_problems(lat, lon)
    excluded, excluded_errors = _uuid_list(exclude_providers, "exclude_providers")
    previous, previous_errors = _uuid_list(previous_caregivers, "previous_caregivers")
    if at is not None and at.tzinfo is None:
        errors.append(FieldError("at", "时间需要带时区"))
    if errors + excluded_errors + previous_errors:
        raise Invalid("查询条件有误", errors=errors + excluded_errors + previous_errors)
    await _check_standard_item(ctx, service_code)
    found = search_of(ctx).candidates(service_code=service_code, lat=lat, lon=lon, k=k, exclude_providers=excluded,
                                      voucher_kind=voucher_kind, street=street, gender=gender, at=at,
                                      previous_caregivers=previous)
    return {"candidates": found}


KNOWN_ITEM_S = 60.0  # a code seen in the catalogue is trusted this long without a read


async def _check_standard_item(ctx, code: str) -> None:
    """422 for a code not in the standard catalogue. Dispatch asks for candidates once or more
    per order, always with a code it got from this catalogue, so a code found is remembered for
    a minute: that read was the only database work of a candidates call (the search is in memory)."""
    known: dict[str, float] = ctx.extras.setdefault("known_item_codes", {})
    now = time.monotonic()
    if known.get(code, 0.0) > now:
        return
    async with ctx.db.sessions() as session:
        await catalogue.standard_item(session, code, field="service_code")
    known[code] = now + KNOWN_ITEM_S


def _uuid_list(text: str | None, field: str) -> tuple[frozenset[uuid.UUID], list[FieldError]]:
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    ids = [as_uuid(p) for p in parts]
    if None in ids:
        return frozenset(), [FieldError(field, "应为逗号分隔的编号")]
    return frozenset(ids), []
