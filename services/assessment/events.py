"""Events the assessment service publishes on `youfu.assessment` (key: elder id).

The ID card and phones never leave the service in events (they are encrypted at rest here and
other services have no use for them); name and address do, because orders sends caregivers to
the elder's home.
"""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from services.assessment.models import ElderRow
from shared.events import event_type

TOPIC = "youfu.assessment"


class ChangeSource(BaseModel):
    """Where a change from another bureau's list came from (docs/decisions.md)."""

    list_id: str
    kind: str  # deaths, moves, assistance
    file: str
    line: int


class ElderFacts(BaseModel):
    elder_id: UUID
    district_code: str
    street: str | None = None
    economic_status: str
    living_situation: str
    lat: float | None = None
    lon: float | None = None
    special_hardship: bool
    status: str
    grade: int | None = None
    birth_date: date | None = None
    name: str | None = None
    address: str | None = None
    status_date: date | None = None  # of death or moving away, for the vouchers audit


@event_type("youfu.elder.registered.v1", topic=TOPIC, key="elder_id")
class ElderRegistered(ElderFacts):
    """An elder's record was created."""


@event_type("youfu.elder.updated.v1", topic=TOPIC, key="elder_id")
class ElderUpdated(ElderFacts):
    """An elder's record changed (address, economic status, status, hardship flag …)."""

    changed_fields: list[str] = []  # names only, e.g. ["economic_status", "special_hardship"]
    change_source: ChangeSource | None = None  # set when a status list made the change


def elder_facts(elder: ElderRow) -> dict[str, Any]:
    """The `ElderFacts` of a stored record, for the elder events."""
    return {"elder_id": elder.id, "district_code": elder.district_code, "street": elder.street,
            "economic_status": elder.economic_status, "living_situation": elder.living_situation,
            "lat": elder.lat, "lon": elder.lon, "special_hardship": elder.special_hardship, "status": elder.status,
            "grade": elder.grade, "birth_date": elder.birth_date, "name": elder.name, "address": elder.address,
            "status_date": elder.status_date}


@event_type("youfu.assessment.completed.v1", topic=TOPIC, key="elder_id")
class AssessmentCompleted(BaseModel):
    """A capability assessment was finalised by two assessors."""

    elder_id: UUID
    assessment_id: UUID
    instrument: str
    total: int
    initial_grade: int
    grade: int
    finalised_at: str
    special_hardship: bool
    grade_name: str | None = None
    instrument_version: str | None = None
    dimensions: dict[str, int] = {}  # dimension code → subtotal
    valid_until: date | None = None  # reassessment due day (Asia/Shanghai)
    district_code: str | None = None
    reason: str | None = None  # initial, periodic, condition_changed
    previous_assessment_id: UUID | None = None


# ---- care plans and home beds (docs/decisions.md, "Care plans") ---------------------------------

class PlanItem(BaseModel):
    item_id: UUID
    service_code: str
    provider_id: UUID
    frequency: dict[str, Any]  # {"type": "weekly", "weekdays": [1, 3, 5], "time": "09:00"} | per_week | per_month
    duration_min: int
    voucher_kind: str  # community, mutual_aid, self_pay
    unit_price_fen: int


@event_type("youfu.careplan.activated.v1", topic=TOPIC, key="elder_id")
class CarePlanActivated(BaseModel):
    """The elder (or family, or the officer for them) consented: orders turns each item into a
    recurring rule from `start_date`."""

    plan_id: UUID
    elder_id: UUID
    version: int
    start_date: date
    review_date: date | None = None
    items: list[PlanItem]
    district_code: str
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    kind: str = "care"  # care, home_bed


@event_type("youfu.careplan.replaced.v1", topic=TOPIC, key="elder_id")
class CarePlanReplaced(BaseModel):
    """A newer plan of the elder was activated: the old plan's rules end."""

    plan_id: UUID
    replaced_by: UUID
    elder_id: UUID
    effective_date: date


@event_type("youfu.careplan.ended.v1", topic=TOPIC, key="elder_id")
class CarePlanEnded(BaseModel):
    """The plan ended (the elder died or moved away, or an officer ended it): its rules end."""

    plan_id: UUID
    elder_id: UUID
    reason: str
    effective_date: date


class BedPackage(BaseModel):
    visits_per_week: int
    remote_monitoring: bool


@event_type("youfu.homebed.opened.v1", topic=TOPIC, key="elder_id")
class HomeBedOpened(BaseModel):
    """A 家庭养老床位 opened: every prerequisite held."""

    bed_id: UUID
    elder_id: UUID
    plan_id: UUID
    provider_id: UUID
    opened_on: date
    package: BedPackage


@event_type("youfu.homebed.closed.v1", topic=TOPIC, key="elder_id")
class HomeBedClosed(BaseModel):
    bed_id: UUID
    elder_id: UUID
    closed_on: date
    reason: str
