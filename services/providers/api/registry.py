"""Routes of the provider registry: applications, review (approve, reject, suspend, reinstate),
star rating, history, service area and qualification documents. A route parses, authorises (in
the use case's query), calls one use case in one transaction, then tells the search index about
the change once it has committed."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder

from services.providers import registry
from services.providers.runtime import Runtime
from services.providers.schemas import (
    DocumentIn,
    DocumentOut,
    DocumentsOut,
    HistoryEntry,
    ProviderApplication,
    ProviderKind,
    ProviderOut,
    ProviderStatus,
    ReasonIn,
    ServiceArea,
    StarRatingIn,
)
from shared.app import Ctx, CurrentPrincipal, IdempotencyKey, PageOffset
from shared.city import local_day
from shared.idempotency import run_idempotent

router = APIRouter(tags=["providers"])


@router.post("/providers", status_code=201, response_model=ProviderOut, summary="服务商入驻申请")
async def post_provider(body: ProviderApplication, ctx: Ctx, principal: CurrentPrincipal, runtime: Runtime,
                        idempotency_key: IdempotencyKey) -> dict:
    asked = body.model_dump(mode="json")  # the request as sent: what a replay must match
    found = await runtime.locate(body.lat, body.lon, body.address)
    if found is not None:
        body = body.model_copy(update={"lat": found.lat, "lon": found.lon})
    credit_code = registry.check_application(body)  # 422 with every field's reason; nothing written
    now = ctx.now()

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
                                             status=status, kind=kind, limit=limit, offset=offset,
                                             today=local_day(ctx.now()))


@router.get("/providers/{provider_id}", response_model=ProviderOut, summary="服务商信息")
async def get_provider(provider_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await registry.get_provider(session, principal=principal, provider_id=provider_id,
                                           today=local_day(ctx.now()))


def _status_route(action: str, summary: str) -> None:
    async def change(provider_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal, runtime: Runtime,
                     body: ReasonIn | None = None) -> dict:
        async with ctx.db.transaction() as session:
            answer = await registry.change_status(session, principal=principal, provider_id=provider_id, action=action,
                                                  reason=body.reason if body else None, now=ctx.now())
        await runtime.reindex(provider_id)
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
                                              star_rating=body.star_rating, reason=body.reason, now=ctx.now())


@router.get("/providers/{provider_id}/history", response_model=list[HistoryEntry], summary="状态变更记录")
async def get_history(provider_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await registry.history(session, principal=principal, provider_id=provider_id)


@router.put("/providers/{provider_id}/service-area", response_model=ServiceArea, summary="设置服务范围（半径和/或街道）")
async def put_service_area(provider_id: uuid.UUID, body: ServiceArea, ctx: Ctx, principal: CurrentPrincipal,
                           runtime: Runtime) -> dict:
    async with ctx.db.transaction() as session:
        answer = await registry.set_service_area(session, principal=principal, provider_id=provider_id,
                                                 radius_m=body.radius_m, streets=body.streets, now=ctx.now())
    await runtime.reindex(provider_id)
    return answer


# ---- qualification documents -------------------------------------------------------------------

@router.post("/providers/{provider_id}/documents", status_code=201, response_model=DocumentOut,
             summary="上传资质文件（续期即上传新的一份）")
async def post_document(provider_id: uuid.UUID, body: DocumentIn, ctx: Ctx, principal: CurrentPrincipal,
                        runtime: Runtime) -> dict:
    async with ctx.db.transaction() as session:
        answer = await registry.add_document(session, principal=principal, provider_id=provider_id, body=body,
                                             now=ctx.now())
    await runtime.reindex(provider_id)
    return answer


@router.get("/providers/{provider_id}/documents", response_model=DocumentsOut, summary="资质文件及是否齐全有效")
async def get_documents(provider_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return await registry.list_documents(session, principal=principal, provider_id=provider_id,
                                             today=local_day(ctx.now()))


@router.get("/documents/expiring", response_model=list[DocumentOut], summary="即将到期和已过期的资质文件")
async def get_expiring(ctx: Ctx, principal: CurrentPrincipal,
                       within_days: int = Query(30, ge=0, le=3650)) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await registry.expiring_documents(session, principal=principal, within_days=within_days,
                                                 today=local_day(ctx.now()))
