"""Routes of the catalogues: the city's standard service items (with guide prices) and each
provider's own items; a provider's change shows in this process's candidates once committed."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Path

from services.providers import catalogue
from services.providers.runtime import Runtime
from services.providers.schemas import CatalogueItemIn, CatalogueItemOut, CatalogueItemPatch, ServiceItemIn, ServiceItemOut
from services.providers.views import service_item_view
from shared.app import Ctx, CurrentPrincipal

router = APIRouter(tags=["providers"])


@router.get("/service-items", response_model=list[ServiceItemOut], summary="标准服务目录（含指导价）")
async def get_service_items(ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await catalogue.list_service_items(session)


@router.get("/service-items/{code}", response_model=ServiceItemOut, summary="标准服务目录中的一项")
async def get_service_item(code: str, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    async with ctx.db.sessions() as session:
        return service_item_view(await catalogue.standard_item(session, code=code))


@router.put("/service-items/{code}", response_model=ServiceItemOut, summary="新增或修改标准服务项目（管理员）")
async def put_service_item(body: ServiceItemIn, ctx: Ctx, principal: CurrentPrincipal,
                           code: str = Path(pattern=r"^[a-z][a-z0-9_]{1,39}$")) -> dict:
    async with ctx.db.transaction() as session:
        return await catalogue.put_service_item(session, principal=principal, code=code, body=body,
                                                now=ctx.now())


# ---- a provider's catalogue --------------------------------------------------------------------

@router.get("/providers/{provider_id}/catalogue", response_model=list[CatalogueItemOut], summary="服务商的服务项目")
async def get_catalogue(provider_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    async with ctx.db.sessions() as session:
        return await catalogue.list_catalogue(session, principal=principal, provider_id=provider_id)


@router.post("/providers/{provider_id}/catalogue", status_code=201, response_model=CatalogueItemOut,
             summary="新增服务项目（可用券的价格不得高于指导价）")
async def post_catalogue_item(provider_id: uuid.UUID, body: CatalogueItemIn, ctx: Ctx,
                              principal: CurrentPrincipal, runtime: Runtime) -> dict:
    async with ctx.db.transaction() as session:
        answer = await catalogue.add_item(session, principal=principal, provider_id=provider_id, body=body,
                                          now=ctx.now())
    await runtime.reindex(provider_id)
    return answer


@router.patch("/providers/{provider_id}/catalogue/{item_id}", response_model=CatalogueItemOut, summary="修改服务项目")
async def patch_catalogue_item(provider_id: uuid.UUID, item_id: uuid.UUID, body: CatalogueItemPatch, ctx: Ctx,
                               principal: CurrentPrincipal, runtime: Runtime) -> dict:
    async with ctx.db.transaction() as session:
        answer = await catalogue.patch_item(session, principal=principal, provider_id=provider_id, item_id=item_id,
                                            body=body, now=ctx.now())
    await runtime.reindex(provider_id)
    return answer
