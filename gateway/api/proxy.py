"""The catch-all route to the services (`/api/{service}/…`): the session check, the write checks
(body size, JSON, the per-caller write limit), then `proxy.forward`. The upload routes (a list
from another bureau: a file or a large JSON body) take a larger body and a longer time.

Every call of a page or an app crosses this route, so it is a pure ASGI lane (`ProxyLane`), not a
FastAPI route: FastAPI's routing over the gateway's ~40 routes, its dependency solving and two
middleware layers cost as much CPU as the proxying itself (py-spy, bench/meals.py; D67). The lane
sits inside the request-id and metrics middleware, and renders errors with the app's own exception
handlers, so a proxied call is answered, logged and counted as any other."""
from __future__ import annotations

import re
import time
from types import SimpleNamespace

from fastapi import Request
from fastapi.responses import Response

from gateway.proxy import forward
from gateway.runtime import GatewayRuntime, runtime_of
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import DomainError, PayloadTooLarge, TooManyRequests
from shared.lanes import error_handler
from shared.settings import SERVICES, Settings

PROXY_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# what the metrics label a proxied call with (RequestContextMiddleware reads scope["route"].path)
PROXY_ROUTE = SimpleNamespace(path="/api/{service}/{path:path}")


class UnsupportedMediaType(DomainError):
    status, code, title = 415, "unsupported_media_type", "格式不支持"


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# (service, path) of the writes that take a file (multipart/form-data) or a body past
# max_body_bytes, and may run longer than http_timeout_s: settings.max_upload_bytes, upload_timeout_s
# (photos at the door and with a complaint: a multipart body; the service refuses one past its 2 MB with a 413)
UPLOAD_ROUTES = (("assessment", re.compile(r"status-lists")), ("assessment", re.compile(r"status-lists/[^/]+/apply")),
                 ("orders", re.compile(r"orders/[^/]+/photos")), ("vouchers", re.compile(r"complaints/[^/]+/photo")))


def is_upload(service: str, path: str) -> bool:
    return any(service == owner and pattern.fullmatch(path) for owner, pattern in UPLOAD_ROUTES)


class ProxyLane:
    """`/api/{service}/…` of the four services, straight to `proxy`; everything else on to the app
    (the gateway's own routes, pages, and a path naming no service, which the app answers 404)."""

    def __init__(self, app, *, handlers: dict) -> None:
        self.app = app
        self.handlers = handlers  # the app's exception handlers (shared/problem.py), filled at start-up

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in PROXY_METHODS or not scope["path"].startswith("/api/"):
            return await self.app(scope, receive, send)
        service, slash, path = scope["path"][5:].partition("/")
        if not slash or service not in SERVICES:
            return await self.app(scope, receive, send)
        scope["route"] = PROXY_ROUTE
        request = Request(scope, receive)
        try:
            response = await proxy(service, path, request, scope["app"].state.ctx)
        except Exception as exc:
            handler = error_handler(self.handlers, exc)
            if handler is None:
                raise  # the outermost error middleware answers with the app's 500 problem
            response = await handler(request, exc)
        await response(scope, receive, send)


async def proxy(service: str, path: str, request: Request, ctx: ServiceContext) -> Response:
    rt = runtime_of(ctx)
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
