"""The gateway process: the only public entry. `uvicorn --factory gateway.main:create_app`."""
from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

from fastapi.staticfiles import StaticFiles

from gateway import web
from gateway.auth_api import router as auth_router
from gateway.openapi_merge import MergedOpenAPI
from gateway.proxy import services_health
from gateway.proxy import router as proxy_router
from gateway.ratelimit import SlidingWindow
from gateway.sessions import SessionChecker
from shared.app import Ctx, ServiceContext, ServiceSpec, create_service_app
from shared.asyncapi import asyncapi_document
from shared.auth import TokenSigner
from shared.http import make_session
from shared.pii import PiiCipher
from shared.settings import SERVICES, Settings

docs_router = APIRouter(tags=["gateway"])


@docs_router.get("/asyncapi.json", include_in_schema=False)
async def asyncapi() -> dict:
    return asyncapi_document()


@docs_router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request, ctx: Ctx) -> dict:
    app = request.app
    own = get_openapi(title=app.title, version=app.version, routes=app.routes)
    return await ctx.extras["openapi"].document(own, ctx.extras["http"], ctx.settings)


@docs_router.get("/docs", include_in_schema=False, response_class=HTMLResponse)
async def docs(request: Request, ctx: Ctx) -> str:
    """A self-contained list of every operation (no script from a CDN: nothing downloads at run time)."""
    doc = await openapi(request, ctx)
    rows = []
    for path, item in sorted(doc["paths"].items()):
        for method, op in item.items():
            if isinstance(op, dict):
                rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{path}</code></td>"
                            f"<td>{op.get('summary', '')}</td></tr>")
    return ("<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>有福 API</title>"
            "<style>body{font:16px/1.5 sans-serif;margin:2rem}td{padding:.2rem .6rem;border-bottom:1px solid #ddd}</style>"
            "<h1>有福 Youfu API</h1><p>机器可读文档：<a href='/openapi.json'>/openapi.json</a> · 事件：<a href='/asyncapi.json'>"
            "/asyncapi.json</a></p><table>" + "".join(rows) + "</table></html>")


async def _open(ctx: ServiceContext) -> None:
    s = ctx.settings
    # health and OpenAPI fan-out: rare calls, on httpx
    ctx.extras["http"] = httpx.AsyncClient(timeout=httpx.Timeout(s.http_timeout_s, connect=2.0))
    # the proxied requests: one aiohttp pool per service
    ctx.extras["upstream"] = {service: make_session(s.http_timeout_s) for service in SERVICES}
    ctx.extras["upstream_url"] = {service: s.service_url(service) for service in SERVICES}  # read once, not per call
    ctx.extras["cipher"] = PiiCipher(s.pii_key_value)
    ctx.extras["signer"] = TokenSigner(s.private_key_pem)
    ctx.extras["sessions"] = SessionChecker(ctx.db, ctx.verifier)
    ctx.extras["login_limits"] = {
        "phone": SlidingWindow(s.login_failures_per_phone, s.login_failure_window_s),
        "address": SlidingWindow(s.login_failures_per_address, s.login_failure_window_s),
    }
    ctx.extras["write_limit"] = SlidingWindow(s.writes_per_minute, 60)
    ctx.extras["openapi"] = MergedOpenAPI()


async def _close(ctx: ServiceContext) -> None:
    await ctx.extras["http"].aclose()
    for client in ctx.extras["upstream"].values():
        await client.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    spec = ServiceSpec(
        name="gateway", title="有福 Youfu", routers=[docs_router, auth_router, proxy_router],
        on_startup=[_open], on_shutdown=[_close], health_details=services_health, own_docs=False,
    )
    app = create_service_app(spec, settings)
    app.mount("/static", StaticFiles(directory=str(web.HERE / "static")), name="static")
    app.include_router(web.router)
    return app
