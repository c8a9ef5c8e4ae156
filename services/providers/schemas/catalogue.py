"""The providers service's schemas: catalogue."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.providers.schemas._common import (
    Strict,
    VoucherKind,
)


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
