"""The orders service process: `uvicorn --factory services.orders.main:create_app`.

Besides the routes and consumers, two background tasks run in the process: the dispatcher
(offers, deadlines, retries; wakes at the earliest stored deadline, at least every second) and
the spawner (recurring orders a day ahead, this month's visit plan). Both read only stored
state, so a restart or a second replica picks up where the last one stopped.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from services.orders import events  # noqa: F401 - registers the event types
from services.orders.api import router
from services.orders.consumers import make_subscriptions
from services.orders.dispatching import dispatcher_loop
from services.orders.recurring import spawner_loop
from services.orders.service import OrdersConfig, Runtime
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.settings import Settings


def create_app(settings: Settings | None = None, *, config: OrdersConfig | None = None,
               clock: Callable[[], datetime] | None = None) -> FastAPI:
    """`config` overrides the YOUFU_ORDERS_* settings (tests use short timeouts); `clock`
    replaces the real time."""

    async def start(ctx: ServiceContext) -> None:
        rt = Runtime(ctx, config or OrdersConfig(), clock)
        ctx.extras["orders"] = rt
        if rt.config.run_background:
            rt.tasks.append(asyncio.create_task(dispatcher_loop(rt), name="orders-dispatcher"))
            rt.tasks.append(asyncio.create_task(spawner_loop(rt), name="orders-spawner"))

    async def stop(ctx: ServiceContext) -> None:
        rt: Runtime = ctx.extras["orders"]
        for task in rt.tasks:
            task.cancel()
        for task in rt.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for client in rt.clients.values():
            await client.aclose()

    spec = ServiceSpec(name="orders", routers=[router], title="Youfu orders", subscriptions=make_subscriptions,
                       on_startup=[start], on_shutdown=[stop])
    return create_service_app(spec, settings)
