"""The providers service process: `uvicorn --factory services.providers.main:create_app`.

At start-up: the standard service catalogue is completed from its data file, the bed policy is
read from `bed_policy.json` (a malformed one stops the start), the geocoder is chosen from the
settings (the offline gazetteer unless a Baidu key is set), the candidate index is built from
the database, and a periodic task brings it up to date with the database every `index_refresh_s`
(see `nearest/candidates.py` for why each replica does so, and how).
"""
from __future__ import annotations

import logging

from fastapi import FastAPI

from services.providers import events  # noqa: F401 - events registers the event types
from services.providers.api import lanes, routers
from services.providers.beds import load_bed_policies
from services.providers.catalogue import ensure_standard_catalogue
from services.providers.consumers import make_subscriptions
from services.providers.geocoding import make_geocoder
from services.providers.nearest.candidates import CandidateSearch
from services.providers.runtime import ProvidersRuntime, runtime_of
from services.providers.settings import ProvidersSettings
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.city import local_day
from shared.clock import Clock
from shared.periodic import PeriodicTask
from shared.settings import Settings

log = logging.getLogger("youfu.providers")


async def catch_up_index(ctx: ServiceContext) -> None:
    """One periodic look at the database: what other replicas wrote (everything on a new day).
    A failed look keeps the current index; the next one runs on schedule."""
    await runtime_of(ctx).search.sync(now=ctx.now())


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               own: ProvidersSettings | None = None) -> FastAPI:
    """`clock` replaces the real time (tests move it past a document's expiry); `own`, the
    service's own settings (read from the environment when not given)."""
    own = own or ProvidersSettings()

    async def start(ctx: ServiceContext) -> None:
        await ensure_standard_catalogue(ctx.db, now=ctx.now())
        search = CandidateSearch(ctx.db, weights=own.weights(), pool_size=own.candidate_pool,
                                 today=lambda: local_day(ctx.now()))
        geocoder = make_geocoder(own.geocoder, own.baidu_ak.get_secret_value() if own.baidu_ak else None,
                                 own.geocode_timeout_s)
        ctx.runtime = ProvidersRuntime(settings=own, search=search, geocoder=geocoder,
                                       bed_policies=load_bed_policies())
        size = await search.rebuild(now=ctx.now())
        log.info("candidate index built: %d caregivers", size)

    async def health(ctx: ServiceContext) -> dict:
        if ctx.runtime is None:
            return {}
        search = runtime_of(ctx).search
        return {"index": {"caregivers": len(search.index), "synced_at": search.synced_at,
                          "full_read_day": search.synced_day}}

    # the first look one interval after start-up, which has just read everything; 0: only at start-up
    refresh = PeriodicTask(name="providers-index-refresh", run=catch_up_index, every_s=own.index_refresh_s,
                           first_delay_s=own.index_refresh_s)
    spec = ServiceSpec(name="providers", routers=routers, title="Youfu providers", subscriptions=make_subscriptions,
                       on_startup=[start], health_details=health, periodic=[refresh], lanes=lanes)
    return create_service_app(spec, settings, clock=clock)
