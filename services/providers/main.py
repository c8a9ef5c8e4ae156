"""The providers service process: `uvicorn --factory services.providers.main:create_app`.

At start-up: the standard service catalogue is completed from its data file, the geocoder is
chosen from the settings (the offline gazetteer unless a Baidu key is set), the candidate
index is built from the database, and a task brings it up to date with the database every
`index_refresh_s` (see `search.py` for why each replica does so, and how).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from services.providers import domain, events  # noqa: F401 - events registers the event types
from services.providers.api import router
from services.providers.catalogue import ensure_standard_catalogue
from services.providers.config import ProvidersSettings
from services.providers.consumers import make_subscriptions
from services.providers.geocoding import make_geocoder
from services.providers.search import CandidateSearch
from services.providers.service import current_time
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.settings import Settings

log = logging.getLogger("youfu.providers")


async def index_refresh_loop(ctx: ServiceContext, every_s: float) -> None:
    search: CandidateSearch = ctx.extras["search"]
    while True:
        await asyncio.sleep(every_s)
        try:
            await search.sync(now=current_time(ctx))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("catching up the candidate index failed; keeping the current one, retrying in %ss", every_s)


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] | None = None,
               providers_settings: ProvidersSettings | None = None) -> FastAPI:
    """`clock` replaces the real time (tests move it past a document's expiry)."""
    own = providers_settings or ProvidersSettings()

    async def start(ctx: ServiceContext) -> None:
        if clock is not None:
            ctx.extras["clock"] = clock
        await ensure_standard_catalogue(ctx.db, now=current_time(ctx))
        search = CandidateSearch(ctx.db, weights=own.weights(), pool_size=own.candidate_pool,
                                 today=lambda: domain.local_day(current_time(ctx)))
        ctx.extras["search"] = search
        ctx.extras["geocoder"] = make_geocoder(own.geocoder, own.baidu_ak.get_secret_value() if own.baidu_ak else None,
                                               own.geocode_timeout_s)
        size = await search.rebuild(now=current_time(ctx))
        log.info("candidate index built: %d caregivers", size)
        if own.index_refresh_s > 0:
            ctx.extras["index_refresh"] = asyncio.create_task(index_refresh_loop(ctx, own.index_refresh_s),
                                                              name="providers-index-refresh")

    async def stop(ctx: ServiceContext) -> None:
        task = ctx.extras.pop("index_refresh", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def health(ctx: ServiceContext) -> dict:
        search = ctx.extras.get("search")
        return {} if search is None else {"index": {"caregivers": len(search.index), "synced_at": search.synced_at,
                                                    "full_read_day": search.synced_day}}

    spec = ServiceSpec(name="providers", routers=[router], title="Youfu providers", subscriptions=make_subscriptions,
                       on_startup=[start], on_shutdown=[stop], health_details=health)
    return create_service_app(spec, settings)
