"""The providers service's schemas: providers."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.providers.schemas._common import (
    ProviderKind,
    Strict,
)


class ProviderApplication(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "home_care_centre", "legal_name": "泰州市海陵区城中居家养老服务中心",
        "credit_code": "52321202MJ0000000X", "district_code": "321202", "street": "城中街道",
        "address": "泰州市海陵区城中街道鼓楼路 1 号", "lat": 32.4906, "lon": 119.9118,
        "contact_name": "周主任", "contact_phone": "0523-86000000", "star_rating": 3}]})
    kind: ProviderKind
    legal_name: str = Field(min_length=2, max_length=200)
    credit_code: str = Field(max_length=40, description="统一社会信用代码（18 位，含校验位）")
    district_code: str = Field(max_length=12)
    street: str | None = Field(None, max_length=100)
    address: str = Field(min_length=2, max_length=300)
    lat: float | None = Field(None, description="WGS-84 纬度；与经度都不填时按地址估算")
    lon: float | None = Field(None, description="WGS-84 经度；与纬度都不填时按地址估算")
    contact_name: str = Field(min_length=1, max_length=50)
    contact_phone: str = Field(pattern=r"^[0-9+\-() ]{7,20}$")
    star_rating: int | None = Field(None, ge=1, le=5, description="民政部门评定的星级（如有）")
    note: str | None = Field(None, max_length=500)


class GeocodeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "lat": 32.49, "lon": 119.941, "precision": "street", "matched": "城东街道", "source": "gazetteer"}]})
    lat: float = Field(description="WGS-84")
    lon: float = Field(description="WGS-84")
    precision: Literal["address", "street", "district"] = Field(
        description="address：门址或道路（地图服务）；street：街道或镇的大致中心；district：区县的大致中心")
    matched: str = Field(description="识别出的地名（地图服务：所查询的地址）")
    source: Literal["gazetteer", "baidu"] = Field(description="gazetteer：内置地名表（近似位置）；baidu：百度地图")


class ReasonIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "食品经营许可证已过期"}]})
    reason: str | None = Field(None, min_length=2, max_length=500)


class StarRatingIn(Strict):
    star_rating: int | None = Field(ge=1, le=5)
    reason: str = Field(min_length=2, max_length=500)


class DocumentsState(BaseModel):
    ok: bool
    valid_until: date | None
    missing: list[str]
    expired: list[str]
    problem: str | None


class ServiceArea(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"radius_m": 5000, "streets": ["城中街道", "城东街道"]}]})
    radius_m: float | None = Field(None, gt=0, le=200_000, description="以服务商地址为圆心的服务半径（米）")
    streets: list[str] = Field(default_factory=list, max_length=100)


class ProviderOut(BaseModel):
    """The public view (name, kind, district, rating, star) for anyone signed in; officers, city
    level, the provider's own staff and services also get the details (the optional fields)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "4b1c3a52-8f7e-4d4e-9a53-0d6c7e1f2a10", "name": "泰州市海陵区城中居家养老服务中心",
        "kind": "home_care_centre", "kind_name": "居家养老服务中心", "district_code": "321202", "district_name": "海陵区",
        "street": "城中街道", "status": "approved", "status_name": "已通过", "rating": 4.6, "rating_count": 25,
        "star_rating": 3}]})
    id: str
    name: str
    kind: str
    kind_name: str
    district_code: str
    district_name: str
    street: str | None
    status: str
    status_name: str
    rating: float | None
    rating_count: int
    star_rating: int | None
    credit_code: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    status_reason: str | None = None
    status_changed_at: datetime | None = None
    service_area: ServiceArea | None = None
    documents: DocumentsState | None = None
    geocoded: GeocodeOut | None = Field(None, description="仅在申请时未填经纬度、按地址估算位置时出现：位置的来源")
    applied_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class HistoryEntry(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "action": "suspend", "from_status": "approved", "to_status": "suspended", "reason": "食品经营许可证已过期",
        "actor_id": "u-officer-1", "actor_role": "officer", "at": "2026-03-10T02:00:00Z"}]})
    action: str
    from_status: str | None
    to_status: str
    reason: str
    actor_id: str
    actor_role: str
    at: datetime
