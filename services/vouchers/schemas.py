"""Request and response models of the vouchers service. Money is integer fen throughout."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.vouchers.rules.policy import DEFAULT_POLICY, MealRules, StayClaimRules, VoucherKind

MAX_PRICE_FEN = 10_000_000  # 100,000 yuan: far above any home service; a bigger number is a typo
ELDER = "6f1c2a0e-8d4b-4f57-9a51-0c3f7d2e9b10"
ORDER = "0b9e4c1d-2f3a-4e5b-8c6d-7e8f9a0b1c2d"
HOLD = "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a"
PROVIDER = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


def _example(**values: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [values]})


class QuoteIn(BaseModel):
    model_config = _example(elder_id=ELDER, kind="community", price_fen=6000)
    elder_id: UUID
    kind: VoucherKind
    price_fen: int = Field(gt=0, le=MAX_PRICE_FEN, description="服务价格（分）")


class QuoteOut(BaseModel):
    model_config = _example(kind="community", price_fen=6000, voucher_fen=5400, elder_fen=600, share_bp=9000,
                            available_fen=30000)
    kind: str
    price_fen: int
    voucher_fen: int = Field(description="券支付（分），按比例并以本月可用余额为上限")
    elder_fen: int = Field(description="老人自付（分）")
    share_bp: int = Field(description="券支付比例（基点，10000 = 100%）")
    available_fen: int = Field(description="本月该券种可用余额（分）")


class HoldIn(BaseModel):
    model_config = _example(order_id=ORDER, elder_id=ELDER, kind="community", price_fen=6000, service_code="meal")
    order_id: UUID
    elder_id: UUID
    kind: VoucherKind
    price_fen: int = Field(gt=0, le=MAX_PRICE_FEN)
    service_code: str = Field(min_length=1, max_length=50)


class HoldOut(BaseModel):
    model_config = _example(hold_id=HOLD, order_id=ORDER, kind="community", voucher_fen=5400, elder_fen=600,
                            share_bp=9000, status="held")
    hold_id: str
    order_id: str
    kind: str
    voucher_fen: int
    elder_fen: int
    share_bp: int
    status: str = Field(description="held 已预扣 / captured 已核销 / released 已释放")


class HoldDetail(HoldOut):
    price_fen: int
    captured_fen: int | None
    month: str


class VoidOut(BaseModel):
    model_config = _example(hold_id=HOLD, status="released")
    hold_id: str
    status: str


class WalletVoucher(BaseModel):
    voucher_id: str
    kind: str
    kind_name: str
    face_value_fen: int
    available_fen: int
    held_fen: int
    spent_fen: int
    expired_fen: int
    share_bp: int
    valid_until: str


class WalletOut(BaseModel):
    model_config = _example(elder_id=ELDER, month="2026-11", total_available_fen=24600, vouchers=[{
        "voucher_id": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", "kind": "community", "kind_name": "社区照护券",
        "face_value_fen": 30000, "available_fen": 24600, "held_fen": 0, "spent_fen": 5400, "expired_fen": 0,
        "share_bp": 9000, "valid_until": "2026-11-30"}])
    elder_id: str
    month: str
    vouchers: list[WalletVoucher]
    total_available_fen: int


class HistoryEntry(BaseModel):
    transfer_id: str
    time: str = Field(description="北京时间")
    month: str
    kind: str
    kind_name: str
    action: str
    action_name: str
    amount_fen: int
    amount_yuan: str
    available_change_fen: int = Field(description="对本月可用余额的影响（分），负数为减少")
    order_id: str | None
    description: str


class HistoryOut(BaseModel):
    model_config = _example(elder_id=ELDER, month="2026-11", entries=[{
        "transfer_id": "e1", "time": "2026-11-01T00:00:05+08:00", "month": "2026-11", "kind": "community",
        "kind_name": "社区照护券", "action": "issue", "action_name": "发放", "amount_fen": 30000,
        "amount_yuan": "300.00", "available_change_fen": 30000, "order_id": None,
        "description": "2026-11 月社区照护券发放 300.00 元"}])
    elder_id: str
    month: str | None
    entries: list[HistoryEntry]


class MonthIn(BaseModel):
    model_config = _example(month="2026-11")
    month: str = Field(max_length=7, description="YYYY-MM（北京时间的月份）")
    district_code: str | None = Field(None, max_length=12, description="市级账号可指定区县；区县账号只能是本辖区")


class IssuanceLine(BaseModel):
    district_code: str
    district_name: str
    kind: str
    kind_name: str
    issued_count: int
    issued_fen: int
    already_count: int = Field(description="此前已发放、本次未重复发放的张数")
    already_fen: int


class IssuanceRunOut(BaseModel):
    run_id: UUID
    month: str
    district_code: str | None
    trigger: str
    requested_by: str
    started_at: datetime
    policy_version: int
    issued_count: int
    issued_fen: int
    already_count: int
    already_fen: int
    by_district_kind: list[IssuanceLine]


class SettlementLine(BaseModel):
    service_code: str
    kind: str
    kind_name: str
    redemption_count: int
    redeemed_fen: int
    reversed_fen: int
    net_fen: int


class SettlementSummary(BaseModel):
    settlement_id: str
    month: str
    provider_id: str
    district_code: str
    district_name: str
    status: str = Field(description="draft 草稿 / confirmed 已确认 / paid 已付款")
    redemption_count: int
    redeemed_fen: int
    reversed_fen: int
    net_fen: int
    held_count: int = Field(0, description="回访发现“服务未发生”而暂扣、未计入本结算单的笔数")
    held_fen: int = Field(0, description="暂扣金额（分）")


class SettlementOut(SettlementSummary):
    confirmed_by: str | None
    confirmed_at: datetime | None
    paid_at: datetime | None
    lines: list[SettlementLine]


class MonthEndOut(BaseModel):
    run_id: str
    month: str
    district_code: str | None
    ran_at: datetime
    expired_count: int
    expired_fen: int
    expired_by_kind: list[dict[str, Any]]
    open_holds_left: int = Field(description="仍未了结的预扣笔数，待订单结果后再次运行月末处理")
    stay_claims: int = Field(0, description="本月机构托养床日结算单张数（含此前已起草的）")
    settlements: list[SettlementSummary]


class PolicyIn(BaseModel):
    """A new policy version; the server numbers it. Rules: one per voucher kind (see GET /policies)."""

    model_config = _example(effective_from="2027-01-01", note="2027 年起社区照护券面值上调",
                            rules=[r.model_dump(mode="json") for r in DEFAULT_POLICY.rules])
    effective_from: date
    rules: list[dict[str, Any]] = Field(min_length=1)
    note: str = Field("", max_length=500)
    stay_claims: dict[str, Any] = Field(default_factory=lambda: StayClaimRules().model_dump(mode="json"),
                                        description="机构托养按床日结算的规则（每月计费请假天数上限等）")
    meals: dict[str, Any] = Field(default_factory=lambda: MealRules().model_dump(mode="json"),
                                  description="助餐点用餐补贴的规则（补贴档次、每日补贴餐数上限、稽核阈值）")


class ReportRow(BaseModel):
    key: str
    name: str
    redemption_count: int
    order_amount_fen: int
    voucher_fen: int
    elder_fen: int
    reversed_fen: int
    net_fen: int


class SpendReportOut(BaseModel):
    month: str
    group_by: str
    district_code: str | None
    rows: list[ReportRow]
    totals: dict[str, int]


class SpendMonthRow(BaseModel):
    month: str
    district_code: str
    district_name: str
    kind: str
    kind_name: str
    redemption_count: int
    order_amount_fen: int
    voucher_fen: int
    elder_fen: int
    reversed_fen: int
    net_fen: int


class SpendByMonthOut(BaseModel):
    from_month: str
    to_month: str
    district_code: str | None
    rows: list[SpendMonthRow] = Field(description="按月份 × 区县 × 券种")
    totals: dict[str, int]


class FindingOut(BaseModel):
    finding_id: str
    key: str
    month: str
    rule: str
    title: str
    explanation: str
    district_code: str | None
    district_name: str
    provider_id: str | None
    elder_id: str | None
    redemption_ids: list[str]
    amount_fen: int = Field(description="涉及的券支付金额（分）；老人已故或迁出后仍有消费的线索即应追缴金额")
    status: str = Field(description="open 待处理 / dismissed 已驳回 / actioned 已处理")
    created_at: datetime


class ActionIn(BaseModel):
    model_config = _example(action="reverse", reason="电话回访老人，当日未接受服务")
    action: Literal["dismiss", "freeze_provider", "reverse"]
    reason: str = Field(min_length=2, max_length=500)


class ActionOut(BaseModel):
    action_id: str
    finding_id: str
    action: str
    status: str
    transfer_ids: list[str]
    created_at: datetime


class Violation(BaseModel):
    code: str
    message: str
    transfer_id: str | None
    account: str | None


class LedgerCheckOut(BaseModel):
    model_config = _example(ok=True, transfers_checked=1234, open_holds=12, accounts=310, violations=[])
    ok: bool
    transfers_checked: int
    open_holds: int
    accounts: int
    violations: list[Violation]


class RecoveryElderIn(BaseModel):
    elder_id: UUID
    since: date = Field(description="去世或迁出日期（上海时间），此日及以后开始的服务计入")


class RecoveryEstimateIn(BaseModel):
    model_config = _example(elders=[{"elder_id": ELDER, "since": "2026-11-03"}])
    elders: list[RecoveryElderIn] = Field(max_length=200_000)


class RecoveryProvider(BaseModel):
    provider_id: str
    provider_name: str | None = Field(description="本服务未保存服务商名称时为空")
    amount_fen: int


class RecoveryElder(BaseModel):
    elder_id: str
    amount_fen: int = Field(description="应追缴的券支付金额（分），已扣除冲正")
    providers: list[RecoveryProvider]


class RecoveryEstimateOut(BaseModel):
    model_config = _example(elders=[{"elder_id": ELDER, "amount_fen": 9000, "providers": [
        {"provider_id": PROVIDER, "provider_name": None, "amount_fen": 9000}]}])
    elders: list[RecoveryElder] = Field(description="无应追缴金额的老人不列出")


MAX_PLAN_OCCURRENCES = 1_000  # per line and month: far above one a day; a bigger number is a typo


class PlanBudgetLineIn(BaseModel):
    service_code: str = Field(min_length=1, max_length=50)
    voucher_kind: Literal["community", "mutual_aid", "self_pay"] = Field(
        description="券种，或 self_pay（自费，不用券）")
    unit_price_fen: int = Field(ge=0, le=MAX_PRICE_FEN, description="所选服务商的单次价格（分）")
    occurrences: int = Field(ge=0, le=MAX_PLAN_OCCURRENCES,
                             description="该月次数（评估服务按频次和起始日计算，月中开始的计划次数较少）")


class PlanBudgetIn(BaseModel):
    model_config = _example(elder_id=ELDER, month="2026-11", lines=[
        {"service_code": "meal", "voucher_kind": "community", "unit_price_fen": 3000, "occurrences": 20}])
    elder_id: UUID
    month: str = Field(max_length=7, description="YYYY-MM（北京时间的月份）")
    lines: list[PlanBudgetLineIn] = Field(min_length=1, max_length=50)


class PlanBudgetLineOut(BaseModel):
    service_code: str
    voucher_kind: str
    unit_price_fen: int
    occurrences: int
    total_fen: int
    voucher_fen: int
    self_fen: int


class PlanBudgetKindOut(BaseModel):
    voucher_kind: str
    kind_name: str
    share_bp: int = Field(description="券支付比例（基点）")
    cap_fen: int = Field(description="该月该券种最多支付（分）")
    cap_source: str = Field(description="wallet 本月已发放：钱包可用余额 / voucher 往月已发放：面值 / "
                                        "policy 未发放：当月生效政策的面值 / none 该月没有此券种")
    share_fen: int = Field(description="按比例券应支付（分），未计上限")
    voucher_fen: int = Field(description="计上限后券支付（分）")
    cut_fen: int = Field(description="因上限由老人多付的金额（分）")


class PlanBudgetOut(BaseModel):
    model_config = _example(
        elder_id=ELDER, month="2026-11", occurrences=20, total_fen=60000, voucher_fen=54000, self_fen=6000,
        over_budget=False, over_budget_fen=0, summary_zh="每月计划 20 次，约 600 元：代金券 540 元，自付 60 元",
        lines=[{"service_code": "meal", "voucher_kind": "community", "unit_price_fen": 3000, "occurrences": 20,
                "total_fen": 60000, "voucher_fen": 54000, "self_fen": 6000}],
        kinds=[{"voucher_kind": "community", "kind_name": "社区照护券", "share_bp": 9000, "cap_fen": 60000,
                "cap_source": "policy", "share_fen": 54000, "voucher_fen": 54000, "cut_fen": 0}])
    elder_id: str
    month: str
    occurrences: int
    total_fen: int
    voucher_fen: int
    self_fen: int
    over_budget: bool = Field(description="券的月度上限不够、或老人该月没有所用券种：老人须同意自付超出部分")
    over_budget_fen: int = Field(description="老人在正常自付比例之外多付的金额（分）")
    summary_zh: str
    lines: list[PlanBudgetLineOut]
    kinds: list[PlanBudgetKindOut]

class StayClaimDraftIn(BaseModel):
    model_config = _example(month="2026-11")
    month: str = Field(max_length=7, description="YYYY-MM：已结束的月份（北京时间）")
    district_code: str | None = Field(None, max_length=12, description="市级账号可指定区县；区县账号只能是本辖区")


class StayClaimLine(BaseModel):
    status: str = Field(description="present 在院 / paid_leave 请假计费 / unpaid_leave 请假超出上限不计费")
    status_name: str
    care_level: str
    care_level_name: str
    daily_rate_fen: int
    days: int
    amount_fen: int


class StayClaimOut(BaseModel):
    claim_id: str
    stay_id: str
    elder_id: str
    provider_id: str
    month: str
    district_code: str | None
    district_name: str
    stay_kind: str
    stay_kind_name: str
    state: str = Field(description="drafted 待机构确认 / confirmed 待民政审核 / settled 已结算")
    state_name: str
    first_day: date
    last_day: date
    present_days: int
    paid_leave_days: int
    unpaid_leave_days: int
    billed_days: int
    amount_fen: int = Field(description="床日费合计（分）")
    voucher_fen: int = Field(description="机构托养券支付（分）")
    elder_fen: int = Field(description="老人自付（分）")
    share_bp: int
    lines: list[StayClaimLine]
    policy_version: int
    revision: int
    confirmed_by: str | None
    confirmed_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    settled_at: datetime | None


MEAL_REDEMPTION = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"


class MealSubsidyIn(BaseModel):
    model_config = _example(redemption_id=MEAL_REDEMPTION, elder_id=ELDER, provider_id=PROVIDER,
                            meal_date="2026-03-10", meal="lunch", price_fen=1500, method="scanned")
    redemption_id: UUID = Field(description="订单服务的用餐核销编号（幂等键）")
    elder_id: UUID
    provider_id: UUID = Field(description="助餐点（服务商）")
    meal_date: date = Field(description="用餐日（本市日期）")
    meal: Literal["lunch", "dinner"]
    price_fen: int = Field(ge=0, le=MAX_PRICE_FEN, description="餐价（分）")
    method: Literal["scanned", "typed"] = Field("scanned", description="扫码或手输码（稽核规则用）")
    served_at: datetime | None = Field(None, description="扫码时间；缺省为收到请求的时间")


class MealSubsidyOut(BaseModel):
    model_config = _example(redemption_id=MEAL_REDEMPTION, status="granted", subsidy_fen=500, self_fen=1000,
                            tier="age_80", tier_name="80 岁及以上", reason_zh="80 岁及以上每餐补贴 5.00 元",
                            receipt_zh="补贴 5.00 元，自付 10.00 元", month="2026-03")
    redemption_id: str
    status: str = Field(description="granted 已补贴（含自费 0 元补贴）/ reversed 已撤销")
    subsidy_fen: int
    self_fen: int
    tier: str
    tier_name: str
    reason_zh: str
    receipt_zh: str
    month: str | None


class MealPointCapacityIn(BaseModel):
    model_config = _example(meals_per_day=200)
    meals_per_day: int = Field(ge=1, le=100_000, description="申报的每日供餐能力（份）")


class MealPointCapacityOut(BaseModel):
    provider_id: str
    meals_per_day: int
    set_by: str
    updated_at: datetime


# ---- return visits (回访), their findings, complaints, the oversight figures (issue 24) ----------


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
