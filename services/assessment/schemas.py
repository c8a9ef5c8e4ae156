"""Request and response models of the assessment service, with examples.

Shapes are checked here (types, lengths, choices); rules that need the whole record or the
instrument (ID-card check digit and birth date, item ranges, the city's districts) are checked by
the domain, which names each faulty field with a zh-CN reason.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt

Gender = Literal["male", "female"]
LivingSituation = Literal["alone", "empty_nest", "with_family", "institution"]
EconomicStatus = Literal["tekun", "dibao", "dibao_edge", "expense_hardship", "none"]
ElderStatus = Literal["active", "deceased", "moved_away"]
AssessmentReason = Literal["initial", "periodic", "condition_changed"]

ID_EXAMPLE = "321202194805061239"
ITEMS_EXAMPLE = {"eating": 4, "grooming": 3, "bathing": 2, "stairs": 1}


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


# ---- status lists from other bureaus (docs/decisions.md) -----------------------------------------

ListKind = Literal["deaths", "moves", "assistance"]
ListOutcome = Literal["apply", "unchanged", "name_mismatch", "unknown", "conflicting", "invalid"]


class StatusListIn(_In):
    """The JSON form of an upload, for another system with its service token. Keys of a row:
    deaths `id_card`, `name`, `date`; moves `id_card`, `date` (`name` optional); assistance
    `id_card`, `status` (特困, 低保, 低保边缘 or 无), `valid_from` (`name` optional)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "deaths", "source": "市殡葬管理所 2026-11",
        "rows": [{"id_card": "321202194805061239", "name": "王大爷", "date": "2026-11-20"}],
    }, {
        "kind": "assistance", "source": "民政救助系统",
        "rows": [{"id_card": "321202194805061239", "status": "低保边缘", "valid_from": "2026-12-01"}],
    }]})
    kind: ListKind
    source: str = Field(min_length=1, max_length=200, description="file name or the sending system's name")
    rows: list[dict[str, str | int | None]] = Field(max_length=200_000)


class ListChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    field: Literal["status", "economic_status"]
    from_: str | None = Field(alias="from", examples=["dibao"])
    to: str = Field(examples=["dibao_edge"])
    effective_date: date


class ListCounts(BaseModel):
    rows: int
    matched: int
    apply: int
    unchanged: int
    name_mismatch: int
    unknown: int
    conflicting: int
    invalid: int


class ListLine(BaseModel):
    line: int = Field(description="the file's line (the header is line 1), or the 1-based position of a JSON row")
    outcome: ListOutcome
    reason: str | None = Field(None, description="why, in Chinese; null for apply")
    id_card: str | None = Field(None, examples=["3212**********1239"], description="masked")
    elder_id: UUID | None = None
    elder_name: str | None = Field(None, examples=["王**"], description="masked")
    change: ListChange | None = None
    amount_fen: int | None = Field(None, description="voucher money captured since the date (deaths, moves); "
                                                     "null when vouchers could not be asked")


class StatusListOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "list_id": "5d1c2b9a-0f7e-4c3d-9a8b-1e2f3a4b5c6d", "kind": "deaths", "source": "deaths-2026-11.csv",
        "state": "dry_run", "uploaded_by": "city-officer-1", "uploaded_at": "2026-12-01T02:00:00Z",
        "applied_by": None, "applied_at": None,
        "counts": {"rows": 2, "matched": 1, "apply": 1, "unchanged": 0, "name_mismatch": 0, "unknown": 1,
                   "conflicting": 0, "invalid": 0},
        "money_at_stake_fen": 12000, "offset": 0, "limit": 200,
        "rows": [{"line": 2, "outcome": "apply", "reason": None, "id_card": "3212**********1239",
                  "elder_id": "0b6f3c1e-5a8d-4a57-9c1e-2f4d6b8a9e10", "elder_name": "王**",
                  "change": {"field": "status", "from": "active", "to": "deceased", "effective_date": "2026-11-20"},
                  "amount_fen": 12000},
                 {"line": 3, "outcome": "unknown", "reason": "未找到该身份证号对应的老人档案",
                  "id_card": "3212**********0021", "elder_id": None, "elder_name": None, "change": None,
                  "amount_fen": None}],
    }]})
    list_id: UUID
    kind: ListKind
    source: str
    state: Literal["dry_run", "applied"]
    uploaded_by: str
    uploaded_at: datetime
    applied_by: str | None = None
    applied_at: datetime | None = None
    counts: ListCounts
    money_at_stake_fen: int | None = Field(None, description="null for assistance lists or when vouchers could not be asked")
    offset: int = 0
    limit: int = 200
    rows: list[ListLine]


