"""One-key emergency alarms (issue 25): raising, answering, closing, devices."""
from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.orders.schemas._common import (
    CAREGIVER,
    ELDER,
    PROVIDER,
    Lat,
    Lon,
    Payment,
    _example,
)

ALARM = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
AlarmOutcome = Literal["resolved_on_site", "called_120", "false_alarm"]
AlarmStateName = Literal["raised", "escalated", "acknowledged", "closed"]


class AlarmIn(BaseModel):
    model_config = _example(lat=32.4905, lon=119.9236)
    lat: Lat | None = Field(None, description="呼叫时的位置（设备定位）；不填则用老人住址")
    lon: Lon | None = None


class DeviceAlarmIn(AlarmIn):
    model_config = _example(elder_id=ELDER, lat=32.4905, lon=119.9236)
    elder_id: UUID | None = Field(None, description="绑定的老人；填写时必须与设备绑定的老人一致")


class AlarmCloseIn(BaseModel):
    model_config = _example(outcome="resolved_on_site", note="老人起身时滑倒，无明显外伤，已扶到床上休息")
    outcome: AlarmOutcome = Field(description="resolved_on_site 现场已处置 / called_120 已拨打 120 / false_alarm 误报")
    note: str | None = Field(None, max_length=500, description="处置说明")


class AlarmOrderIn(BaseModel):
    model_config = _example(service_code="emergency", payment="community", notes="跌倒后需要陪护两小时")
    service_code: str = Field("emergency", min_length=1, max_length=50, description="服务目录中的项目编码，默认 emergency 助急")
    payment: Payment = Field("community", description="按普通订单付费：community 社区照护券 / self_pay 自费 等")
    notes: str = Field("", max_length=500)


class AlarmAlertOut(BaseModel):
    caregiver_id: str
    caregiver_name: str | None
    provider_id: str
    provider_name: str | None
    distance_m: int | None


class AlarmTargetsOut(BaseModel):
    ack_s: int | None = Field(description="从呼叫到护理员响应（我去）的秒数")
    ack_target_s: int
    ack_met: bool | None = Field(description="是否在目标内响应；未定时为空")
    arrive_s: int | None = Field(description="从呼叫到护理员到达的秒数")
    arrive_target_min: int
    arrive_met: bool | None


class AlarmOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": ALARM, "elder_id": ELDER, "elder_name": "张桂兰", "district_code": "321202", "district_name": "海陵区",
        "address": "海陵区城东街道幸福小区 3 幢 201", "lat": 32.4905, "lon": 119.9236, "location_source": "address",
        "source": "button", "source_name": "紧急呼叫按钮", "state": "acknowledged", "state_name": "护理员前往中",
        "raised_at": "2026-12-05T09:00:00+08:00", "press_count": 2, "escalated_at": None, "escalation_reason": None,
        "acknowledged_at": "2026-12-05T09:01:10+08:00", "acknowledged_by": CAREGIVER, "acknowledged_by_name": "刘秀英",
        "arrived_at": None, "closed_at": None, "outcome": None, "outcome_name": None, "note": None, "order_id": None,
        "alerted": [{"caregiver_id": CAREGIVER, "caregiver_name": "刘秀英", "provider_id": PROVIDER,
                     "provider_name": "城中居家养老服务中心", "distance_m": 812}],
        "targets": {"ack_s": 70, "ack_target_s": 180, "ack_met": True, "arrive_s": None, "arrive_target_min": 30,
                    "arrive_met": None},
        "policy_version": "2026-12", "joined": False}]})
    id: str
    elder_id: str
    elder_name: str | None
    district_code: str | None
    district_name: str | None
    address: str | None
    lat: float | None
    lon: float | None
    location_source: str = Field(description="device 设备定位 / address 老人住址 / none 无位置")
    source: str = Field(description="button 紧急呼叫按钮 / device 呼叫终端 / operator 坐席代报")
    source_name: str
    state: AlarmStateName = Field(description="raised 呼叫中 / escalated 已升级 / acknowledged 护理员前往中 / closed 已结束")
    state_name: str
    raised_at: str
    press_count: int = Field(description="按下次数（一分钟内再按并入同一呼叫）")
    escalated_at: str | None
    escalation_reason: str | None = Field(description="not_acknowledged 超时无人响应 / no_caregiver 附近无在班护理员")
    acknowledged_at: str | None
    acknowledged_by: str | None
    acknowledged_by_name: str | None
    arrived_at: str | None
    closed_at: str | None
    outcome: AlarmOutcome | None
    outcome_name: str | None
    note: str | None
    order_id: str | None = Field(description="由该呼叫生成的订单")
    alerted: list[AlarmAlertOut] = Field(description="已通知的护理员")
    targets: AlarmTargetsOut
    policy_version: str
    joined: bool | None = Field(None, description="本次按下是否并入了进行中的呼叫")


class AlarmDeviceIn(BaseModel):
    model_config = _example(label="客厅呼叫器")
    label: str = Field(min_length=1, max_length=100, description="设备名称，如 客厅呼叫器、手表")


class AlarmDeviceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": ALARM, "elder_id": ELDER, "label": "客厅呼叫器", "token_hint": "yfd_3kQx", "issued_at":
        "2026-12-05T09:00:00+08:00", "issued_by": "officer-1", "revoked_at": None, "last_used_at": None,
        "active": True, "token": "yfd_3kQx…（仅在办理时显示一次）"}]})
    id: str
    elder_id: str
    label: str
    token_hint: str
    issued_at: str
    issued_by: str
    revoked_at: str | None
    last_used_at: str | None
    active: bool
    token: str | None = Field(None, description="设备令牌，仅在办理时返回一次；平台只保存其摘要")


class AlarmReportRow(BaseModel):
    district_code: str | None
    district_name: str
    alarms: int
    escalated: int
    outcomes: dict[str, int]
    ack_within_target: int = Field(description="在目标时间内有人响应的呼叫数")
    arrive_within_target: int = Field(description="在目标时间内有人到达的呼叫数")
    ack_median_s: int | None
    ack_max_s: int | None
    arrive_median_s: int | None
    arrive_max_s: int | None


class AlarmReportOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "month": "2026-12", "district_code": None, "total": 3, "districts": [{
            "district_code": "321202", "district_name": "海陵区", "alarms": 3, "escalated": 1,
            "outcomes": {"resolved_on_site": 1, "called_120": 1, "false_alarm": 1}, "ack_within_target": 2,
            "arrive_within_target": 2, "ack_median_s": 95, "ack_max_s": 240, "arrive_median_s": 1100,
            "arrive_max_s": 1500}]}]})
    month: str
    district_code: str | None
    districts: list[AlarmReportRow]
    total: int
