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


class NoticeOut(BaseModel):
    """一条通知（live notices, issue 24）。"""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "5f0c…:9a1e…", "seq": 42, "kind": "order.checked_in", "title": "护理员已到达", "body": "李红已到达，12月5日 09:30",
        "link": "/elder", "at": "2026-12-05T01:30:00+00:00", "read": False}]})
    id: str = Field(description="通知编号（事件编号:账号编号）")
    seq: int = Field(description="到达顺序（实时推送的事件编号，断线重连时从这里接着推）")
    kind: str = Field(description="通知类别，即事件类型去掉前缀和版本，如 order.checked_in", examples=["order.checked_in"])
    title: str = Field(description="标题", examples=["护理员已到达"])
    body: str = Field(description="正文", examples=["李红已到达"])
    link: str | None = Field(description="相关页面", examples=["/elder"])
    at: str = Field(description="事件发生时间（ISO 8601）")
    read: bool = Field(description="是否已读")


class NoticeList(BaseModel):
    items: list[NoticeOut] = Field(description="最近的通知，新的在前（每个账号保留最近 50 条）")
    unread: int = Field(description="未读条数")


class NoticesReadIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"ids": ["5f0c…:9a1e…"]}, {}]})
    ids: list[str] | None = Field(default=None, max_length=50,
                                  description="要标为已读的通知编号；不填表示全部标为已读")


class NoticesReadOut(BaseModel):
    marked: int = Field(description="这次标为已读的条数")


class NoticeTicketOut(BaseModel):
    ticket: str = Field(description="打开 GET /api/notices/stream?ticket=… 的一次性凭证（只能用于实时通知）")
    expires_in: int = Field(description="凭证有效秒数（打开之后连接持续到登录凭证过期）", examples=[60])
    kinds: list[str] = Field(description="可能推送的通知类别（SSE 的 event 名）", examples=[["order.checked_in"]])


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


class CallOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "0b0c5d1e-8f5e-4a43-9a53-0c2b1c7f4d10", "caller_phone": "138****0008", "caller_kind": "family",
        "elder_id": "6f1c1b9e-8f5e-4a43-9a53-0c2b1c7f4d10", "elder_name": "王大爷", "district_code": "321202",
        "district_name": "海陵区", "operator_id": "5e2b7c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b", "operator_name": "12349 坐席 孙丽",
        "reason": "order", "reason_name": "下单", "outcome": "order_placed", "outcome_name": "已代为下单",
        "started_at": "2026-12-05T01:00:00+00:00", "ended_at": "2026-12-05T01:04:30+00:00", "duration_s": 270,
        "note": "女儿来电为父亲预约助洁", "order_id": None}]})
    id: str
    caller_phone: str = Field(description="来电号码：市级民政和接听的坐席看完整号码，其他人看脱敏号码")
    caller_kind: str = Field(description="elder 老人本人 / family 家属 / unknown 未识别")
    elder_id: str | None
    elder_name: str | None
    district_code: str | None
    district_name: str | None
    operator_id: str
    operator_name: str
    reason: str
    reason_name: str
    outcome: str
    outcome_name: str
    started_at: str
    ended_at: str
    duration_s: int = Field(description="通话时长（秒）")
    note: str
    order_id: str | None


class CallPage(BaseModel):
    items: list[CallOut]
    total: int = Field(description="符合条件的来电总数")


class CallerOut(BaseModel):
    kind: Literal["elder", "family", "unknown"] = Field(description="来电人：老人本人、家属或未识别")
    phone: str = Field(description="规范化后的来电号码（坐席刚输入的号码）")
    phone_masked: str
    name: str | None = Field(description="家属或老人账号的名称（仅当其老人在坐席辖区内）")


class ElderCard(BaseModel):
    id: str
    name: str
    gender_name: str | None = None
    age: int | None = None
    district_code: str
    district_name: str | None = None
    street: str | None = None
    address: str | None = None
    phone: str | None = Field(None, description="脱敏电话")
    status: str | None = None
    status_name: str | None = None
    grade: int | None = None
    special_hardship: bool | None = None
    match: Literal["elder_phone", "elder_account", "family"] = Field(
        description="怎么找到的：档案电话、老人账号、家属账号的绑定")
    relation: str | None = Field(None, description="来电人与老人的关系（家属绑定时登记）")


class LookupOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "caller": {"kind": "family", "phone": "13800000008", "phone_masked": "138****0008", "name": "王大爷的女儿"},
        "elders": [{"id": "6f1c1b9e-8f5e-4a43-9a53-0c2b1c7f4d10", "name": "王大爷", "gender_name": "男", "age": 80,
                    "district_code": "321202", "district_name": "海陵区", "street": "城中街道",
                    "address": "泰州市海陵区城中街道鼓楼南路 18 号", "phone": "138****0007", "status": "active",
                    "status_name": "在册", "grade": 2, "special_hardship": False, "match": "family",
                    "relation": "女儿"}]}]})
    caller: CallerOut
    elders: list[ElderCard]
