"""Stays in institutions' beds (issue 22): applications, admission, leave, transfer, discharge."""
from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.orders.schemas._common import (
    ELDER,
    PROVIDER,
    _example,
)

APPLICATION = "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098"
STAY = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
BED = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"

CareLevel = Literal["self_care", "nursing", "dementia"]


class StayApplicationIn(BaseModel):
    model_config = _example(elder_id=ELDER, provider_id=PROVIDER, care_level="nursing", kind="respite",
                            planned_start="2026-03-16", planned_end="2026-03-29", note="家属出差两周")
    elder_id: UUID
    provider_id: UUID = Field(description="申请入住的养老机构")
    care_level: CareLevel = Field(description="self_care 自理 / nursing 护理型 / dementia 失智照护")
    kind: Literal["long_term", "respite"] = Field(description="long_term 长期托养 / respite 短期喘息")
    planned_start: date
    planned_end: date | None = Field(None, description="仅短期喘息填写；最长天数见政策数据（默认 30 天）")
    note: str = Field("", max_length=500)


class StayAcceptIn(BaseModel):
    model_config = _example(bed_id=BED)
    bed_id: UUID = Field(description="为该申请预留的床位（向服务商服务预留，已占用则 409）")


class StayDeclineIn(BaseModel):
    model_config = _example(reason="暂无失智照护床位")
    reason: str = Field(min_length=1, max_length=500)


class StayApplicationOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    application_id: str
    elder_id: str
    elder_name: str | None = Field(None, description="老人姓名（机构办理入住需要核对本人）")
    provider_id: str
    care_level: str
    kind: str
    planned_start: str
    planned_end: str | None
    status: str = Field(description="submitted 待受理 / accepted 已接收 / declined 已婉拒 / admitted 已入住")
    bed_id: str | None


class StayAdmitIn(BaseModel):
    model_config = _example(application_id=APPLICATION, admitted_on="2026-03-16")
    application_id: UUID
    admitted_on: date


class StayLeaveIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"kind": "home", "from": "2026-04-03",
                                                               "to": "2026-04-06"}]},
                              extra="forbid", validate_by_name=True)
    kind: Literal["home", "hospital"] = Field(description="home 回家 / hospital 住院")
    leave_from: date = Field(alias="from", description="请假第一天（含）")
    leave_to: date = Field(alias="to", description="请假最后一天（含，预计）")


class StayOnIn(BaseModel):
    model_config = _example(on="2026-04-06")
    on: date


class StayTransferIn(BaseModel):
    model_config = _example(bed_id=BED, on="2026-05-01")
    bed_id: UUID = Field(description="转入的床位（本机构或其他机构），向服务商服务预留")
    on: date


class StayDischargeIn(BaseModel):
    model_config = _example(on="2026-06-30", reason="家属接回")
    on: date
    reason: str = Field(min_length=1, max_length=200)


class StayOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    stay_id: str
    application_id: str
    elder_id: str
    elder_name: str | None = Field(None, description="老人姓名")
    provider_id: str
    bed_id: str
    care_level: str
    kind: str
    daily_rate_fen: int
    status: str = Field(description="admitted 在院 / on_leave 请假外出 / back 已销假 / transferred 已转床 / "
                                    "discharged 已出院 / ended_by_death 已故")
    admitted_on: str
    ended_on: str | None
