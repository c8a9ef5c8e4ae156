"""One OpenAPI document for the whole platform: the gateway's own routes plus every service's
operations under their gateway paths (`/api/{service}/...`)."""
from __future__ import annotations

import asyncio
import copy
import time
from typing import Any

import httpx

from shared.settings import SERVICES

_INTERNAL_PREFIXES = ("/ops", "/metrics")


def _rewrite_refs(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/components/schemas/"):
                out[k] = "#/components/schemas/" + prefix + v.rsplit("/", 1)[1]
            else:
                out[k] = _rewrite_refs(v, prefix)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(x, prefix) for x in node]
    return node


def merge(gateway_doc: dict, service_docs: dict[str, dict]) -> dict:
    doc = copy.deepcopy(gateway_doc)
    doc["info"] = {"title": "有福 Youfu API", "version": "1.0.0",
                   "description": "All operations through the gateway. Sign in at POST /api/auth/login and send "
                                  "`Authorization: Bearer <access_token>`. Errors are RFC 9457 problem+json."}
    paths = doc.setdefault("paths", {})
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    for service, sdoc in service_docs.items():
        prefix = f"{service}_"
        for path, item in sdoc.get("paths", {}).items():
            if path.startswith(_INTERNAL_PREFIXES) or path in ("/health", "/ready"):
                continue
            item = _rewrite_refs(copy.deepcopy(item), prefix)
            for op in item.values():
                if isinstance(op, dict) and "operationId" in op:
                    op["operationId"] = f"{service}_{op['operationId']}"
                    op.setdefault("tags", [service])
                    op["security"] = [{"bearer": []}]
            paths[f"/api/{service}{path}"] = item
        for name, schema in sdoc.get("components", {}).get("schemas", {}).items():
            schemas[prefix + name] = _rewrite_refs(schema, prefix)
    return doc


class MergedOpenAPI:
    def __init__(self, ttl_s: float = 30.0) -> None:
        self.ttl_s = ttl_s
        self._cached: tuple[float, dict] | None = None

    async def document(self, gateway_doc: dict, client: httpx.AsyncClient, settings) -> dict:
        now = time.monotonic()
        if self._cached and self._cached[0] > now:
            return self._cached[1]

        async def fetch(service: str) -> tuple[str, dict | None]:
            try:
                r = await client.get(f"{settings.service_url(service)}/openapi.json", timeout=5)
                return service, r.json() if r.status_code == 200 else None
            except httpx.HTTPError:
                return service, None

        fetched = dict(await asyncio.gather(*(fetch(s) for s in SERVICES)))
        doc = merge(gateway_doc, {k: v for k, v in fetched.items() if v})
        missing = [k for k, v in fetched.items() if not v]
        if missing:
            doc["info"]["x-missing-services"] = missing  # don't cache a partial document
        else:
            self._cached = (now + self.ttl_s, doc)
        return doc
