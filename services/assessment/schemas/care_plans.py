"""The assessment service's schemas: care plans and home beds."""
from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.assessment.schemas.elders import (
    _In,
)

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
