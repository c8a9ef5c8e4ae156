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
