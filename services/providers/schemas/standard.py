"""The providers service's schemas: standard catalogue."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.providers.schemas._common import (
    Category,
    Strict,
    Unit,
    VoucherKind,
)


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
