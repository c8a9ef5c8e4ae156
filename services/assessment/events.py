"""Events the assessment service publishes on `youfu.assessment` (key: elder id)."""
from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel

from shared.events import event_type

TOPIC = "youfu.assessment"


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


@event_type("youfu.elder.registered.v1", topic=TOPIC, key="elder_id")
class ElderRegistered(ElderFacts):
    """An elder's record was created."""


@event_type("youfu.elder.updated.v1", topic=TOPIC, key="elder_id")
class ElderUpdated(ElderFacts):
    """An elder's record changed (address, economic status, status, hardship flag …)."""


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
