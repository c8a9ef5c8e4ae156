"""The vouchers service process: `uvicorn --factory services.vouchers.main:create_app`."""
from __future__ import annotations

from fastapi import FastAPI

from services.vouchers import events  # noqa: F401 - registers the event types
from services.vouchers.api import router
from shared.app import ServiceSpec, create_service_app
from shared.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(ServiceSpec(name="vouchers", routers=[router], title="Youfu vouchers"), settings)
