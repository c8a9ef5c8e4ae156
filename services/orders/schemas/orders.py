"""Orders, offers, delivery, recurring orders, visits and plan delivery: the requests and answers of the
orders service's first flows."""
from __future__ import annotations

from datetime import date
from datetime import time as Time
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.orders.schemas._common import (
    CAREGIVER,
    ELDER,
    HOLD,
    ORDER,
    PROVIDER,
    Lat,
    LocalDateTime,
    Lon,
    Payment,
    _example,
)


class OrderIn(BaseModel):
    model_config = _example(elder_id=ELDER, service_code="meal", window_start="2026-03-11T11:00:00+08:00",
                            window_end="2026-03-11T12:00:00+08:00", payment="community", notes="少盐")
    elder_id: UUID
    service_code: str = Field(min_length=1, max_length=50, description="服务目录中的项目编码，如 meal 助餐")
    window_start: LocalDateTime = Field(description="上门时间段开始（北京时间；可带时区）")
    window_end: LocalDateTime
    address: str | None = Field(None, max_length=300, description="默认老人住址")
    lat: Lat | None = Field(None, description="默认老人住址定位")
    lon: Lon | None = None
    notes: str = Field("", max_length=500)
    payment: Payment = Field(description="community 社区照护券 / mutual_aid 邻里互助券 / institutional 机构托养券 / "
                                         "self_pay 自费")

    @model_validator(mode="after")
    def _both_or_neither(self) -> OrderIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("经纬度需同时填写")
        return self


class CheckInOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    at: str | None = None
    distance_m: int
    limit_m: int
    outcome: str = Field(description="accepted 正常签到 / exception 异常签到（超出范围并填写了原因）")
    exception_reason: str | None = None


class OrderOut(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "order_id": ORDER, "kind": "on_demand", "elder_id": ELDER, "district_code": "321202", "service_code": "meal",
        "service_name": "助餐", "state": "placed", "state_label": "已下单", "price_fen": 6000, "voucher_fen": 5400,
        "elder_fen": 600, "payment": "community", "hold_id": HOLD, "summary": "代金券支付 54 元，自付 6 元",
        "window_start": "2026-03-11T11:00:00+08:00", "window_end": "2026-03-11T12:00:00+08:00",
        "address": "海陵区城东街道某小区 3 幢 201", "lat": 32.49, "lon": 119.92}]})
    order_id: str
    kind: str
    elder_id: str
    district_code: str | None = None
    service_code: str
    service_name: str
    state: str = Field(description="placed 已下单 / offered 派单中 / accepted 已接单 / in_service 服务中 / completed 已完成 / "
                                   "settled 已结算 / cancelled 已取消 / unmatched 未匹配 / disputed 有争议 / no_show 老人不在家")
    state_label: str
    price_fen: int
    voucher_fen: int
    elder_fen: int
    payment: str
    hold_id: str | None = None
    summary: str = Field(description="付款说明，如「代金券支付 54 元，自付 6 元」")
    window_start: str
    window_end: str
    address: str
    lat: float
    lon: float
    notes: str = ""
    provider_id: str | None = None
    provider_name: str | None = None
    caregiver_id: str | None = None
    caregiver_name: str | None = None
    check_in: CheckInOut | None = None


class OfferOrderView(BaseModel):
    model_config = ConfigDict(extra="allow")
    order_id: str
    service_code: str
    service_name: str
    window_start: str
    window_end: str
    address: str
    price_fen: int


class OfferOut(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "offer_id": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", "order_id": ORDER, "provider_id": PROVIDER,
        "caregiver_id": CAREGIVER, "deadline": "2026-03-11T09:02:00+08:00", "seconds_left": 87,
        "outcome": "pending", "rank": 1}]})
    offer_id: str
    order_id: str
    provider_id: str
    deadline: str
    outcome: str = Field(description="pending 待答复 / accepted / declined / expired / withdrawn / revoked")
    seconds_left: int | None = None
    order: OfferOrderView | None = None


class AcceptIn(BaseModel):
    model_config = _example(caregiver_id=CAREGIVER)
    caregiver_id: UUID | None = Field(None, description="上门护理员；护理员本人接单时可省略")


