"""Request and response models of the gateway's own routes."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
    role: Literal["elder", "family", "caregiver", "provider_admin", "assessor", "officer", "city_officer", "admin"]
    district_code: str | None = Field(default=None, pattern=r"^\d{6}$", examples=["321202"])
    provider_id: str | None = Field(default=None, max_length=36)
    caregiver_id: str | None = Field(default=None, max_length=36)
    elder_id: str | None = Field(default=None, max_length=36)


class UserPatch(BaseModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=50)
    role: Literal["elder", "family", "caregiver", "provider_admin", "assessor", "officer", "city_officer", "admin"] | None = None
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
