"""The bureau's dashboard reports and the door report (issues 24 and 26)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IndicatorCountsOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "from_month": "2026-10", "to_month": "2026-11", "district_code": "321202", "as_of": "2026-11-20T10:00:00+08:00",
        "rows": [{"month": "2026-11", "district_code": "321202", "hardship_due": 40, "hardship_visited": 31,
                  "served_elders": 120, "meal_elders": 85}]}]})
    from_month: str
    to_month: str
    district_code: str | None = Field(description="区县民政只看本区县；为空表示全市")
    as_of: str | None
    rows: list[dict] = Field(description="按月份 × 区县：应探访/已探访的特殊困难老人、有已完成居家服务的老人、用过助餐的老人")


class ActivityOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "month": "2026-11", "district_code": None, "as_of": None, "orders": 3, "accepted": 2,
        "by_hour": [{"hour": 9, "orders": 3}], "acceptance": [{"band": "5 分钟内", "upper_min": 5, "orders": 2}],
        "median_acceptance_min": 3.5}]})
    month: str
    district_code: str | None
    as_of: str | None
    orders: int = Field(description="本月下单数（不含探访）")
    accepted: int = Field(description="其中已被接单的")
    by_hour: list[dict] = Field(description="按下单时刻（北京时间）0–23 点")
    acceptance: list[dict] = Field(description="从下单到接单的用时分段")
    median_acceptance_min: float | None = Field(description="接单用时中位数（分钟）")


class DoorCountsOut(BaseModel):
    completed: int = Field(description="本月签退完成的订单")
    by_code: int = Field(description="老人确认码确认")
    by_family: int = Field(description="家属远程确认")
    unconfirmed: int = Field(description="未确认（护理员填写了原因）")
    unrecorded: int = Field(description="无确认记录（上门确认上线前签退的）")
    confirmed: int = Field(description="老人一方确认的（确认码 + 家属）")
    no_shows: int = Field(description="本月登记「老人不在家」的订单")
    confirmed_share: float | None = Field(description="老人确认占比：确认的 / 完成的（无完成订单时为空）")
    no_show_rate: float | None = Field(description="不在家率：不在家 / (完成 + 不在家)")


class DoorDistrictOut(DoorCountsOut):
    district_code: str | None
    district_name: str | None


class DoorProviderOut(DoorDistrictOut):
    provider_id: str | None
    provider_name: str | None


class DoorReportOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "month": "2026-11", "district_code": "321202", "as_of": "2026-12-01T09:00:00+08:00",
        "rows": [{"district_code": "321202", "district_name": "海陵区", "provider_id": "6f1c1e0e-4a43-4f7e-9d55-0b7d2e1f3a10",
                  "provider_name": "海陵区颐养居家服务中心", "completed": 10, "by_code": 7, "by_family": 1, "unconfirmed": 2,
                  "unrecorded": 0, "confirmed": 8, "no_shows": 1, "confirmed_share": 0.8, "no_show_rate": 0.0909}],
        "districts": [], "total": {"completed": 10, "by_code": 7, "by_family": 1, "unconfirmed": 2, "unrecorded": 0,
                                   "confirmed": 8, "no_shows": 1, "confirmed_share": 0.8, "no_show_rate": 0.0909}}]})
    month: str
    district_code: str | None = Field(description="统计范围：民政为本辖区；市级为空（全市）或指定区县")
    as_of: str | None
    rows: list[DoorProviderOut] = Field(description="按区县 × 服务商")
    districts: list[DoorDistrictOut] = Field(description="按区县合计")
    total: DoorCountsOut = Field(description="范围内合计")


class UnmetDemandOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "month": "2026-11", "district_code": "321202", "as_of": None,
        "orders": [{"order_id": "9b7c…", "state": "unmatched", "reason": "未匹配到服务商", "service_code": "bathing",
                    "service_name": "助浴", "window_start": "2026-11-03T09:00:00+08:00", "district_code": "321202",
                    "district_name": "海陵区", "street": "城东街道", "lat": 32.49, "lon": 119.94}],
        "elder_points": [{"lat": 32.491, "lon": 119.921, "elders": 3}]}]})
    month: str
    district_code: str | None
    as_of: str | None
    orders: list[dict] = Field(description="按服务时间属于本月、未匹配到服务商或因此取消的订单")
    elder_points: list[dict] = Field(description="在册老人位置（约 100 米取整）及人数")
