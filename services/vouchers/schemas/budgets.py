"""The vouchers service's schemas: budgets."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from services.vouchers.schemas._common import (
    ELDER,
    MAX_PRICE_FEN,
    PROVIDER,
    _example,
)

MAX_PLAN_OCCURRENCES = 1_000  # per line and month: far above one a day; a bigger number is a typo


class PlanBudgetLineIn(BaseModel):
    service_code: str = Field(min_length=1, max_length=50)
    voucher_kind: Literal["community", "mutual_aid", "self_pay"] = Field(
        description="券种，或 self_pay（自费，不用券）")
    unit_price_fen: int = Field(ge=0, le=MAX_PRICE_FEN, description="所选服务商的单次价格（分）")
    occurrences: int = Field(ge=0, le=MAX_PLAN_OCCURRENCES,
                             description="该月次数（评估服务按频次和起始日计算，月中开始的计划次数较少）")


class PlanBudgetIn(BaseModel):
    model_config = _example(elder_id=ELDER, month="2026-11", lines=[
        {"service_code": "meal", "voucher_kind": "community", "unit_price_fen": 3000, "occurrences": 20}])
    elder_id: UUID
    month: str = Field(max_length=7, description="YYYY-MM（北京时间的月份）")
    lines: list[PlanBudgetLineIn] = Field(min_length=1, max_length=50)


class PlanBudgetLineOut(BaseModel):
    service_code: str
    voucher_kind: str
    unit_price_fen: int
    occurrences: int
    total_fen: int
    voucher_fen: int
    self_fen: int


class PlanBudgetKindOut(BaseModel):
    voucher_kind: str
    kind_name: str
    share_bp: int = Field(description="券支付比例（基点）")
    cap_fen: int = Field(description="该月该券种最多支付（分）")
    cap_source: str = Field(description="wallet 本月已发放：钱包可用余额 / voucher 往月已发放：面值 / "
                                        "policy 未发放：当月生效政策的面值 / none 该月没有此券种")
    share_fen: int = Field(description="按比例券应支付（分），未计上限")
    voucher_fen: int = Field(description="计上限后券支付（分）")
    cut_fen: int = Field(description="因上限由老人多付的金额（分）")


class PlanBudgetOut(BaseModel):
    model_config = _example(
        elder_id=ELDER, month="2026-11", occurrences=20, total_fen=60000, voucher_fen=54000, self_fen=6000,
        over_budget=False, over_budget_fen=0, summary_zh="每月计划 20 次，约 600 元：代金券 540 元，自付 60 元",
        lines=[{"service_code": "meal", "voucher_kind": "community", "unit_price_fen": 3000, "occurrences": 20,
                "total_fen": 60000, "voucher_fen": 54000, "self_fen": 6000}],
        kinds=[{"voucher_kind": "community", "kind_name": "社区照护券", "share_bp": 9000, "cap_fen": 60000,
                "cap_source": "policy", "share_fen": 54000, "voucher_fen": 54000, "cut_fen": 0}])
    elder_id: str
    month: str
    occurrences: int
    total_fen: int
    voucher_fen: int
    self_fen: int
    over_budget: bool = Field(description="券的月度上限不够、或老人该月没有所用券种：老人须同意自付超出部分")
    over_budget_fen: int = Field(description="老人在正常自付比例之外多付的金额（分）")
    summary_zh: str
    lines: list[PlanBudgetLineOut]
    kinds: list[PlanBudgetKindOut]

class StayClaimDraftIn(BaseModel):
    model_config = _example(month="2026-11")
    month: str = Field(max_length=7, description="YYYY-MM：已结束的月份（北京时间）")
    district_code: str | None = Field(None, max_length=12, description="市级账号可指定区县；区县账号只能是本辖区")


class StayClaimLine(BaseModel):
    status: str = Field(description="present 在院 / paid_leave 请假计费 / unpaid_leave 请假超出上限不计费")
    status_name: str
    care_level: str
    care_level_name: str
    daily_rate_fen: int
    days: int
    amount_fen: int


class StayClaimOut(BaseModel):
    claim_id: str
    stay_id: str
    elder_id: str
    provider_id: str
    month: str
    district_code: str | None
    district_name: str
    stay_kind: str
    stay_kind_name: str
    state: str = Field(description="drafted 待机构确认 / confirmed 待民政审核 / settled 已结算")
    state_name: str
    first_day: date
    last_day: date
    present_days: int
    paid_leave_days: int
    unpaid_leave_days: int
    billed_days: int
    amount_fen: int = Field(description="床日费合计（分）")
    voucher_fen: int = Field(description="机构托养券支付（分）")
    elder_fen: int = Field(description="老人自付（分）")
    share_bp: int
    lines: list[StayClaimLine]
    policy_version: int
    revision: int
    confirmed_by: str | None
    confirmed_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    settled_at: datetime | None


MEAL_REDEMPTION = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"


class MealSubsidyIn(BaseModel):
    model_config = _example(redemption_id=MEAL_REDEMPTION, elder_id=ELDER, provider_id=PROVIDER,
                            meal_date="2026-03-10", meal="lunch", price_fen=1500, method="scanned")
    redemption_id: UUID = Field(description="订单服务的用餐核销编号（幂等键）")
    elder_id: UUID
    provider_id: UUID = Field(description="助餐点（服务商）")
    meal_date: date = Field(description="用餐日（本市日期）")
    meal: Literal["lunch", "dinner"]
    price_fen: int = Field(ge=0, le=MAX_PRICE_FEN, description="餐价（分）")
    method: Literal["scanned", "typed"] = Field("scanned", description="扫码或手输码（稽核规则用）")
    served_at: datetime | None = Field(None, description="扫码时间；缺省为收到请求的时间")


class MealSubsidyOut(BaseModel):
    model_config = _example(redemption_id=MEAL_REDEMPTION, status="granted", subsidy_fen=500, self_fen=1000,
                            tier="age_80", tier_name="80 岁及以上", reason_zh="80 岁及以上每餐补贴 5.00 元",
                            receipt_zh="补贴 5.00 元，自付 10.00 元", month="2026-03")
    redemption_id: str
    status: str = Field(description="granted 已补贴（含自费 0 元补贴）/ reversed 已撤销")
    subsidy_fen: int
    self_fen: int
    tier: str
    tier_name: str
    reason_zh: str
    receipt_zh: str
    month: str | None


class MealPointCapacityIn(BaseModel):
    model_config = _example(meals_per_day=200)
    meals_per_day: int = Field(ge=1, le=100_000, description="申报的每日供餐能力（份）")


class MealPointCapacityOut(BaseModel):
    provider_id: str
    meals_per_day: int
    set_by: str
    updated_at: datetime
