"""The assessment service's schemas: elders."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from services.assessment.schemas._common import (
    ID_EXAMPLE,
    ITEMS_EXAMPLE,
    AssessmentReason,
    EconomicStatus,
    ElderStatus,
    Gender,
    LivingSituation,
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmergencyContactIn(_In):
    name: str = Field(min_length=1, max_length=50, examples=["王小红"])
    relation: str = Field(min_length=1, max_length=20, examples=["女儿"])
    phone: str = Field(min_length=1, max_length=20, examples=["13912345678"])


class EmergencyContactOut(BaseModel):
    name: str
    relation: str
    phone: str = Field(description="masked unless the caller may see it (see access.py)")


class ElderIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "王大爷", "gender": "male", "birth_date": "1948-05-06", "id_card": ID_EXAMPLE,
        "phone": "13812345678", "address": "泰州市海陵区城东街道凤凰路 12 号 3 栋 201", "lat": 32.4901,
        "lon": 119.9213, "district_code": "321202", "street": "城东", "living_situation": "alone",
        "economic_status": "dibao", "emergency_contacts": [{"name": "王小红", "relation": "女儿", "phone": "13912345678"}],
    }]})

    name: str = Field(min_length=1, max_length=50)
    gender: Gender
    birth_date: date
    id_card: str = Field(min_length=1, max_length=30, description="18-character resident ID number")
    phone: str | None = Field(default=None, max_length=20)
    address: str = Field(min_length=1, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90, description="WGS-84")
    lon: float | None = Field(default=None, ge=-180, le=180, description="WGS-84")
    district_code: str = Field(min_length=1, max_length=6, description="one of Taizhou's six county-level codes")
    street: str | None = Field(default=None, max_length=50)
    living_situation: LivingSituation
    economic_status: EconomicStatus
    status: ElderStatus = "active"
    status_date: date | None = None
    emergency_contacts: list[EmergencyContactIn] = Field(default_factory=list, max_length=5)


class ElderPatch(_In):
    """Only the fields sent change; `emergency_contacts`, when sent, replaces the whole list."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"economic_status": "tekun", "living_situation": "empty_nest"},
        {"status": "deceased", "status_date": "2026-03-02"},
    ]})

    name: str | None = Field(default=None, min_length=1, max_length=50)
    gender: Gender | None = None
    birth_date: date | None = None
    id_card: str | None = Field(default=None, min_length=1, max_length=30)
    phone: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, min_length=1, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    district_code: str | None = Field(default=None, min_length=1, max_length=6)
    street: str | None = Field(default=None, max_length=50)
    living_situation: LivingSituation | None = None
    economic_status: EconomicStatus | None = None
    status: ElderStatus | None = None
    status_date: date | None = None
    emergency_contacts: list[EmergencyContactIn] | None = Field(default=None, max_length=5)


class ElderOut(BaseModel):
    id: UUID
    name: str
    gender: Gender
    gender_name: str
    birth_date: date
    age: int
    id_card: str = Field(examples=["3212**********1239"])
    phone: str | None = Field(examples=["138****5678"])
    address: str
    lat: float | None
    lon: float | None
    district_code: str
    district_name: str
    street: str | None
    living_situation: LivingSituation
    living_situation_name: str
    economic_status: EconomicStatus
    economic_status_name: str
    status: ElderStatus
    status_name: str
    status_date: date | None
    grade: int | None = Field(description="grade of the latest finalised assessment")
    last_finalised_at: datetime | None
    reassessment_due_on: date | None
    special_hardship: bool
    special_hardship_reasons: list[str]
    emergency_contacts: list[EmergencyContactOut]
    unmasked: list[str] = Field(description="fields shown in full in this answer (each such read is logged)")
    created_at: datetime
    updated_at: datetime


class ElderPage(BaseModel):
    items: list[ElderOut]
    total: int
    page: int
    page_size: int


class AssignmentIn(_In):
    assessor_id: str = Field(min_length=1, max_length=100, examples=["0b6f3c1e-5a8d-4a57-9c1e-2f4d6b8a9e10"],
                             description="the assessor's user id (from the gateway's accounts)")


class AssignmentOut(BaseModel):
    elder_id: UUID
    assessor_id: str
    source: Literal["officer", "assessment"]
    assigned_by: str
    assigned_at: datetime


