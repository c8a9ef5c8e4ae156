"""Request and response models of the orders service. Money is integer fen; times are answered
in Asia/Shanghai (+08:00); a time sent without an offset is read as Asia/Shanghai."""
from __future__ import annotations

from datetime import date, datetime
from datetime import time as Time
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shared.city import CITY_TZ

ELDER = "6f1c2a0e-8d4b-4f57-9a51-0c3f7d2e9b10"
ORDER = "0b9e4c1d-2f3a-4e5b-8c6d-7e8f9a0b1c2d"
PROVIDER = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
CAREGIVER = "1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a"
HOLD = "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a"

Payment = Literal["community", "mutual_aid", "institutional", "self_pay"]


def _shanghai_if_naive(value: datetime) -> datetime:
    return value.replace(tzinfo=CITY_TZ) if value.tzinfo is None or value.utcoffset() is None else value


LocalDateTime = Annotated[datetime, AfterValidator(_shanghai_if_naive)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]


def _example(**values: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [values]}, extra="forbid")


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

# ---- stays (issue 22) -------------------------------------------------------------------------

APPLICATION = "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098"
STAY = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
BED = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"

CareLevel = Literal["self_care", "nursing", "dementia"]


class StayApplicationIn(BaseModel):
    model_config = _example(elder_id=ELDER, provider_id=PROVIDER, care_level="nursing", kind="respite",
                            planned_start="2026-03-16", planned_end="2026-03-29", note="家属出差两周")
    elder_id: UUID
    provider_id: UUID = Field(description="申请入住的养老机构")
    care_level: CareLevel = Field(description="self_care 自理 / nursing 护理型 / dementia 失智照护")
    kind: Literal["long_term", "respite"] = Field(description="long_term 长期托养 / respite 短期喘息")
    planned_start: date
    planned_end: date | None = Field(None, description="仅短期喘息填写；最长天数见政策数据（默认 30 天）")
    note: str = Field("", max_length=500)


class StayAcceptIn(BaseModel):
    model_config = _example(bed_id=BED)
    bed_id: UUID = Field(description="为该申请预留的床位（向服务商服务预留，已占用则 409）")


class StayDeclineIn(BaseModel):
    model_config = _example(reason="暂无失智照护床位")
    reason: str = Field(min_length=1, max_length=500)


class StayApplicationOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    application_id: str
    elder_id: str
    elder_name: str | None = Field(None, description="老人姓名（机构办理入住需要核对本人）")
    provider_id: str
    care_level: str
    kind: str
    planned_start: str
    planned_end: str | None
    status: str = Field(description="submitted 待受理 / accepted 已接收 / declined 已婉拒 / admitted 已入住")
    bed_id: str | None


class StayAdmitIn(BaseModel):
    model_config = _example(application_id=APPLICATION, admitted_on="2026-03-16")
    application_id: UUID
    admitted_on: date


class StayLeaveIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"kind": "home", "from": "2026-04-03",
                                                               "to": "2026-04-06"}]},
                              extra="forbid", validate_by_name=True)
    kind: Literal["home", "hospital"] = Field(description="home 回家 / hospital 住院")
    leave_from: date = Field(alias="from", description="请假第一天（含）")
    leave_to: date = Field(alias="to", description="请假最后一天（含，预计）")


class StayOnIn(BaseModel):
    model_config = _example(on="2026-04-06")
    on: date


class StayTransferIn(BaseModel):
    model_config = _example(bed_id=BED, on="2026-05-01")
    bed_id: UUID = Field(description="转入的床位（本机构或其他机构），向服务商服务预留")
    on: date


class StayDischargeIn(BaseModel):
    model_config = _example(on="2026-06-30", reason="家属接回")
    on: date
    reason: str = Field(min_length=1, max_length=200)


class StayOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    stay_id: str
    application_id: str
    elder_id: str
    elder_name: str | None = Field(None, description="老人姓名")
    provider_id: str
    bed_id: str
    care_level: str
    kind: str
    daily_rate_fen: int
    status: str = Field(description="admitted 在院 / on_leave 请假外出 / back 已销假 / transferred 已转床 / "
                                    "discharged 已出院 / ended_by_death 已故")
    admitted_on: str
    ended_on: str | None


# ---- meals at the counter (issue 23) ----------------------------------------------------------

MEAL_CODE = "YF1-AEPN-YJIO-RVE4-XQZK-HOWQ-ZXJY-6AHZ-OI4X-4AAA-AAGZ-BQNC-EVH3-JSWC-L5EQ"