class StatusListApplied(StatusListOut):
    applied: int = Field(description="rows applied by this request (0 when the list was applied before)")
    unchanged: int = Field(description="rows whose change already held")


class StatusListSummary(BaseModel):
    list_id: UUID
    kind: ListKind
    source: str
    state: Literal["dry_run", "applied"]
    uploaded_by: str
    uploaded_at: datetime
    applied_by: str | None = None
    applied_at: datetime | None = None
    counts: ListCounts
    money_at_stake_fen: int | None = None


class StatusListPage(BaseModel):
    items: list[StatusListSummary]
    total: int
    page: int
    page_size: int


class StatusChangeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "7a1c2b9a-0f7e-4c3d-9a8b-1e2f3a4b5c6d", "elder_id": "0b6f3c1e-5a8d-4a57-9c1e-2f4d6b8a9e10",
        "list_id": "5d1c2b9a-0f7e-4c3d-9a8b-1e2f3a4b5c6d", "kind": "assistance", "file": "救助名单-2026-11.xlsx",
        "line": 17, "field": "economic_status", "from": "dibao", "to": "dibao_edge",
        "effective_date": "2026-12-01", "applied_by": "city-officer-1", "applied_at": "2026-11-28T03:00:00Z",
        "explanation": "根据民政救助名单（2026-12-01 生效），您的救助类别由 低保 调整为 低保边缘；下月起代金券按新类别发放。",
    }]})
    id: UUID
    elder_id: UUID
    list_id: UUID
    kind: ListKind
    file: str
    line: int
    field: str
    from_: str | None = Field(alias="from")
    to: str
    effective_date: date
    applied_by: str
    applied_at: datetime
    explanation: str


# ---- care plans and home beds -------------------------------------------------------------------
# Frequencies are checked by the domain (rules/care_plans.py) so each fault gets a zh-CN reason.
FREQUENCY_EXAMPLES = [{"type": "weekly", "weekdays": [1, 3, 5], "time": "09:00"},
                      {"type": "per_week", "count": 2, "time": "14:00"},
                      {"type": "per_month", "count": 4, "time": "10:00"}]
PROVIDER_EXAMPLE = "4b1c3a52-8f7e-4d4e-9a53-0d6c7e1f2a10"


class PlanItemIn(_In):
    service_code: str = Field(min_length=1, max_length=40, examples=["clean"], description="标准服务目录编码")
    provider_id: UUID | None = Field(None, examples=[PROVIDER_EXAMPLE], description="草稿可暂不选择；提交前必须选择")
    frequency: dict = Field(examples=FREQUENCY_EXAMPLES,
                            description="weekly（weekdays 1–7 + time）| per_week（count ≤ 7 + time）"
                                        "| per_month（count ≤ 28 + time）")
    duration_min: int = Field(60, examples=[60], description="每次服务时长（分钟，10–480）")
    voucher_kind: str = Field("community", examples=["community"], description="community | mutual_aid | self_pay")


class CarePlanIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"start_date": "2026-12-01", "providers": {"clean": PROVIDER_EXAMPLE, "bath": PROVIDER_EXAMPLE,
                                                   "rehab": PROVIDER_EXAMPLE}},
        {"items": [{"service_code": "clean", "provider_id": PROVIDER_EXAMPLE, "duration_min": 60,
                    "frequency": {"type": "weekly", "weekdays": [1, 3, 5], "time": "09:00"},
                    "voucher_kind": "community"}]}]})
    start_date: date | None = Field(None, description="默认今天；不能早于今天")
    items: list[PlanItemIn] | None = Field(None, max_length=20, description="不填则按能力等级从政策表起草")
    providers: dict[str, UUID] | None = Field(None, description="按政策表起草时各服务项目选用的服务商（服务编码 → 服务商）")


class CarePlanUpdate(_In):
    start_date: date | None = None
    items: list[PlanItemIn] = Field(min_length=1, max_length=20)


class ConsentIn(_In):
    method: str = Field(examples=["app"], description="app（老人或家属）| in_person | phone（民政工作人员代为确认）")
    accepts_self_pay: bool = Field(False, description="超出服务券额度时，是否同意自付超出部分")
    given_by_name: str | None = Field(None, max_length=50, examples=["王小红"], description="工作人员代为确认时，表示同意的人")


class ReasonIn(_In):
    reason: str = Field(min_length=1, max_length=200, examples=["家属申请终止"])


