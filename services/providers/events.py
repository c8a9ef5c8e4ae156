"""Events the providers service publishes on `youfu.providers` (key: provider id), and `publish`,
which queues one in the caller's transaction."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import event_type, make_event
from shared.outbox import add_event

TOPIC = "youfu.providers"
SOURCE = "/youfu/providers"


def publish(session: AsyncSession, data: BaseModel) -> None:
    """Queue an event in the caller's transaction (sent only if it commits)."""
    add_event(session, make_event(data, source=SOURCE))


class ProviderFacts(BaseModel):
    provider_id: UUID
    name: str
    kind: str
    district_code: str
    status: str
    reason: str | None = None
    changed_by: str | None = None  # the officer's user id
    changed_at: datetime | None = None


@event_type("youfu.provider.approved.v1", topic=TOPIC, key="provider_id")
class ProviderApproved(ProviderFacts):
    """A civil-affairs officer approved a provider."""


@event_type("youfu.provider.suspended.v1", topic=TOPIC, key="provider_id")
class ProviderSuspended(ProviderFacts):
    """A provider may receive no new orders."""


@event_type("youfu.provider.reinstated.v1", topic=TOPIC, key="provider_id")
class ProviderReinstated(ProviderFacts):
    """A suspended provider may receive orders again."""


class CatalogueItem(BaseModel):
    item_id: UUID
    service_code: str
    name: str
    unit: str
    price_fen: int
    min_duration_min: int
    voucher_kinds: list[str]
    active: bool


@event_type("youfu.provider.catalogue_changed.v1", topic=TOPIC, key="provider_id")
class CatalogueChanged(BaseModel):
    """A provider's catalogue (items and prices) changed; carries the whole current list."""

    provider_id: UUID
    items: list[CatalogueItem]


@event_type("youfu.provider.beds_changed.v1", topic=TOPIC, key="provider_id")
class BedsChanged(BaseModel):
    """A bed was declared, or its status or room changed: what it is now (`beds.py`). Keyed by the
    provider, so one institution's bed changes stay in order."""

    provider_id: UUID
    bed_id: UUID
    status: str  # free | reserved | occupied | out_of_service
    care_level: str  # self_care | nursing | dementia
    district_code: str
    room: str
    bed_no: str
    room_gender: str | None = None
    application_id: UUID | None = None  # the reservation's holder, while reserved or occupied
    stay_id: UUID | None = None  # the stay in it, while occupied
    changed_at: datetime