class MealCodeOut(BaseModel):
    """The elder's dynamic code: show it as a QR code, refresh before `expires_at` (60 s)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": MEAL_CODE, "issued_at": "2026-12-01T11:30:00+08:00", "expires_at": "2026-12-01T11:31:00+08:00",
        "lifetime_s": 60}]})
    code: str
    issued_at: str
    expires_at: str
    lifetime_s: int


class MealCardOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "card_id": ORDER, "elder_id": ELDER, "elder_name": "张桂兰", "code": MEAL_CODE,
        "issued_at": "2026-12-01T09:00:00+08:00", "revoked_cards": 0}]})
    card_id: str
    elder_id: str
    elder_name: str | None
    code: str  # printed on the card; the elder's earlier cards no longer work
    issued_at: str
    revoked_cards: int


class MealLookupIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"code": MEAL_CODE}]})
    code: str = Field(max_length=200)


class MealToday(BaseModel):
    meal: str
    meal_name: str
    provider_name: str | None
    redeemed_at: str | None
    static: bool
    subsidy_fen: int


class MealLookupOut(BaseModel):
    """Who the code is, in full (the counter hands the meal to that person); a card must have the
    name confirmed before the meal is taken."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "elder_id": ELDER, "elder_name": "张桂兰", "static": False, "confirm_name_required": False,
        "tier": "low_income_80", "code_expires_at": "2026-12-01T11:31:00+08:00", "today": [],
        "static_left_today": None}]})
    elder_id: str
    elder_name: str | None
    static: bool
    confirm_name_required: bool
    tier: str | None  # as vouchers last reported it for this elder (None before the first meal)
    code_expires_at: str | None
    today: list[MealToday]
    static_left_today: int | None


class MealRedemptionIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": MEAL_CODE, "meal": "lunch", "price_fen": 1500, "scanned_at": "2026-12-01T11:30:20+08:00",
        "method": "scanned", "confirm_name": False}]})
    code: str = Field(max_length=200)
    meal: Literal["lunch", "dinner"] | None = None  # None: by the serving hours at scanned_at
    price_fen: int = Field(ge=0, le=100_000)
    scanned_at: LocalDateTime  # the counter's clock when the code was scanned or typed (offline: long before)
    method: Literal["scanned", "typed"] = "scanned"
    confirm_name: bool = False  # a card: the counter checked the name shown


class MealRedemptionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "redemption_id": ORDER, "elder_id": ELDER, "elder_name": "张桂兰", "provider_id": PROVIDER,
        "provider_name": "城中社区助餐点", "meal": "lunch", "meal_name": "午餐", "meal_date": "2026-12-01",
        "price_fen": 1500, "subsidy_fen": 500, "self_fen": 1000, "tier": "low_income_80", "reason_zh": None,
        "receipt_zh": "补贴 5.00 元，自付 10.00 元", "method": "scanned", "method_name": "扫码", "static": False,
        "scanned_at": "2026-12-01T11:30:20+08:00", "redeemed_at": "2026-12-01T11:30:21+08:00",
        "undo_until": "2026-12-01T11:40:21+08:00", "undone_at": None}]})
    redemption_id: str
    elder_id: str
    elder_name: str | None
    provider_id: str
    provider_name: str | None
    meal: str
    meal_name: str
    meal_date: str
    price_fen: int
    subsidy_fen: int
    self_fen: int
    tier: str | None
    reason_zh: str | None  # vouchers' words when the subsidy is 0 or cut (cap reached, wallet empty)
    receipt_zh: str
    method: str
    method_name: str
    static: bool
    scanned_at: str | None
    redeemed_at: str | None
    undo_until: str | None
    undone_at: str | None


class MealReportRow(BaseModel):
    provider_id: str
    provider_name: str | None
    meal_date: str
    tier: str | None
    meals: int
    price_fen: int
    subsidy_fen: int
    self_fen: int
    static_meals: int
    typed_meals: int


class MealClaim(BaseModel):
    provider_id: str
    provider_name: str | None
    meals: int
    subsidy_fen: int  # what the point is owed for the month (vouchers' settlement pays it)


class MealReportOut(BaseModel):
    month: str
    district_code: str | None
    rows: list[MealReportRow]
    claims: list[MealClaim]
    total_meals: int
    total_subsidy_fen: int


# ---- the bureau's dashboard reports (issue 26) -------------------------------------------------


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
