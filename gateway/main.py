"""The gateway process: the only public entry. `uvicorn --factory gateway.main:create_app`."""
from __future__ import annotations

from fastapi import APIRouter, FastAPI

from gateway.proxy import make_client, services_health
from gateway.proxy import router as proxy_router
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.asyncapi import asyncapi_document
from shared.settings import Settings

docs_router = APIRouter(tags=["gateway"])


@docs_router.get("/asyncapi.json", include_in_schema=False)
async def asyncapi() -> dict:
    return asyncapi_document()


async def _open_client(ctx: ServiceContext) -> None:
    ctx.extras["http"] = make_client(ctx.settings.http_timeout_s)


async def _close_client(ctx: ServiceContext) -> None:
    await ctx.extras["http"].aclose()


def create_app(settings: Settings | None = None) -> FastAPI:
    spec = ServiceSpec(
        name="gateway", title="Youfu 有福", routers=[docs_router, proxy_router],
        on_startup=[_open_client], on_shutdown=[_close_client], health_details=services_health,
    )
    return create_service_app(spec, settings)
