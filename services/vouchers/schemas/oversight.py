"""The vouchers service's schemas: return visits (回访), their findings, complaints, the oversight figures (issue 24)."""
from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from services.vouchers.schemas._common import (
    ORDER,
    _example,
)


class ReturnSampleIn(BaseModel):
    model_config = _example(month="2026-11")
    month: str = Field(max_length=7, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM：已结束的月份（北京时间）")
    district_code: str | None = Field(None, max_length=12, description="市级账号须指定区县；区县账号只能是本辖区")
    seed: int | None = Field(None, ge=0, lt=2**62, description="随机种子；缺省由系统生成并保存，同一种子可复现样本")


class ServiceFindingOut(BaseModel):
    finding_id: str
    kind: str = Field(description="service_not_delivered 回访称服务未发生")
    kind_name: str
    order_id: str
    elder_id: str
    provider_id: str
    district_code: str
    district_name: str
    visit_id: str | None
    redemption_id: str | None
    holds_settlement: bool = Field(description="该订单有代金券核销：处理前不计入服务商结算")
    status: str = Field(description="open 待核实（暂扣结算）/ resolved 已处理")
    status_name: str
    outcome: str | None = Field(description="cleared 服务已发生，恢复结算 / upheld 服务未发生，冲正退回")
    outcome_name: str | None
    carried_to_month: str | None = Field(description="原月份结算单已确认时，恢复结算计入的月份")
    note: str | None
    resolution: str | None
    opened_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None


class ReturnVisitOut(BaseModel):
    visit_id: str
    order_id: str
    elder_id: str
    provider_id: str
    service_code: str
    completed_at: datetime
    result: str | None = Field(description="satisfied 满意 / dissatisfied 不满意 / not_delivered 服务未发生 / "
                                           "unreachable 联系不上")
    result_name: str
    note: str | None
    called_by: str | None
    called_role: str | None
    called_at: datetime | None
    attempts: int
    finding: ServiceFindingOut | None


class SampleProviderOut(BaseModel):
    provider_id: str
    completed: int = Field(description="本月本区完成订单数")
    sampled: int = Field(description="抽中回访数")


class ReturnSampleOut(BaseModel):
    sample_id: str
    district_code: str
    district_name: str
    month: str
    seed: int
    policy_version: str
    rate_bp: int = Field(description="抽样比例（万分比，500 = 5%）")
    minimum: int = Field(description="每个服务商至少抽取的订单数（不足则全部）")
    population: int
    drawn_by: str
    drawn_at: datetime
    providers: list[SampleProviderOut]
    visits: list[ReturnVisitOut]


class VisitResultIn(BaseModel):
    model_config = _example(result="not_delivered", note="老人称当天无人上门")
    result: Literal["satisfied", "dissatisfied", "not_delivered", "unreachable"] = Field(
        description="satisfied 满意 / dissatisfied 不满意 / not_delivered 服务未发生 / unreachable 联系不上")
    note: str | None = Field(None, max_length=500, description="回访备注")


class FindingResolveIn(BaseModel):
    model_config = _example(outcome="cleared", resolution="经核实护理员当天已上门，老人记错日期")
    outcome: Literal["cleared", "upheld"] = Field(description="cleared 服务已发生，恢复结算 / upheld 服务未发生，冲正退回")
    resolution: str = Field(min_length=1, max_length=500, description="核实情况说明")


class ComplaintIn(BaseModel):
    model_config = _example(subject="order", order_id=ORDER, text="护理员迟到一个小时，也没有提前告知", anonymous=True)
    subject: Literal["order", "provider", "caregiver"] = Field(
        description="投诉对象：order 订单 / provider 机构 / caregiver 护理员")
    text: str = Field(min_length=2, max_length=2000, description="投诉内容")
    anonymous: bool = Field(False, description="是否要求对服务机构隐去投诉人身份")
    elder_id: UUID | None = Field(None, description="为哪位老人投诉（绑定多位老人的家属或坐席填写）")
    order_id: UUID | None = Field(None, description="所投诉的订单")
    provider_id: UUID | None = Field(None, description="被投诉的服务机构（有订单时可不填）")
    caregiver_id: UUID | None = Field(None, description="被投诉的护理员（有订单时可不填）")
    district_code: str | None = Field(None, max_length=12, description="所属区县（无老人、无订单时由坐席填写）")


class ComplaintMoveIn(BaseModel):
    model_config = _example(status="resolved", answer="已约谈服务机构，护理员已调整排班，并向您致歉")
    status: Literal["in_progress", "resolved", "rejected"] = Field(
        description="in_progress 受理处理 / resolved 办结 / rejected 不予受理")
    answer: str | None = Field(None, max_length=2000, description="答复（办结或不予受理时必填，投诉人可见）")


class ComplaintPhotoOut(BaseModel):
    url: str = Field(description="读取照片的地址（相对本服务；能查看该投诉的人才能打开）")
    content_type: str = Field(description="image/jpeg 或 image/png")
    size_bytes: int
    width: int
    height: int
    added_at: datetime


class ComplaintOut(BaseModel):
    complaint_id: str
    district_code: str
    district_name: str
    subject: str
    subject_name: str
    order_id: str | None
    provider_id: str | None
    caregiver_id: str | None
    elder_id: str | None = Field(description="要求匿名时服务机构看不到")
    complainant_user_id: str | None = Field(description="要求匿名时服务机构看不到")
    complainant_role: str | None
    anonymous: bool
    text: str
    status: str = Field(description="open 待处理 / in_progress 处理中 / resolved 已解决 / rejected 不予受理")
    status_name: str
    deadline: datetime = Field(description="办理期限（受理后第 N 个工作日 24:00，北京时间）")
    overdue: bool
    handled_by: str | None
    answer: str | None
    answered_at: datetime | None
    filed_at: datetime
    photo: ComplaintPhotoOut | None = Field(None, description="随投诉提交的照片（已去除位置等元数据；服务机构也可查看）")


class VisitFiguresOut(BaseModel):
    completed: int
    sampled: int
    called: int
    reached: int
    not_delivered: int
    dissatisfied: int
    coverage: float | None = Field(description="回访覆盖率：联系上的回访数 / 完成订单数")
    failure_rate: float | None = Field(description="回访失败率：称服务未发生 / 联系上的回访数")


class ProviderVisitFiguresOut(VisitFiguresOut):
    provider_id: str


class ComplaintFiguresOut(BaseModel):
    filed: int
    open: int
    overdue: int
    answered: int
    median_hours_to_answer: float | None
    mean_hours_to_answer: float | None


class DistrictFiguresOut(BaseModel):
    district_code: str
    district_name: str
    return_visits: VisitFiguresOut
    providers: list[ProviderVisitFiguresOut]
    complaints: ComplaintFiguresOut


class CityFiguresOut(BaseModel):
    return_visits: VisitFiguresOut
    complaints: ComplaintFiguresOut


class OversightFiguresOut(BaseModel):
    month: str
    district_code: str | None
    districts: list[DistrictFiguresOut]
    city: CityFiguresOut | None
