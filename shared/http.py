"""Calls from one service to another: service token, request id, timeouts, typed errors.

A service that cannot be reached becomes `ServiceUnavailable` (503) naming it; a problem+json
answer becomes the matching `DomainError`, so the caller's client sees the same status and
Chinese message the other service gave.

Calls between services go over aiohttp, not httpx: on this machine httpx spends about 0.9 ms of
CPU per request alone and 1.4 ms with twenty in flight (httpcore looks at every pooled
connection on each request), aiohttp 0.23 and 0.12 ms (bench/http_clients.py). Every order
crosses three or four such hops, so that difference was a fifth of the gateway's CPU and a tenth
of the orders service's. httpx stays for callers outside the request path (tests, the
simulator, the gateway's health and OpenAPI fan-out).
"""
from __future__ import annotations

import asyncio
import json as jsonlib
from typing import Any

import aiohttp

from shared.errors import (
    BadRequest,
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    Invalid,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from shared.observability import current_request_id
from shared.settings import Settings

_BY_STATUS: dict[int, type[DomainError]] = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound,
                                            409: Conflict, 422: Invalid, 429: TooManyRequests}
NAMES_ZH = {"assessment": "评估服务", "providers": "服务商服务", "orders": "订单服务", "vouchers": "养老服务券服务",
            "gateway": "网关"}
SAFE_METHODS = {"GET", "HEAD", "PUT", "DELETE"}
# a network failure on the way there or back: the request may be sent again where that is safe
RETRYABLE = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)


def make_session(timeout_s: float) -> aiohttp.ClientSession:
    """A pooled client for one upstream. Idle connections are dropped after 2 s, before the
    services' uvicorn closes them (5 s): reusing one the server is closing at that moment fails
    the request. Bodies pass through as sent (no decompression, no added Accept-Encoding)."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout_s, sock_connect=2.0),
        connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=2.0),
        auto_decompress=False, skip_auto_headers=("Accept-Encoding", "User-Agent"))


class ServiceClient:
    def __init__(self, settings: Settings, service: str) -> None:
        self.service = service
        self.base_url = settings.service_url(service)
        self.token = settings.service_token
        self.timeout_s = settings.http_timeout_s
        self._session: aiohttp.ClientSession | None = None  # made on first use, inside the event loop

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                      idempotency_key: str | None = None, token: str | None = None) -> Any:
        headers = {"x-request-id": current_request_id() or ""}
        if token or self.token:
            headers["authorization"] = f"Bearer {token or self.token}"
        if idempotency_key:
            headers["idempotency-key"] = idempotency_key
        # a POST with an idempotency key is as safe to retry as a GET
        attempts = 3 if (method in SAFE_METHODS or idempotency_key) else 1
        if self._session is None:
            self._session = make_session(self.timeout_s)
        data = None
        if json is not None:
            headers["content-type"] = "application/json"
            data = jsonlib.dumps(json, ensure_ascii=False).encode()
        query = {k: str(v) for k, v in params.items()} if params else None
        for attempt in range(1, attempts + 1):
            try:
                async with self._session.request(method, self.base_url + path, data=data, params=query,
                                                 headers=headers, allow_redirects=False) as r:
                    status, content = r.status, await r.read()
                break
            except (*RETRYABLE, asyncio.TimeoutError):
                # any network failure, a reset by a process that died with our request unread
                # included (tests/faults), or no answer in time: the caller gets 503, never 500
                if attempt == attempts:
                    raise ServiceUnavailable(f"{NAMES_ZH.get(self.service, self.service)}暂时无法访问，请稍后再试",
                                             service=self.service) from None
                await asyncio.sleep(0.1 * attempt)
        if status >= 400:
            raise self._error(status, content)
        return jsonlib.loads(content) if content else None

    def _error(self, status: int, content: bytes) -> DomainError:
        try:
            body = jsonlib.loads(content)
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if status >= 500 or status not in _BY_STATUS:
            return ServiceUnavailable(f"{NAMES_ZH.get(self.service, self.service)}暂时出错，请稍后再试",
                                      service=self.service)
        errors = [FieldError(e.get("field", ""), e.get("reason", "")) for e in body.get("errors", [])]
        extra = {k: v for k, v in body.items()
                 if k not in ("type", "title", "status", "detail", "code", "instance", "errors", "request_id")}
        err = _BY_STATUS[status](body.get("detail") or "请求未成功", errors=errors, **extra)
        return err

    async def get(self, path: str, **kw) -> Any:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw) -> Any:
        return await self.request("POST", path, **kw)