class PlanItemOut(BaseModel):
    item_id: UUID
    service_code: str
    provider_id: UUID | None
    frequency: dict
    frequency_zh: str = Field(examples=["每周一、三、五 09:00"])
    duration_min: int
    voucher_kind: str
    voucher_kind_name: str
    unit_price_fen: int | None


class PlanBudgetOut(BaseModel):
    month: str | None = None
    occurrences: int | None = None
    total_fen: int | None = None
    voucher_fen: int | None = None
    self_fen: int | None = None
    over_budget: bool | None = None
    summary_zh: str | None = Field(None, examples=["每月计划 20 次，约 600 元：代金券 540 元，自付 60 元"])
    lines: list[dict] | None = None


class ConsentOut(BaseModel):
    by_account_id: str
    by_role: str
    method: str
    at: str
    given_by_name: str | None = None
    accepts_self_pay_fen: int


class CarePlanOut(BaseModel):
    plan_id: UUID
    elder_id: UUID
    version: int
    state: str
    state_name: str
    kind: str
    assessment_id: UUID
    grade: int
    start_date: date
    review_date: date | None
    items: list[PlanItemOut]
    budget: PlanBudgetOut | None
    consent: ConsentOut | None
    created_by: str
    created_at: datetime
    submitted_at: datetime | None
    activated_at: datetime | None
    review_since: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    replaced_by: UUID | None


class CarePlanPage(BaseModel):
    items: list[CarePlanOut]
    total: int
    page: int
    page_size: int


class ProviderOption(BaseModel):
    provider_id: str
    provider_name: str | None
    distance_m: float | None
    price_fen: int | None
    rating: float | None
    voucher_kinds: list[str]
    rank: int


class BedPackageIn(_In):
    visits_per_week: int = Field(examples=[3], description="每周上门次数")
    remote_monitoring: bool = Field(examples=[True], description="是否提供远程监测")


class HomeBedIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"provider_id": PROVIDER_EXAMPLE, "package": {"visits_per_week": 3, "remote_monitoring": True}}]})
    provider_id: UUID = Field(description="依托的养老机构或居家养老服务中心")
    package: BedPackageIn
    start_date: date | None = None
    items: list[PlanItemIn] | None = Field(None, max_length=20, description="不填则按政策表起草，服务商均为依托服务商")
    providers: dict[str, UUID] | None = None


class DeviceIn(_In):
    kind: str = Field(examples=["call_button"],
                      description="call_button | smart_mattress | door_sensor | smoke_alarm | gas_alarm")
    serial: str = Field(min_length=1, max_length=64, examples=["CB-2026-000123"])
    installed_on: date
    installed_by: str = Field(min_length=1, max_length=100, examples=["泰州市海陵区城中居家养老服务中心 刘师傅"])


class DeviceOut(BaseModel):
    device_id: UUID
    kind: str
    serial: str
    installed_on: date
    installed_by: str
    recorded_by: str
    recorded_at: datetime


class MissingPrerequisite(BaseModel):
    code: str = Field(examples=["adaptation"], description="adaptation | device | eligibility | anchor_provider")
    reason: str


class BedPackageOut(BaseModel):
    visits_per_week: int
    remote_monitoring: bool


class HomeBedOut(BaseModel):
    bed_id: UUID
    elder_id: UUID
    plan_id: UUID
    provider_id: UUID
    state: str
    state_name: str
    package: BedPackageOut
    district_code: str | None
    waiver: dict | None
    devices: list[DeviceOut]
    missing: list[MissingPrerequisite] | None = Field(description="筹备中：开床还缺什么（空列表即可开床）")
    policy_version: str | None
    created_by: str
    created_at: datetime
    opened_on: date | None
    closed_on: date | None
    close_reason: str | None


class HomeBedPage(BaseModel):
    items: list[HomeBedOut]
    total: int
    page: int
    page_size: int


class RosterCountsOut(BaseModel):
    """The bureau's dashboard: the plan's denominators and assessment coverage (issue 26)."""
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "from_month": "2026-11", "to_month": "2026-11", "district_code": "321202", "reassessment_months": 6,
        "rows": [{"month": "2026-11", "district_code": "321202", "reference_day": "2026-11-30", "elders": 300,
                  "hardship_elders": 40, "assessed": 260, "overdue": 12}]}]})
    from_month: str
    to_month: str
    district_code: str | None = Field(description="区县民政只看本区县；为空表示全市")
    reassessment_months: int = Field(description="复评周期（月）")
    rows: list[dict] = Field(description="按月份 × 区县：在册老人、特殊困难老人、已评估、逾期未复评（以月末或今天为准）")
