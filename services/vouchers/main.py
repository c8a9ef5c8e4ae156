"""The vouchers service process: `uvicorn --factory services.vouchers.main:create_app`."""
from __future__ import annotations

from fastapi import FastAPI

from services.vouchers import (
    events,  # noqa: F401 - registers the event types
    orphans,
)
from services.vouchers.api import lanes, routers
from services.vouchers.consumers import make_subscriptions
from services.vouchers.issuance.runs import ensure_scheduled_run
from services.vouchers.policy import ensure_default_policy
from services.vouchers.runtime import VouchersRuntime, runtime_of
from services.vouchers.settings import VouchersSettings
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.clock import Clock
from shared.periodic import PeriodicTask
from shared.settings import Settings

SCHEDULE_EVERY_S = 60


async def monthly_issuance(ctx: ServiceContext) -> None:
    """Has this month's scheduled run happened? If not, run it. On the 1st (the city's time)
    that issues the month's vouchers; after a restart it catches up."""
    await ensure_scheduled_run(ctx.db, now=ctx.now())


async def orphan_holds(ctx: ServiceContext) -> None:
    """Release holds whose order was never written (services/vouchers/orphans.py)."""
    runtime = runtime_of(ctx)
    await orphans.sweep(ctx.db, orders=runtime.orders, now=ctx.now(), orphan_after=runtime.orphan_after)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, own: VouchersSettings | None = None,
               run_scheduler: bool = True) -> FastAPI:
    """`clock` replaces the real time (tests move it across a month end); `run_scheduler=False`
    leaves the monthly run to explicit `POST /issuance-runs` calls (and holds to the orders'
    own outcome: no orphan-hold sweep)."""
    own = own or VouchersSettings()

    async def start(ctx: ServiceContext) -> None:
        ctx.runtime = VouchersRuntime.build(ctx, own)
        await ensure_default_policy(ctx.db, now=ctx.now())

    async def stop(ctx: ServiceContext) -> None:
        if ctx.runtime is not None:
            await runtime_of(ctx).aclose()

    def scheduled(ctx: ServiceContext) -> bool:
        return run_scheduler

    periodic = [
        PeriodicTask("voucher-issuance", monthly_issuance, every_s=SCHEDULE_EVERY_S, enabled=scheduled),
        PeriodicTask("voucher-orphan-holds", orphan_holds, every_s=lambda ctx: runtime_of(ctx).settings.orphan_sweep_s,
                     enabled=scheduled),
    ]
    spec = ServiceSpec(name="vouchers", routers=routers, title="Youfu vouchers", subscriptions=make_subscriptions,
                       on_startup=[start], on_shutdown=[stop], periodic=periodic, lanes=lanes)
    return create_service_app(spec, settings, clock=clock)
