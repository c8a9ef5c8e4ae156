"""Request and response models of the gateway's own routes."""
from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Phone = Field(pattern=r"^1[3-9]\d{9}$", examples=["13800000001"], description="中国大陆手机号（登录名）")


class LoginIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"phone": "13800000001", "password": "youfu-demo-1"}]})
    phone: str = Phone
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class LogoutIn(BaseModel):
    refresh_token: str | None = Field(default=None, max_length=200)


class UserIn(BaseModel):
    phone: str = Phone
    password: str = Field(min_length=8, max_length=200)
    display_name: str = Field(min_length=1, max_length=50, examples=["王阿姨"])
    role: Literal["elder", "family", "caregiver", "provider_admin", "assessor", "officer", "city_officer", "admin", "operator"]
    district_code: str | None = Field(default=None, pattern=r"^\d{6}$", examples=["321202"])
    provider_id: str | None = Field(default=None, max_length=36)
    caregiver_id: str | None = Field(default=None, max_length=36)
    elder_id: str | None = Field(default=None, max_length=36)


class UserPatch(BaseModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=50)
    role: Literal["elder", "family", "caregiver", "provider_admin", "assessor", "officer", "city_officer", "admin",
                  "operator"] | None = None
    district_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    provider_id: str | None = Field(default=None, max_length=36)
    caregiver_id: str | None = Field(default=None, max_length=36)
    status: Literal["active", "disabled"] | None = None


class PasswordResetIn(BaseModel):
    new_password: str = Field(min_length=8, max_length=200)


class FamilyLinkIn(BaseModel):
    user_id: str = Field(max_length=36, description="家属账号编号")
    elder_id: str = Field(max_length=36)
    relation: str = Field(min_length=1, max_length=20, examples=["女儿"])
    consent_by: str = Field(min_length=1, max_length=50, examples=["老人本人"])
    consent_method: Literal["in_person", "phone_call", "signed_form", "app"]


# ---- the 12349 hotline desk (gateway/hotline.py) ----

class LookupIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"phone": "13800000008"}]})
    phone: str = Field(min_length=5, max_length=20, description="来电号码（手机号或带区号的固定电话）")


class CallIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "caller_phone": "13800000008", "caller_kind": "family", "elder_id": "6f1c1b9e-8f5e-4a43-9a53-0c2b1c7f4d10",
        "reason": "order", "outcome": "order_placed", "started_at": "2026-12-05T01:00:00Z",
        "ended_at": "2026-12-05T01:04:30Z", "note": "女儿来电为父亲预约助洁", "order_id": None}]})
    caller_phone: str = Field(min_length=5, max_length=20, description="来电号码（加密保存，按盲索引检索）")
    caller_kind: Literal["elder", "family", "unknown"] = Field("unknown", description="来电人：老人本人、家属或未识别")
    elder_id: uuid.UUID | None = Field(None, description="来电所涉老人（须在坐席的辖区内）")
    reason: str = Field(max_length=20, description="来电事由：consult 咨询、order 下单、complaint 投诉、emergency 紧急、"
                                                   "return_visit 回访、other 其他")
    outcome: str = Field(max_length=20, description="处理结果：answered 已解答、order_placed 已代为下单、"
                                                    "complaint_filed 已登记投诉、dispatched 已派人处置、transferred 已转交、"
                                                    "callback 需要回电、other 其他")
    started_at: AwareDatetime = Field(description="通话开始时间")
    ended_at: AwareDatetime = Field(description="通话结束时间（时长由两者算出）")
    note: str = Field("", max_length=2000, description="备注（不超过 500 字）")
    order_id: uuid.UUID | None = Field(None, description="通话中代为下的订单")
