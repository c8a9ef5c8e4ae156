"""The assessment service process: `uvicorn --factory services.assessment.main:create_app`.

Policy setting read here (the kernel's Settings is shared by all services, so this service's own
knob is an environment variable): YOUFU_ASSESSMENT_REASSESSMENT_MONTHS, default 6 (DOMAIN.md's
policy default), the months after finalisation when a reassessment falls due.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from services.assessment import events  # noqa: F401 - registers the event types
from services.assessment.api import router
from services.assessment.assessment_api import router as assessment_router
from services.assessment.hardship import DEFAULT_REASSESSMENT_MONTHS
from services.assessment.instruments import load_instruments
from shared.app import ServiceContext, ServiceSpec, create_service_app
from shared.pii import PiiCipher
from shared.settings import Settings

REASSESSMENT_MONTHS_ENV = "YOUFU_ASSESSMENT_REASSESSMENT_MONTHS"


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] | None = None,
               reassessment_months: int | None = None) -> FastAPI:
    """`clock` replaces the real time (tests move it past a reassessment period)."""

    async def start(ctx: ServiceContext) -> None:
        load_instruments()  # a broken definition file stops the service here, not mid-assessment
        ctx.extras["cipher"] = PiiCipher(ctx.settings.pii_key_value)
        months = reassessment_months or int(os.environ.get(REASSESSMENT_MONTHS_ENV) or DEFAULT_REASSESSMENT_MONTHS)
        if months < 1:
            raise RuntimeError(f"{REASSESSMENT_MONTHS_ENV} must be at least 1")
        ctx.extras["reassessment_months"] = months
        if clock is not None:
            ctx.extras["clock"] = clock

    spec = ServiceSpec(name="assessment", routers=[router, assessment_router], title="Youfu assessment",
                       on_startup=[start])
    return create_service_app(spec, settings)