class InstrumentSummary(BaseModel):
    code: str
    name: str
    version: str
    description: str
    default: bool
    item_count: int
    max_total: int


class ScoreIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "items": {"eating": 2, "grooming": 2, "bathing": 1, "...": "every item of the instrument"},
        "coma": False, "diagnoses": ["F01.1"], "risk_events_30d": ["fall", "fall"],
    }]})

    items: dict[str, StrictInt] = Field(description="item code → score")
    coma: bool = False
    diagnoses: list[str] = Field(default_factory=list, max_length=30, description="ICD-10 codes, e.g. F01 or F03.9")
    risk_events_30d: list[str] = Field(default_factory=list, max_length=60,
                                       description="one entry per care-risk event in the last 30 days: "
                                                   "fall, choking, suicide_attempt, self_harm, wandering")


class DimensionScore(BaseModel):
    code: str
    name: str
    score: int
    max: int


class AdjustmentOut(BaseModel):
    rule: str
    reason: str
    grade_before: int
    grade_after: int


class CarePlan(BaseModel):
    visits_per_week: int
    hours_per_week: float
    services: list[str]
    note: str


class ScoreOut(BaseModel):
    instrument: str
    instrument_version: str
    dimensions: list[DimensionScore]
    total: int
    max_total: int
    initial_grade: int
    initial_grade_name: str
    grade: int
    grade_name: str
    adjustments: list[AdjustmentOut]
    care_plan: CarePlan | None = Field(description="suggested home-care plan for the grade (policy data)")


class AssessmentIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "instrument": "gb_t_42195_2022", "reason": "initial", "items": ITEMS_EXAMPLE, "coma": False,
        "diagnoses": [], "risk_events_30d": ["fall"], "note": "上门评估，女儿在场",
    }]})

    instrument: str = Field(default="gb_t_42195_2022", max_length=40)
    reason: AssessmentReason | None = Field(default=None, description="default: initial, or periodic after one")
    items: dict[str, StrictInt] = Field(default_factory=dict, description="partial scores are allowed in a draft")
    coma: bool = False
    diagnoses: list[str] = Field(default_factory=list, max_length=30)
    risk_events_30d: list[str] = Field(default_factory=list, max_length=60)
    note: str = Field(default="", max_length=500)


class AssessmentUpdate(_In):
    """The draft's whole content: what is sent replaces what was saved."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "items": ITEMS_EXAMPLE | {"walking": 2}, "coma": False, "diagnoses": ["F03"], "risk_events_30d": [], "note": "",
    }]})

    items: dict[str, StrictInt] = Field(default_factory=dict)
    coma: bool = False
    diagnoses: list[str] = Field(default_factory=list, max_length=30)
    risk_events_30d: list[str] = Field(default_factory=list, max_length=60)
    note: str = Field(default="", max_length=500)


class AssessmentOut(BaseModel):
    id: UUID
    elder_id: UUID
    previous_id: UUID | None
    reason: AssessmentReason
    instrument: str
    instrument_version: str
    state: Literal["draft", "signed", "finalised"]
    state_name: str
    items: dict[str, int]
    missing_items: list[str] = Field(description="item codes not scored yet")
    coma: bool
    diagnoses: list[str]
    risk_events_30d: list[str]
    note: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    first_assessor_id: str | None
    first_signed_at: datetime | None
    second_assessor_id: str | None
    finalised_at: datetime | None
    valid_until: date | None
    result: ScoreOut | None


class DueElder(BaseModel):
    elder_id: UUID
    name: str
    district_code: str
    street: str | None
    grade: int | None
    last_finalised_at: datetime | None
    due_on: date | None = Field(description="None when never assessed")
    why: Literal["never_assessed", "period_elapsed", "condition_changed"]
    why_name: str
    open_assessment_id: UUID | None


class DuePage(BaseModel):
    items: list[DueElder]
    total: int
    page: int
    page_size: int
    reassessment_months: int


class AccessLogEntry(BaseModel):
    id: UUID
    at: datetime
    user_id: str
    role: str
    elder_id: UUID
    fields: list[str]
    route: str
    request_id: str | None


class AccessLogPage(BaseModel):
    items: list[AccessLogEntry]
    total: int
    page: int
    page_size: int