class DeclineIn(BaseModel):
    model_config = _example(reason="该时段人手已满")
    reason: str = Field("", max_length=500)


class CheckInIn(BaseModel):
    model_config = _example(lat=32.4912, lon=119.9213)
    lat: Lat
    lon: Lon
    reason: str | None = Field(None, max_length=500, description="超出签到范围时的原因；填写后按异常签到记录")


class CheckOutIn(BaseModel):
    model_config = _example(record="送餐一份，协助用餐", duration_min=45, confirmation_code="4821")
    record: str = Field(min_length=1, max_length=4000, description="服务记录：做了什么")
    duration_min: int | None = Field(None, ge=1, le=24 * 60, description="服务时长（分钟），默认按签到到签退计算")
    confirmation_code: str | None = Field(None, max_length=12, pattern=r"^\s*\d*\s*$",
                                          description="老人手机订单页上显示的上门确认码（家属已远程确认时可不填）")
    unconfirmed_reason: str | None = Field(None, max_length=500,
                                           description="既无确认码、家属也未远程确认时，无法确认的原因（必填）")


class DoorCodeOut(BaseModel):
    model_config = _example(order_id=ORDER, code="4821", state="in_service", caregiver_name="王芳",
                            family_confirmed=False, code_locked=False)
    order_id: str
    code: str = Field(description="上门确认码：护理员签退时输入")
    state: str
    caregiver_name: str | None = None
    family_confirmed: bool = Field(description="家属是否已远程确认")
    code_locked: bool = Field(description="确认码是否因输错次数过多已锁定")


class PhotoOut(BaseModel):
    model_config = _example(photo_id=ORDER, stage="checkin", stage_label="签到", content_type="image/jpeg",
                            width=1280, height=960, size_bytes=183_204,
                            url=f"/orders/{ORDER}/photos/{ORDER}", at="2026-03-11T11:02:00+08:00")
    photo_id: str
    stage: str = Field(description="checkin 签到 / checkout 签退")
    stage_label: str
    content_type: str = Field(description="image/jpeg 或 image/png（已去除 EXIF、GPS 等元数据）")
    width: int
    height: int
    size_bytes: int
    url: str = Field(description="照片地址（只有能查看该订单的人可以打开）")
    at: str


class NoShowElderOut(BaseModel):
    elder_id: str
    name: str | None = None
    district_code: str | None = None
    district_name: str | None = None
    street: str | None = None
    no_shows: int = Field(description="窗口期内「老人不在家」的次数")
    last_no_show_at: str
    no_show_at: list[str]


class NoShowEldersOut(BaseModel):
    model_config = _example(district_code="321202", window_days=30, threshold=2, elders=[],
                            as_of="2026-03-11T09:00:00+08:00")
    district_code: str | None = None
    window_days: int = Field(description="统计窗口（天）")
    threshold: int = Field(description="窗口期内达到该次数即提示民政")
    elders: list[NoShowElderOut]
    as_of: str


class ReviewIn(BaseModel):
    model_config = _example(rating=5, comment="准时，态度好")
    rating: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=1000)


class ReasonIn(BaseModel):
    model_config = _example(reason="老人临时住院")
    reason: str = Field(min_length=1, max_length=500)


class ResolveIn(BaseModel):
    model_config = _example(resolution="upheld", note="核实服务已完成")
    resolution: Literal["upheld", "voided"]
    note: str = Field("", max_length=500)


