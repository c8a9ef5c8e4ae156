"""The providers service's schemas: caregivers."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.providers.schemas._common import (
    CaregiverStatus,
    CertificateLevel,
    Gender,
    Strict,
)
from services.providers.schemas.registry import (
    GeocodeOut,
)


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
