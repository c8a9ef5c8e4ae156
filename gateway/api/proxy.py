"""The catch-all route to the services (`/api/{service}/…`): the session check, the write checks
(body size, JSON, the per-caller write limit), then `proxy.forward`."""
from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.proxy import forward
from gateway.runtime import GatewayRuntime, Runtime
from shared.app import Ctx
from shared.auth import Principal
from shared.errors import DomainError, NotFound, TooManyRequests
from shared.settings import SERVICES, Settings

router = APIRouter(tags=["gateway"])


class PayloadTooLarge(DomainError):
    status, code, title = 413, "payload_too_large", "内容太大"


class UnsupportedMediaType(DomainError):
    status, code, title = 415, "unsupported_media_type", "格式不支持"


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@router.api_route("/api/{service}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                  include_in_schema=False)
async def proxy(service: str, path: str, request: Request, ctx: Ctx, rt: Runtime) -> Response:
    if service not in SERVICES:
        raise NotFound(f"没有名为 {service} 的服务")
    principal = None
    if request.headers.get("authorization"):
        principal = await rt.sessions.principal(request)  # deleted users and signed-out sessions stop here
    if request.method in WRITE_METHODS:
        check_write(request, ctx.settings, rt, principal)
    return await forward(rt.upstream[service], rt.upstream_url[service], service, request, path)


def check_write(request: Request, settings: Settings, rt: GatewayRuntime, principal: Principal | None) -> None:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > settings.max_body_bytes:
        raise PayloadTooLarge(f"提交的内容太大（上限 {settings.max_body_bytes // 1024} KB）")
    ctype = request.headers.get("content-type", "")
    if length not in (None, "0") and ctype and not ctype.startswith("application/json"):
        raise UnsupportedMediaType("请以 JSON 格式提交（Content-Type: application/json）")
    key = f"user:{principal.user_id}" if principal else f"addr:{request.client.host if request.client else '-'}"
    limiter = rt.write_limit
    now = time.monotonic()
    wait = limiter.retry_after(key, now)
    if wait:
        raise TooManyRequests(f"操作太频繁，请在 {wait} 秒后再试", retry_after=wait)
    limiter.hit(key, now)