class RecurringRuleIn(BaseModel):
    model_config = _example(elder_id=ELDER, service_code="meal", weekdays=[1, 2, 3, 4, 5], time="11:00",
                            start_date="2026-03-16", weeks=8, duration_min=60, payment="community")
    elder_id: UUID
    service_code: str = Field(min_length=1, max_length=50)
    weekdays: list[int] = Field(description="ISO 星期：1 周一 … 7 周日", max_length=7)
    time: Time = Field(description="北京时间，如 11:00")
    start_date: date
    end_date: date | None = Field(None, description="含当天；与 weeks 二选一；都不填则长期有效")
    weeks: int | None = Field(None, ge=1, le=104)
    duration_min: int = Field(60, ge=15, le=12 * 60, description="每次服务时间段的长度")
    skip_dates: list[date] = Field(default_factory=list, max_length=400)
    extra_dates: list[date] = Field(default_factory=list, max_length=400)
    address: str | None = Field(None, max_length=300)
    lat: Lat | None = None
    lon: Lon | None = None
    notes: str = Field("", max_length=500)
    payment: Payment

    @model_validator(mode="after")
    def _one_end(self) -> RecurringRuleIn:
        if self.end_date is not None and self.weeks is not None:
            raise ValueError("结束日期和周数只能填一个")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("经纬度需同时填写")
        return self


class RecurringRuleOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    rule_id: str
    elder_id: str
    service_code: str
    weekdays: list[int]
    time: str
    start_date: str
    end_date: str | None
    status: str = Field(description="active 生效 / paused 暂停 / ended 已结束")
    end_reason: str | None = Field(None, description="平台结束的原因，如「老人已故」「老人已迁出」")


class VisitPlanIn(BaseModel):
    model_config = _example(month="2026-03", district_code="321202")
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM（北京时间的月份）")
    district_code: str | None = Field(None, max_length=12, description="区县；区县民政只能是本辖区")


class VisitPlanOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    plan_id: str | None
    month: str
    planned: int
    already_planned: int
    orders_placed: int
    failed: list[dict]


class CoverageGroup(BaseModel):
    model_config = ConfigDict(extra="allow")
    required: int
    visited: int
    ratio: float | None = Field(description="visited / required；无应探访对象时为 null")


class CoverageOut(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "month": "2026-03", "district_code": "321202", "required": 120, "visited": 96, "ratio": 0.8,
        "districts": [{"district_code": "321202", "required": 120, "visited": 96, "ratio": 0.8,
                       "streets": [{"street": "城东", "required": 30, "visited": 30, "ratio": 1.0}]}]}]})
    month: str
    district_code: str | None
    required: int
    visited: int
    ratio: float | None
    districts: list[dict]


class Missed(BaseModel):
    cancelled: int = Field(description="已取消")
    unmatched: int = Field(description="服务时间已过仍未匹配到服务商")
    no_show: int = Field(0, description="服务人员未到（尚无此状态，暂为 0）")


class DeliveryCounts(BaseModel):
    model_config = ConfigDict(extra="allow")
    planned: int = Field(description="本月计划次数")
    due: int = Field(description="其中截至现在应已开始的次数")
    placed: int = Field(description="已生成订单")
    completed: int = Field(description="已完成（含已结算）")
    missed: Missed
    ratio: float | None = Field(description="completed / due；尚无应完成的次数时为 null")


class PlanDeliveryItem(DeliveryCounts):
    plan_id: str
    item_id: str | None
    rule_id: str
    service_code: str
    provider_id: str | None


class PlanDeliveryOut(DeliveryCounts):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "elder_id": ELDER, "month": "2026-03", "planned": 8, "due": 6, "placed": 6, "completed": 5,
        "missed": {"cancelled": 1, "unmatched": 0, "no_show": 0}, "ratio": 0.8333,
        "summary_zh": "本月计划 8 次，已完成 5 次", "items": []}]})
    elder_id: str
    month: str
    summary_zh: str
    items: list[PlanDeliveryItem]


class DeliverySummaryOut(DeliveryCounts):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "month": "2026-03", "district_code": "321202", "planned": 800, "due": 600, "placed": 590, "completed": 540,
        "missed": {"cancelled": 30, "unmatched": 10, "no_show": 0}, "ratio": 0.9,
        "by_district": [], "by_provider": [], "elders_below": []}]})
    month: str
    district_code: str | None
    by_district: list[dict]
    by_provider: list[dict]
    elders_below: list[dict] = Field(description="执行率（completed / due）低于 80% 的老人，最低的在前")


class PlanScheduleOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    provider_id: str
    from_: str = Field(alias="from")
    to: str
    count: int
    occurrences: list[dict]
