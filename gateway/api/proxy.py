"""The catch-all route to the services (`/api/{service}/…`): the session check, the write checks
(body size, JSON, the per-caller write limit), then `proxy.forward`. The upload routes (a list
from another bureau: a file or a large JSON body) take a larger body and a longer time."""
from __future__ import annotations

import re
import time

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.proxy import forward
from gateway.runtime import GatewayRuntime, Runtime
from shared.app import Ctx
from shared.auth import Principal
from shared.errors import DomainError, NotFound, PayloadTooLarge, TooManyRequests
from shared.settings import SERVICES, Settings

router = APIRouter(tags=["gateway"])


class UnsupportedMediaType(DomainError):
    status, code, title = 415, "unsupported_media_type", "格式不支持"


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# (service, path) of the writes that take a file (multipart/form-data) or a body past
# max_body_bytes, and may run longer than http_timeout_s: settings.max_upload_bytes, upload_timeout_s
# (photos at the door: a multipart body; orders itself refuses one past its 2 MB with a 413)
UPLOAD_ROUTES = (("assessment", re.compile(r"status-lists")), ("assessment", re.compile(r"status-lists/[^/]+/apply")),
                 ("orders", re.compile(r"orders/[^/]+/photos")))


def is_upload(service: str, path: str) -> bool:
    return any(service == owner and pattern.fullmatch(path) for owner, pattern in UPLOAD_ROUTES)


@router.api_route("/api/{service}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                  include_in_schema=False)
async def proxy(service: str, path: str, request: Request, ctx: Ctx, rt: Runtime) -> Response:
    if service not in SERVICES:
        raise NotFound(f"没有名为 {service} 的服务")
    principal = None
    if request.headers.get("authorization"):
        principal = await rt.sessions.principal(request)  # deleted users and signed-out sessions stop here
    upload = request.method == "POST" and is_upload(service, path)
    if request.method in WRITE_METHODS:
        check_write(request, ctx.settings, rt, principal, upload=upload)
    return await forward(rt.upstream[service], rt.upstream_url[service], service, request, path,
                         timeout_s=ctx.settings.upload_timeout_s if upload else None)


def check_write(request: Request, settings: Settings, rt: GatewayRuntime, principal: Principal | None, *,
                upload: bool = False) -> None:
    length = request.headers.get("content-length")
    limit = settings.max_upload_bytes if upload else settings.max_body_bytes
    if length and length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"提交的内容太大（上限 {limit // 1024} KB）")
    ctype = request.headers.get("content-type", "")
    if length not in (None, "0") and ctype and not ctype.startswith("application/json") \
            and not (upload and ctype.startswith("multipart/form-data")):
        raise UnsupportedMediaType("请以 JSON 格式提交（Content-Type: application/json）")
    key = f"user:{principal.user_id}" if principal else f"addr:{request.client.host if request.client else '-'}"
    limiter = rt.write_limit
    now = time.monotonic()
    wait = limiter.retry_after(key, now)
    if wait:
        raise TooManyRequests(f"操作太频繁，请在 {wait} 秒后再试", retry_after=wait)
    limiter.hit(key, now)
