"""The gateway's typed parts, built once at start-up and kept on `ctx.runtime`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import aiohttp
import httpx
from fastapi import Depends

from gateway.notices import InboxPrune, NoticeHub
from gateway.openapi_merge import MergedOpenAPI
from gateway.ratelimit import SlidingWindow
from gateway.sessions import SessionChecker
from shared.app import Ctx, ServiceContext
from shared.auth import TokenSigner
from shared.pii import PiiCipher


@dataclass
class GatewayRuntime:
    http: httpx.AsyncClient  # health and OpenAPI fan-out: rare calls, on httpx
    upstream: dict[str, aiohttp.ClientSession]  # the proxied requests: one aiohttp pool per service
    upstream_url: dict[str, str]  # read once, not per call
    cipher: PiiCipher
    signer: TokenSigner
    sessions: SessionChecker
    login_by_phone: SlidingWindow  # failed sign-ins per phone number
    login_by_address: SlidingWindow  # failed sign-ins per client address
    write_limit: SlidingWindow  # writes per principal (or address) a minute
    openapi: MergedOpenAPI
    hub: NoticeHub  # the notices streams open on this replica (gateway/notices.py)
    inbox_prune: InboxPrune  # the periodic cut of every inbox to its newest 50, and how far it has looked


def runtime_of(ctx: ServiceContext) -> GatewayRuntime:
    return ctx.runtime


async def _runtime(ctx: Ctx) -> GatewayRuntime:
    return ctx.runtime


Runtime = Annotated[GatewayRuntime, Depends(_runtime)]
