"""The orders service process: `uvicorn --factory services.orders.main:create_app`.

Besides the routes and consumers, three periodic tasks run in the process: the dispatcher (offers,
deadlines, retries; its pass says how long until the earliest stored deadline, at most a tick,
and a new order, a decline or a full pipeline wakes it) and the spawner (recurring orders a day
ahead, this month's visit plan) and the alarm escalation (emergency alarms nobody acknowledged in
time, handed to the operator desk and the district officer). All read only stored state, so a restart or a second replica
picks up where the last one stopped.
"""
from __future__ import annotations

from fastapi import FastAPI

from services.orders import events  # noqa: F401 - registers the event types
from services.orders.alarms.raising import escalation_pass
from services.orders.api import lanes, routers
from services.orders.consumers import make_subscriptions
from services.orders.dispatch.dispatcher import Dispatcher, dispatch_pass
from services.orders.recurrence import spawn_pass
from services.orders.runtime import OrdersRuntime, runtime_of
from services.orders.settings import OrdersSettings
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.clock import Clock
from shared.periodic import PeriodicTask
from shared.settings import Settings


def _background(ctx: ServiceContext) -> bool:
    return runtime_of(ctx).settings.run_background


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               own: OrdersSettings | None = None) -> FastAPI:
    """`own` overrides the YOUFU_ORDERS_* settings (tests use short timeouts); `clock` replaces
    the real time (read through `ctx.now()`)."""

    async def start(ctx: ServiceContext) -> None:
        rt = OrdersRuntime(ctx, own or OrdersSettings())
        rt.dispatcher = Dispatcher(rt)
        ctx.runtime = rt

    async def stop(ctx: ServiceContext) -> None:
        rt = runtime_of(ctx)
        if rt.dispatcher is not None:
            await rt.dispatcher.stop()
        for client in rt.clients.values():
            await client.aclose()

    periodic = [
        PeriodicTask("orders-dispatcher", dispatch_pass, every_s=lambda ctx: runtime_of(ctx).settings.dispatch_tick_s,
                     enabled=_background, wake=lambda ctx: runtime_of(ctx).dispatch_wakeup),
        PeriodicTask("orders-spawner", spawn_pass, every_s=lambda ctx: runtime_of(ctx).settings.spawn_every_s,
                     enabled=_background),
        # emergency alarms nobody acknowledged in time go to the desk and the district officer
        PeriodicTask("orders-alarm-escalation", escalation_pass,
                     every_s=lambda ctx: runtime_of(ctx).settings.alarm_escalation_tick_s, enabled=_background),
    ]
    spec = ServiceSpec(name="orders", routers=routers, title="Youfu orders", subscriptions=make_subscriptions,
                       on_startup=[start], on_shutdown=[stop], periodic=periodic, lanes=lanes)
    return create_service_app(spec, settings, clock=clock)
