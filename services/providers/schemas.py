"""Request and response models of the providers service, with examples (they feed the merged
OpenAPI document). Money is integer fen; dates are YYYY-MM-DD; times are ISO 8601 with a zone."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

ProviderKind = Literal["care_institution", "home_care_centre", "meal_point", "bathing_point", "mutual_aid_group",
                       "home_service_company"]
ProviderStatus = Literal["applied", "approved", "suspended", "rejected"]
VoucherKind = Literal["community", "mutual_aid", "institutional"]
Unit = Literal["per_visit", "per_hour", "per_meal", "per_month"]
DocumentKind = Literal["licence", "institution_filing", "food_permit", "insurance", "other"]
Gender = Literal["female", "male"]
CaregiverStatus = Literal["active", "on_leave", "inactive"]
CertificateLevel = Literal["level_5", "level_4", "level_3", "level_2", "level_1"]
Category = Literal["daily_living", "basic_nursing", "health", "visiting", "companionship", "errands",
                   "home_adaptation", "residential"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- standard catalogue ------------------------------------------------------------------------

class ServiceItemIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "助餐", "category": "daily_living", "unit": "per_meal", "guide_price_fen": 1500, "min_duration_min": 0,
        "voucher_kinds": ["community"], "dispatch_mode": "sequential", "grab_size": 1}]})
    name: str = Field(min_length=1, max_length=50)
    category: Category
    unit: Unit
    guide_price_fen: int = Field(ge=0, le=10_000_000)
    min_duration_min: int = Field(ge=0, le=100_000)
    voucher_kinds: list[VoucherKind] = Field(max_length=3)
    dispatch_mode: Literal["sequential", "grab"]
    grab_size: int = Field(ge=1, le=20)


class ServiceItemOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": "meal", "name": "助餐", "category": "daily_living", "category_name": "生活照料", "unit": "per_meal",
        "unit_name": "餐", "guide_price_fen": 1500, "min_duration_min": 0, "voucher_kinds": ["community"],
        "dispatch_mode": "sequential", "grab_size": 1, "updated_by": "system",
        "updated_at": "2026-03-01T00:00:00Z"}]})
    code: str
    name: str
    category: str
    category_name: str
    unit: str
    unit_name: str
    guide_price_fen: int
    min_duration_min: int
    voucher_kinds: list[str]
    dispatch_mode: str
    grab_size: int
    updated_by: str
    updated_at: datetime


# ---- providers ---------------------------------------------------------------------------------

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


# ---- documents ---------------------------------------------------------------------------------

class DocumentIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "food_permit", "number": "JY33212020000001", "issued_on": "2025-06-01", "expires_on": "2030-05-31"}]})
    kind: DocumentKind
    number: str = Field(min_length=2, max_length=100)
    issued_on: date | None = None
    expires_on: date
    file_url: str | None = Field(None, max_length=500)


class DocumentOut(BaseModel):
    id: str
    provider_id: str
    provider_name: str
    district_code: str
    provider_status: str
    kind: str
    kind_name: str
    number: str
    issued_on: date | None
    expires_on: date
    days_left: int
    expired: bool
    required: bool
    file_url: str | None
    uploaded_by: str
    uploaded_at: datetime


class DocumentsOut(BaseModel):
    state: DocumentsState
    documents: list[DocumentOut]


# ---- catalogue ---------------------------------------------------------------------------------

class CatalogueItemIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "service_code": "meal", "price_fen": 1200, "voucher_kinds": ["community"]}]})
    service_code: str = Field(min_length=1, max_length=40)
    name: str | None = Field(None, max_length=100, description="默认为标准目录中的名称")
    price_fen: int = Field(ge=0, le=10_000_000)
    min_duration_min: int | None = Field(None, ge=0, le=100_000, description="默认为标准目录的最短时长")
    voucher_kinds: list[VoucherKind] | None = Field(None, max_length=3, description="默认为该项目允许的全部券种")
    active: bool = True


class CatalogueItemPatch(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"price_fen": 1400, "active": True}]})
    name: str | None = Field(None, max_length=100)
    price_fen: int | None = Field(None, ge=0, le=10_000_000)
    min_duration_min: int | None = Field(None, ge=0, le=100_000)
    voucher_kinds: list[VoucherKind] | None = Field(None, max_length=3)
    active: bool | None = None


class CatalogueItemOut(BaseModel):
    id: str
    provider_id: str
    service_code: str
    name: str
    unit: str
    unit_name: str
    price_fen: int
    min_duration_min: int
    voucher_kinds: list[str]
    active: bool
    updated_at: datetime


# ---- caregivers --------------------------------------------------------------------------------

class WorkingHours(Strict):
    days: list[int] = Field(min_length=1, max_length=7, description="1 = 周一 … 7 = 周日")
    start: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["08:00"])
    end: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["17:30"])


class CaregiverIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "刘秀英", "gender": "female", "skills": ["meal", "clean", "bath"], "certificate_level": "level_4",
        "base_lat": 32.4921, "base_lon": 119.9150, "service_radius_m": 5000,
        "working_hours": [{"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "17:30"}], "daily_limit": 6}]})
    name: str = Field(min_length=1, max_length=50)
    gender: Gender
    skills: list[str] = Field(min_length=1, max_length=20, description="会做的服务：标准目录代码")
    certificate_level: CertificateLevel | None = Field(None, description="养老护理员职业技能等级")
    base_lat: float | None = Field(None, description="出发地 WGS-84 纬度；与经度都不填时按 base_address 估算")
    base_lon: float | None = Field(None, description="出发地 WGS-84 经度")
    base_address: str | None = Field(None, min_length=2, max_length=300,
                                     description="出发地地址：只用来估算未填的经纬度，不保存")
    service_radius_m: float = Field(5_000, gt=0, le=200_000)
    working_hours: list[WorkingHours] = Field(default_factory=list, max_length=14, description="空表示不限")
    daily_limit: int = Field(8, ge=1, le=50, description="每天最多接单数")
    status: CaregiverStatus = "active"


class CaregiverPatch(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "on_leave"}]})
    name: str | None = Field(None, min_length=1, max_length=50)
    gender: Gender | None = None
    skills: list[str] | None = Field(None, min_length=1, max_length=20)
    certificate_level: CertificateLevel | None = None
    base_lat: float | None = None
    base_lon: float | None = None
    service_radius_m: float | None = Field(None, gt=0, le=200_000)
    working_hours: list[WorkingHours] | None = Field(None, max_length=14)
    daily_limit: int | None = Field(None, ge=1, le=50)
    status: CaregiverStatus | None = None


class CaregiverOut(BaseModel):
    id: str
    provider_id: str
    provider_name: str
    name: str
    gender: str
    skills: list[str]
    certificate_level: str | None
    certificate_name: str | None
    volunteer: bool
    base_lat: float
    base_lon: float
    service_radius_m: float
    working_hours: list[WorkingHours]
    daily_limit: int
    today_load: int
    status: str
    status_name: str
    rating: float | None
    rating_count: int
    created_at: datetime
    updated_at: datetime
    geocoded: GeocodeOut | None = Field(None, description="仅在登记时未填经纬度、按地址估算位置时出现：位置的来源")


# ---- candidates --------------------------------------------------------------------------------

class CandidateOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "provider_id": "4b1c3a52-8f7e-4d4e-9a53-0d6c7e1f2a10", "provider_name": "泰州市海陵区城中居家养老服务中心",
        "caregiver_id": "9e0f0c8e-2d55-4a9b-8a83-7c9f4c1d2e33", "caregiver_name": "刘秀英", "distance_m": 812.4,
        "score": 0.6931, "score_parts": {"distance": 0.3555, "rating": 0.1522, "load": 0.1125, "continuity": 0.0},
        "rating": 4.8, "rating_count": 12, "price_fen": 1200, "item_id": "0d5b8a44-1f3e-4c11-9d0e-6a1b2c3d4e5f",
        "voucher_kinds": ["community"], "load_today": 2, "daily_limit": 8, "volunteer": False}]})
    provider_id: str
    provider_name: str
    caregiver_id: str
    caregiver_name: str
    distance_m: float
    score: float
    score_parts: dict[str, float] = Field(description="各项得分（权重 × 分项），相加即总分")
    rating: float | None
    rating_count: int
    price_fen: int
    item_id: str
    voucher_kinds: list[str]
    load_today: int
    daily_limit: int
    volunteer: bool


class CandidatesOut(BaseModel):
    candidates: list[CandidateOut]


# ---- beds --------------------------------------------------------------------------------------

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
