"""The vouchers service's schemas: audit."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from services.vouchers.schemas._common import (
    ELDER,
    PROVIDER,
    _example,
)


class FindingOut(BaseModel):
    finding_id: str
    key: str
    month: str
    rule: str
    title: str
    explanation: str
    district_code: str | None
    district_name: str
    provider_id: str | None
    elder_id: str | None
    redemption_ids: list[str]
    amount_fen: int = Field(description="涉及的券支付金额（分）；老人已故或迁出后仍有消费的线索即应追缴金额")
    status: str = Field(description="open 待处理 / dismissed 已驳回 / actioned 已处理")
    created_at: datetime


class ActionIn(BaseModel):
    model_config = _example(action="reverse", reason="电话回访老人，当日未接受服务")
    action: Literal["dismiss", "freeze_provider", "reverse"]
    reason: str = Field(min_length=2, max_length=500)


class ActionOut(BaseModel):
    action_id: str
    finding_id: str
    action: str
    status: str
    transfer_ids: list[str]
    created_at: datetime


class Violation(BaseModel):
    code: str
    message: str
    transfer_id: str | None
    account: str | None


class LedgerCheckOut(BaseModel):
    model_config = _example(ok=True, transfers_checked=1234, open_holds=12, accounts=310, violations=[])
    ok: bool
    transfers_checked: int
    open_holds: int
    accounts: int
    violations: list[Violation]


class RecoveryElderIn(BaseModel):
    elder_id: UUID
    since: date = Field(description="去世或迁出日期（上海时间），此日及以后开始的服务计入")


class RecoveryEstimateIn(BaseModel):
    model_config = _example(elders=[{"elder_id": ELDER, "since": "2026-11-03"}])
    elders: list[RecoveryElderIn] = Field(max_length=200_000)


class RecoveryProvider(BaseModel):
    provider_id: str
    provider_name: str | None = Field(description="本服务未保存服务商名称时为空")
    amount_fen: int


class RecoveryElder(BaseModel):
    elder_id: str
    amount_fen: int = Field(description="应追缴的券支付金额（分），已扣除冲正")
    providers: list[RecoveryProvider]


class RecoveryEstimateOut(BaseModel):
    model_config = _example(elders=[{"elder_id": ELDER, "amount_fen": 9000, "providers": [
        {"provider_id": PROVIDER, "provider_name": None, "amount_fen": 9000}]}])
    elders: list[RecoveryElder] = Field(description="无应追缴金额的老人不列出")
