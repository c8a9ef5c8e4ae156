"""The assessment service process: `uvicorn --factory services.assessment.main:create_app`."""
from __future__ import annotations

from fastapi import FastAPI

from services.assessment import events  # noqa: F401 - registers the event types
from services.assessment.api import routers
from services.assessment.consumers import make_subscriptions
from services.assessment.instruments import load_instruments
from services.assessment.runtime import AssessmentRuntime
from services.assessment.settings import AssessmentSettings
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.clock import Clock
from shared.http import ServiceClient
from shared.pii import PiiCipher
from shared.settings import Settings


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               own: AssessmentSettings | None = None) -> FastAPI:
    """`clock` replaces the real time (tests move it past a reassessment period); `own` replaces
    the service's own settings read from the environment."""
    own = own or AssessmentSettings()

    async def start(ctx: ServiceContext) -> None:
        load_instruments()  # a broken definition file stops the service here, not mid-assessment
        ctx.runtime = AssessmentRuntime(settings=own, cipher=PiiCipher(ctx.settings.pii_key_value), source=ctx.source,
                                        vouchers=ServiceClient(ctx.settings, "vouchers"),
                                        providers=ServiceClient(ctx.settings, "providers"))

    async def stop(ctx: ServiceContext) -> None:
        for client in (ctx.runtime.vouchers, ctx.runtime.providers) if ctx.runtime is not None else ():
            if client is not None:
                await client.aclose()

    spec = ServiceSpec(name="assessment", routers=routers, title="Youfu assessment", on_startup=[start],
                       on_shutdown=[stop], subscriptions=make_subscriptions)
    return create_service_app(spec, settings, clock=clock)
