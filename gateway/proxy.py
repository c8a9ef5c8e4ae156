"""Reverse proxy to the services: one pooled aiohttp client per service (shared/http.py says why
not httpx), timeouts, retries only where safe. The route is `api/proxy.py`."""
from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import httpx
from fastapi import Request
from fastapi.responses import Response
from yarl import URL

from gateway.runtime import runtime_of
from shared.app import ServiceContext
from shared.errors import NotFound, ServiceUnavailable
from shared.http import NAMES_ZH, RETRYABLE
from shared.observability import current_request_id
from shared.settings import SERVICES

log = logging.getLogger("youfu.gateway.proxy")

IDEMPOTENT_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
PASS_REQUEST_HEADERS = ("authorization", "content-type", "accept", "idempotency-key", "accept-language",
                        "x-device-token")  # a home alarm device's own token (orders: POST /device/alarms)
# content-encoding passes through: the body is passed on as the service sent it (no decompression)
DROP_RESPONSE_HEADERS = {"content-length", "transfer-encoding", "connection", "x-request-id"}


async def forward(client: aiohttp.ClientSession, base_url: str, service: str, request: Request,
                  path: str, *, timeout_s: float | None = None) -> Response:
    """`timeout_s`: this request's own limit instead of the client's (the long upload routes)."""
    headers = {k: v for k, v in request.headers.items() if k.lower() in PASS_REQUEST_HEADERS}
    headers["x-request-id"] = current_request_id() or ""
    body = await request.body()
    url = f"{base_url}/{_raw_rest(request, service, path)}"
    query = request.scope.get("query_string") or b""
    if query:
        url += "?" + _wire(query)
    # a write with an Idempotency-Key is as safe to send twice as a GET: the service answers the
    # second with the first's answer and no second effect
    attempts = 3 if request.method in IDEMPOTENT_METHODS or "idempotency-key" in headers else 1
    own_timeout = {"timeout": aiohttp.ClientTimeout(total=timeout_s, sock_connect=2.0)} if timeout_s else {}
    for attempt in range(1, attempts + 1):
        try:
            # encoded=True: the path and query go on as the caller sent them, not re-quoted
            async with client.request(request.method, URL(url, encoded=True), data=body, headers=headers,
                                      allow_redirects=False, **own_timeout) as upstream:
                status, content = upstream.status, await upstream.read()
                upstream_headers = upstream.headers
            break
        except aiohttp.InvalidURL:
            raise NotFound("没有这个地址") from None
        except aiohttp.ConnectionTimeoutError as exc:  # never reached the service: safe to try again
            if attempt == attempts:
                raise _unreachable(service, exc) from None
            await asyncio.sleep(0.05 * attempt)
        except asyncio.TimeoutError:
            log.warning("%s did not answer %s /%s in time", service, request.method, path)
            raise ServiceUnavailable(f"{NAMES_ZH.get(service, service)}响应超时，请稍后再试",
                                     service=service) from None
        except RETRYABLE as exc:
            # never reached the service, or a kept-alive connection closed under us (perhaps after
            # the service acted): safe to retry idempotent calls and keyed writes only
            if attempt == attempts:
                raise _unreachable(service, exc) from None
            await asyncio.sleep(0.05 * attempt)
        except aiohttp.ClientError as exc:
            log.warning("%s error on %s /%s: %s %s", service, request.method, path, type(exc).__name__, exc)
            raise ServiceUnavailable(f"{NAMES_ZH.get(service, service)}暂时无法访问，请稍后再试",
                                     service=service) from None
    out_headers = {k: v for k, v in upstream_headers.items() if k.lower() not in DROP_RESPONSE_HEADERS}
    if upstream_headers.get("content-type", "").startswith("application/problem+json"):
        content = _gateway_instance(content, request.url.path)
    return Response(content, status_code=status, headers=out_headers)


def _unreachable(service: str, exc: Exception) -> ServiceUnavailable:
    log.warning("%s unreachable: %s %s", service, type(exc).__name__, exc)
    return ServiceUnavailable(f"{NAMES_ZH.get(service, service)}暂时无法访问，请稍后再试", service=service)


def _wire(raw: bytes) -> str:
    """Bytes of a request target as they may go on the wire: printable ASCII as it is, every other
    byte (a space, a control character, UTF-8) percent-encoded, which is what it meant."""
    return "".join(chr(b) if 0x21 <= b <= 0x7E else f"%{b:02X}" for b in raw)


def _raw_rest(request: Request, service: str, path: str) -> str:
    """The path after /api/{service}/ exactly as the caller sent it, still percent-encoded: the
    decoded one can hold characters (%0A …) that no URL may carry."""
    raw = request.scope.get("raw_path") or b""
    prefix = f"/api/{service}/".encode()
    if raw.startswith(prefix):
        return _wire(raw[len(prefix):])
    return _wire(path.encode())


def _gateway_instance(content: bytes, path: str) -> bytes:
    """A service names its own path as the problem's `instance`; the caller only knows the
    gateway's (`/api/orders/orders`, not `/orders`)."""
    try:
        body = json.loads(content)
    except ValueError:
        return content
    if not isinstance(body, dict) or "instance" not in body:
        return content
    body["instance"] = path
    return json.dumps(body, ensure_ascii=False).encode()


async def services_health(ctx: ServiceContext) -> dict:
    client = runtime_of(ctx).http

    async def one(service: str) -> tuple[str, str]:
        try:
            r = await client.get(f"{ctx.settings.service_url(service)}/health", timeout=2.0)
            return service, "up" if r.status_code == 200 else f"error {r.status_code}"
        except httpx.HTTPError:
            return service, "down"

    results = dict(await asyncio.gather(*(one(s) for s in SERVICES)))
    return {"services": results, "status": "ok" if all(v == "up" for v in results.values()) else "degraded"}
