"""The providers service's schemas: beds."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.providers.schemas._common import (
    Gender,
    Strict,
)

CareLevel = Literal["self_care", "nursing", "dementia"]
BedStatus = Literal["free", "reserved", "occupied", "out_of_service"]


def _bed_label(value: str) -> str:
    """Something visible and no control characters (a room or bed number is printed on the board)."""
    if not value.strip() or any(ord(c) < 32 for c in value):
        raise ValueError("请填写房间号或床位号，不要含控制字符")
    return value.strip()


BedLabel = Annotated[str, AfterValidator(_bed_label)]


class BedIn(Strict):
    room: BedLabel = Field(min_length=1, max_length=30, description="房间号")
    bed_no: BedLabel = Field(min_length=1, max_length=20, description="床位号")
    care_level: CareLevel = Field(description="self_care 自理、nursing 护理型、dementia 失智照护")
    room_gender: Gender | None = Field(None, description="房间限定性别；不填为不限")


class BedsIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"beds": [
        {"room": "101", "bed_no": "1", "care_level": "nursing", "room_gender": "female"},
        {"room": "101", "bed_no": "2", "care_level": "nursing", "room_gender": "female"}]}]})
    beds: list[BedIn] = Field(min_length=1, max_length=500)


class BedPatch(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "out_of_service"}]})
    status: Literal["free", "out_of_service"] | None = Field(None, description="停用或恢复空闲（已预留、已入住的床位不能改）")
    room_gender: Gender | None = Field(None, description="房间限定性别；null 为不限")


class BedOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "bed_id": "5b0f3a52-5d1e-4c1a-9f0e-1f2d3c4b5a69", "provider_id": "0b9a6c1e-8f1f-4a55-9a8e-6a3c2b1d0e9f",
        "room": "101", "bed_no": "1", "care_level": "nursing", "care_level_name": "护理型", "room_gender": "female",
        "status": "free", "status_name": "空闲", "application_id": None, "stay_id": None,
        "updated_at": "2026-03-10T02:00:00Z"}]})
    bed_id: str
    provider_id: str
    room: str
    bed_no: str
    care_level: str
    care_level_name: str
    room_gender: str | None
    status: str
    status_name: str
    application_id: str | None
    stay_id: str | None
    updated_at: datetime


class ReserveIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"application_id": "9d1c7f7e-2f4b-4f0a-8f7e-3b2a1c0d9e8f"}]})
    application_id: uuid.UUID = Field(description="入住申请编号（同一申请重复预留得到同样的结果）")


class OccupyIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "stay_id": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", "application_id": "9d1c7f7e-2f4b-4f0a-8f7e-3b2a1c0d9e8f"}]})
    stay_id: uuid.UUID
    application_id: uuid.UUID | None = Field(None, description="预留该床位的申请；不填时该床位须以入住编号预留（转床）")


class ReleaseIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"stay_id": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"}]})
    application_id: uuid.UUID | None = None
    stay_id: uuid.UUID | None = None


class BedRateIn(Strict):
    care_level: CareLevel
    daily_rate_fen: int = Field(ge=0, le=10_000_000, description="日价格（分/天），不得高于指导价")


class BedRatesIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rates": [
        {"care_level": "self_care", "daily_rate_fen": 7000}, {"care_level": "nursing", "daily_rate_fen": 11000}]}]})
    rates: list[BedRateIn] = Field(min_length=1, max_length=3, description="只改列出的护理等级，其余不变")


class BedRateOut(BaseModel):
    care_level: str
    care_level_name: str
    daily_rate_fen: int | None = Field(description="未设置时为 null")
    guide_daily_rate_fen: int
    policy_version: str | None = Field(description="设置价格时核对的政策版本")
    updated_at: datetime | None


class BedRatesOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "provider_id": "0b9a6c1e-8f1f-4a55-9a8e-6a3c2b1d0e9f", "policy_version": "2026-01", "rates": [
            {"care_level": "nursing", "care_level_name": "护理型", "daily_rate_fen": 11000,
             "guide_daily_rate_fen": 12000, "policy_version": "2026-01", "updated_at": "2026-03-10T02:00:00Z"}]}]})
    provider_id: str
    policy_version: str = Field(description="今天生效的床位政策版本（指导价所依据）")
    rates: list[BedRateOut]


class PlaceOut(BaseModel):
    provider_id: str
    name: str
    kind: str
    kind_name: str
    district_code: str
    district_name: str
    street: str | None
    address: str
    lat: float
    lon: float
    distance_m: float
    rating: float | None
    rating_count: int
    star_rating: int | None
    care_level: str
    care_level_name: str
    daily_rate_fen: int
    free_beds: int = Field(description="该护理等级、性别相符的空闲床位数")
    score: float = Field(description="综合得分 0–1（距离、评分、价格）")


class PlacesOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"places": [{
        "provider_id": "0b9a6c1e-8f1f-4a55-9a8e-6a3c2b1d0e9f", "name": "泰州市海陵区颐养院", "kind": "care_institution",
        "kind_name": "养老机构", "district_code": "321202", "district_name": "海陵区", "street": "城中街道",
        "address": "泰州市海陵区城中街道鼓楼路 1 号", "lat": 32.4906, "lon": 119.9118, "distance_m": 1200.5,
        "rating": 4.6, "rating_count": 12, "star_rating": 3, "care_level": "nursing", "care_level_name": "护理型",
        "daily_rate_fen": 11000, "free_beds": 3, "score": 0.71}]}]})
    places: list[PlaceOut]


class CapacityFigures(BaseModel):
    capacity: int = Field(description="在用床位（空闲、已预留、已入住）")
    occupied: int
    reserved: int
    free: int
    out_of_service: int
    nursing_beds: int
    nursing_share: float | None = Field(description="护理型床位占在用床位的比例")
    nursing_target_met: bool | None


class InstitutionCapacity(CapacityFigures):
    provider_id: str
    name: str
    kind: str
    district_code: str


class DistrictCapacity(CapacityFigures):
    district_code: str
    district_name: str


class CapacityOut(BaseModel):
    policy_version: str
    nursing_share_target: float = Field(description="全市规划的护理型床位占比目标")
    total: CapacityFigures
    districts: list[DistrictCapacity]
    institutions: list[InstitutionCapacity]


class StreetCoverageOut(BaseModel):
    """The bureau's dashboard (issue 26): streets and their approved home-care centres; approved providers' positions."""
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "district_code": "321202",
        "districts": [{"district_code": "321202", "district_name": "海陵区", "lat": 32.49, "lon": 119.92,
                       "streets": [{"street": "城东街道", "lat": 32.49, "lon": 119.94, "centres": ["城东居家养老服务中心"]}]}],
        "providers": [{"provider_id": "4b1c3a52-8f7e-4d4e-9a53-0d6c7e1f2a10", "name": "城东居家养老服务中心",
                       "kind": "home_care_centre", "kind_name": "居家养老服务中心", "district_code": "321202",
                       "street": "城东街道", "lat": 32.49, "lon": 119.94, "area_radius_m": 3000.0}]}]})
    district_code: str | None = Field(description="区县民政只看本区县的街道；为空表示全市")
    districts: list[dict] = Field(description="各区县中心点（示意）和街道（离线地名库），每个街道已通过的居家养老服务中心")
    providers: list[dict] = Field(description="全市已通过的服务商位置（地图上的覆盖范围和就近服务商）")
