"""The gateway process: the only public entry. `uvicorn --factory gateway.main:create_app`."""
from __future__ import annotations

import asyncio
import signal

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gateway.api import lanes, page_routers, routers
from gateway.api.pages import STATIC_DIR
from gateway.consumers import notices_scope, subscriptions
from gateway.notices import InboxPrune, NoticeHub
from gateway.openapi_merge import MergedOpenAPI
from gateway.proxy import services_health
from gateway.ratelimit import SlidingWindow
from gateway.runtime import GatewayRuntime, runtime_of
from gateway.sessions import SessionChecker
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.auth import TokenSigner
from shared.clock import Clock
from shared.http import make_session
from shared.periodic import PeriodicTask
from shared.pii import PiiCipher
from shared.settings import SERVICES, Settings


async def _open(ctx: ServiceContext) -> None:
    s = ctx.settings
    ctx.runtime = GatewayRuntime(
        http=httpx.AsyncClient(timeout=httpx.Timeout(s.http_timeout_s, connect=2.0)),
        upstream={service: make_session(s.http_timeout_s) for service in SERVICES},
        upstream_url={service: s.service_url(service) for service in SERVICES},
        cipher=PiiCipher(s.pii_key_value),
        signer=TokenSigner(s.private_key_pem),
        sessions=SessionChecker(ctx.db, ctx.verifier),
        login_by_phone=SlidingWindow(s.login_failures_per_phone, s.login_failure_window_s),
        login_by_address=SlidingWindow(s.login_failures_per_address, s.login_failure_window_s),
        write_limit=SlidingWindow(s.writes_per_minute, 60),
        openapi=MergedOpenAPI(),
        hub=NoticeHub(),
        inbox_prune=InboxPrune(),
    )
    close_streams_on_stop(ctx.runtime.hub)


def close_streams_on_stop(hub: NoticeHub) -> None:
    """End the open notices streams as soon as the server is told to stop: uvicorn waits for open
    responses before it runs the shutdown hooks, and a stream never ends by itself. The server's
    own handler is kept and called after (the pages reconnect, to another replica if there is one)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum, frame, previous=previous):
            loop.call_soon_threadsafe(hub.close)
            previous(signum, frame)

        try:
            signal.signal(sig, handler)
        except ValueError:  # not the main thread (a test serving the app in its own loop)
            return


async def prune_inboxes(ctx: ServiceContext) -> None:
    """Cut every notices inbox to its newest 50 (gateway/notices.py `InboxPrune`). Answers nothing:
    a number would be taken for the seconds until the next pass."""
    await runtime_of(ctx).inbox_prune.run(ctx.db)


async def _close(ctx: ServiceContext) -> None:
    rt = runtime_of(ctx)
    rt.hub.close()
    await rt.http.aclose()
    for client in rt.upstream.values():
        await client.close()


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """`clock` replaces the real time (tests)."""
    spec = ServiceSpec(
        name="gateway", title="有福 Youfu", routers=routers,
        on_startup=[_open], on_shutdown=[_close], health_details=services_health, own_docs=False,
        subscriptions=subscriptions, consumer_group=notices_scope, lanes=lanes,
        periodic=[PeriodicTask("gateway-inbox-prune", prune_inboxes, every_s=lambda ctx: ctx.settings.notices_prune_s)],
    )
    app = create_service_app(spec, settings, clock=clock)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for router in page_routers:
        app.include_router(router)
    return app
