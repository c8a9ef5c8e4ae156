"""The platform's documents: the merged OpenAPI document, the AsyncAPI document of the events,
and a self-contained list of every operation."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

from gateway.runtime import Runtime
from shared.app import Ctx
from shared.asyncapi import asyncapi_document

router = APIRouter(tags=["gateway"])


@router.get("/asyncapi.json", include_in_schema=False)
async def asyncapi() -> dict:
    return asyncapi_document()


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request, ctx: Ctx, rt: Runtime) -> dict:
    app = request.app
    own = get_openapi(title=app.title, version=app.version, routes=app.routes)
    return await rt.openapi.document(own, rt.http, ctx.settings)


@router.get("/docs", include_in_schema=False, response_class=HTMLResponse)
async def docs(request: Request, ctx: Ctx, rt: Runtime) -> str:
    """A self-contained list of every operation (no script from a CDN: nothing downloads at run time)."""
    doc = await openapi(request, ctx, rt)
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
