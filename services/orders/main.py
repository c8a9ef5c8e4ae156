"""The orders service process: `uvicorn --factory services.orders.main:create_app`."""
from __future__ import annotations

from fastapi import FastAPI

from services.orders import events  # noqa: F401 - registers the event types
from services.orders.api import router
from shared.app import ServiceSpec, create_service_app
from shared.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(ServiceSpec(name="orders", routers=[router], title="Youfu orders"), settings)
