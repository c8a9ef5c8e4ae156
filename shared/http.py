"""Calls from one service to another: service token, request id, timeouts, typed errors.

A service that cannot be reached becomes `ServiceUnavailable` (503) naming it; a problem+json
answer becomes the matching `DomainError`, so the caller's client sees the same status and
Chinese message the other service gave.
"""
from __future__ import annotations

import asyncio
from typing import Any

import httpx

from shared.errors import (BadRequest, Conflict, DomainError, FieldError, Forbidden, Invalid, NotFound,
                           ServiceUnavailable, TooManyRequests, Unauthorized)
from shared.observability import current_request_id
from shared.settings import Settings

_BY_STATUS: dict[int, type[DomainError]] = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound,
                                            409: Conflict, 422: Invalid, 429: TooManyRequests}
NAMES_ZH = {"assessment": "评估服务", "providers": "服务商服务", "orders": "订单服务", "vouchers": "养老服务券服务",
            "gateway": "网关"}
SAFE_METHODS = {"GET", "HEAD", "PUT", "DELETE"}


class ServiceClient:
    def __init__(self, settings: Settings, service: str, *, client: httpx.AsyncClient | None = None) -> None:
        self.service = service
        self.base_url = settings.service_url(service)
        self.token = settings.service_token
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(settings.http_timeout_s, connect=2.0),
                                                   # below uvicorn's 5 s keep-alive: no reuse of a closing connection
                                                   limits=httpx.Limits(max_connections=200, keepalive_expiry=2.0))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                      idempotency_key: str | None = None, token: str | None = None) -> Any:
        headers = {"x-request-id": current_request_id() or ""}
        if token or self.token:
            headers["authorization"] = f"Bearer {token or self.token}"
        if idempotency_key:
            headers["idempotency-key"] = idempotency_key
        # a POST with an idempotency key is as safe to retry as a GET
        attempts = 3 if (method in SAFE_METHODS or idempotency_key) else 1
        for attempt in range(1, attempts + 1):
            try:
                r = await self._client.request(method, self.base_url + path, json=json, params=params, headers=headers)
                break
            except httpx.TransportError:
                # any network failure, a reset by a process that died with our request unread
                # included (tests/faults): the caller gets 503, never 500
                if attempt == attempts:
                    raise ServiceUnavailable(f"{NAMES_ZH.get(self.service, self.service)}暂时无法访问，请稍后再试",
                                             service=self.service) from None
                await asyncio.sleep(0.1 * attempt)
        if r.status_code >= 400:
            raise self._error(r)
        return r.json() if r.content else None

    def _error(self, r: httpx.Response) -> DomainError:
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code >= 500 or r.status_code not in _BY_STATUS:
            return ServiceUnavailable(f"{NAMES_ZH.get(self.service, self.service)}暂时出错，请稍后再试",
                                      service=self.service)
        errors = [FieldError(e.get("field", ""), e.get("reason", "")) for e in body.get("errors", [])]
        extra = {k: v for k, v in body.items()
                 if k not in ("type", "title", "status", "detail", "code", "instance", "errors", "request_id")}
        err = _BY_STATUS[r.status_code](body.get("detail") or "请求未成功", errors=errors, **extra)
        return err

    async def get(self, path: str, **kw) -> Any:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw) -> Any:
        return await self.request("POST", path, **kw)
