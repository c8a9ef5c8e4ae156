"""The vouchers service's schemas: uptake."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IssuedByMonthOut(BaseModel):
    """Voucher uptake's denominator for the bureau's dashboard (issue 26)."""
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "from_month": "2026-11", "to_month": "2026-11", "district_code": "321202",
        "rows": [{"month": "2026-11", "district_code": "321202", "district_name": "海陵区", "kind": "community",
                  "kind_name": "社区照护券", "issued_count": 120, "issued_fen": 3600000}]}]})
    from_month: str
    to_month: str
    district_code: str | None = Field(description="区县民政只看本区县；为空表示全市")
    rows: list[dict] = Field(description="按月份 × 区县 × 券种：发放张数和面额（分）")
