"""The vouchers service process: `uvicorn --factory services.vouchers.main:create_app`."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi import FastAPI

from services.vouchers import events  # noqa: F401 - registers the event types
from services.vouchers import orphans
from services.vouchers.api import router
from services.vouchers.audit import thresholds_from_env
from services.vouchers.civil_api import router as civil_router
from services.vouchers.consumers import make_subscriptions
from services.vouchers.issuance import ensure_scheduled_run
from services.vouchers.policies import ensure_default_policy
from services.vouchers.service import current_time
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.http import ServiceClient
from shared.settings import Settings

log = logging.getLogger("youfu.vouchers")
SCHEDULE_EVERY_S = 60


async def monthly_issuance_loop(ctx: ServiceContext, every_s: float = SCHEDULE_EVERY_S) -> None:
    """Every minute: has this month's scheduled run happened? If not, run it. On the 1st
    (Asia/Shanghai) that issues the month's vouchers; after a restart it catches up."""
    while True:
        try:
            await ensure_scheduled_run(ctx.db, now=current_time(ctx))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduled issuance failed; retrying in %ss", every_s)
        await asyncio.sleep(every_s)


async def orphan_hold_loop(ctx: ServiceContext, every_s: float = SCHEDULE_EVERY_S) -> None:
    """Every minute: release holds whose order was never written (services/vouchers/orphans.py)."""
    orders = ServiceClient(ctx.settings, "orders")
    try:
        while True:
            try:
                await orphans.sweep(ctx.db, orders, now=current_time(ctx), orphan_after=ctx.extras["orphan_after"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("orphan-hold sweep failed; retrying in %ss", every_s)
            await asyncio.sleep(every_s)
    finally:
        await orders.aclose()


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] | None = None,
               run_scheduler: bool = True) -> FastAPI:
    """`clock` replaces the real time (tests move it across a month end); `run_scheduler=False`
    leaves the monthly run to explicit `POST /issuance-runs` calls."""

    async def start(ctx: ServiceContext) -> None:
        if clock is not None:
            ctx.extras["clock"] = clock
        ctx.extras["anomaly_thresholds"] = thresholds_from_env()
        await ensure_default_policy(ctx.db, now=current_time(ctx))
        ctx.extras["orphan_after"] = timedelta(seconds=float(os.environ.get("YOUFU_VOUCHERS_ORPHAN_HOLD_AFTER_S", "600")))
        if run_scheduler:
            ctx.extras["scheduler"] = asyncio.create_task(monthly_issuance_loop(ctx), name="voucher-issuance")
            ctx.extras["orphans"] = asyncio.create_task(
                orphan_hold_loop(ctx, float(os.environ.get("YOUFU_VOUCHERS_ORPHAN_SWEEP_S", str(SCHEDULE_EVERY_S)))),
                name="voucher-orphan-holds")

    async def stop(ctx: ServiceContext) -> None:
        for name in ("scheduler", "orphans"):
            task = ctx.extras.pop(name, None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    spec = ServiceSpec(name="vouchers", routers=[router, civil_router], title="Youfu vouchers",
                       subscriptions=make_subscriptions, on_startup=[start], on_shutdown=[stop])
    return create_service_app(spec, settings)
