"""The vouchers service's schemas: month."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from services.vouchers.rules.policy import DEFAULT_POLICY, MealRules, StayClaimRules
from services.vouchers.schemas._common import (
    _example,
)


class MonthIn(BaseModel):
    model_config = _example(month="2026-11")
    month: str = Field(max_length=7, description="YYYY-MM（北京时间的月份）")
    district_code: str | None = Field(None, max_length=12, description="市级账号可指定区县；区县账号只能是本辖区")


class IssuanceLine(BaseModel):
    district_code: str
    district_name: str
    kind: str
    kind_name: str
    issued_count: int
    issued_fen: int
    already_count: int = Field(description="此前已发放、本次未重复发放的张数")
    already_fen: int


class IssuanceRunOut(BaseModel):
    run_id: UUID
    month: str
    district_code: str | None
    trigger: str
    requested_by: str
    started_at: datetime
    policy_version: int
    issued_count: int
    issued_fen: int
    already_count: int
    already_fen: int
    by_district_kind: list[IssuanceLine]


class SettlementLine(BaseModel):
    service_code: str
    kind: str
    kind_name: str
    redemption_count: int
    redeemed_fen: int
    reversed_fen: int
    net_fen: int


class SettlementSummary(BaseModel):
    settlement_id: str
    month: str
    provider_id: str
    district_code: str
    district_name: str
    status: str = Field(description="draft 草稿 / confirmed 已确认 / paid 已付款")
    redemption_count: int
    redeemed_fen: int
    reversed_fen: int
    net_fen: int
    held_count: int = Field(0, description="回访发现“服务未发生”而暂扣、未计入本结算单的笔数")
    held_fen: int = Field(0, description="暂扣金额（分）")


class SettlementOut(SettlementSummary):
    confirmed_by: str | None
    confirmed_at: datetime | None
    paid_at: datetime | None
    lines: list[SettlementLine]


class MonthEndOut(BaseModel):
    run_id: str
    month: str
    district_code: str | None
    ran_at: datetime
    expired_count: int
    expired_fen: int
    expired_by_kind: list[dict[str, Any]]
    open_holds_left: int = Field(description="仍未了结的预扣笔数，待订单结果后再次运行月末处理")
    stay_claims: int = Field(0, description="本月机构托养床日结算单张数（含此前已起草的）")
    settlements: list[SettlementSummary]


class PolicyIn(BaseModel):
    """A new policy version; the server numbers it. Rules: one per voucher kind (see GET /policies)."""

    model_config = _example(effective_from="2027-01-01", note="2027 年起社区照护券面值上调",
                            rules=[r.model_dump(mode="json") for r in DEFAULT_POLICY.rules])
    effective_from: date
    rules: list[dict[str, Any]] = Field(min_length=1)
    note: str = Field("", max_length=500)
    stay_claims: dict[str, Any] = Field(default_factory=lambda: StayClaimRules().model_dump(mode="json"),
                                        description="机构托养按床日结算的规则（每月计费请假天数上限等）")
    meals: dict[str, Any] = Field(default_factory=lambda: MealRules().model_dump(mode="json"),
                                  description="助餐点用餐补贴的规则（补贴档次、每日补贴餐数上限、稽核阈值）")


class ReportRow(BaseModel):
    key: str
    name: str
    redemption_count: int
    order_amount_fen: int
    voucher_fen: int
    elder_fen: int
    reversed_fen: int
    net_fen: int


class SpendReportOut(BaseModel):
    month: str
    group_by: str
    district_code: str | None
    rows: list[ReportRow]
    totals: dict[str, int]


class SpendMonthRow(BaseModel):
    month: str
    district_code: str
    district_name: str
    kind: str
    kind_name: str
    redemption_count: int
    order_amount_fen: int
    voucher_fen: int
    elder_fen: int
    reversed_fen: int
    net_fen: int


class SpendByMonthOut(BaseModel):
    from_month: str
    to_month: str
    district_code: str | None
    rows: list[SpendMonthRow] = Field(description="按月份 × 区县 × 券种")
    totals: dict[str, int]
