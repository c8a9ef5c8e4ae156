"""What people read: the names of districts, kinds and actions, and the answers built from
stored rows."""
from __future__ import annotations

from services.vouchers.ledger.rules import Account
from services.vouchers.models import (
    AnomalyFindingRow,
    ComplaintRow,
    HoldRow,
    IssuanceRunRow,
    PolicyVersionRow,
    ReturnVisitRow,
    ReturnVisitSampleRow,
    ServiceFindingRow,
    SettlementRow,
    StayClaimRow,
    TransferRow,
)
from services.vouchers.rules.complaints import ComplaintStatus, ComplaintSubject, is_overdue
from services.vouchers.rules.money import format_yuan
from services.vouchers.rules.plan_budget import PlanBudget
from services.vouchers.rules.policy import VoucherKind
from services.vouchers.rules.return_visits import FindingOutcome, VisitResult
from services.vouchers.rules.stay_claims import DayStatus
from shared.city import CITY_TZ, DISTRICTS

STAY_CLAIM_STATE_NAMES = {"drafted": "待机构确认", "confirmed": "待民政审核", "settled": "已结算"}
CARE_LEVEL_NAMES = {"self_care": "自理", "nursing": "护理型", "dementia": "失智照护"}
SETTLEMENT_STATUS_NAMES = {"draft": "草稿", "confirmed": "已确认", "paid": "已付款"}
ACTION_NAMES = {"issue": "发放", "hold": "下单预扣", "capture": "服务核销", "void": "释放预扣",
                "expire": "月末过期作废", "reverse": "冲正退回"}


def district_name(code: str | None) -> str:
    return DISTRICTS.get(code or "", code or "未知区县")


def group_name(group_by: str, key: object) -> str:
    """The name of a spend report's line: a district's, a kind's, or the key itself."""
    if group_by == "district":
        return district_name(key)
    if group_by == "kind":
        return VoucherKind(key).zh_name
    return str(key)


def describe_policy(row: PolicyVersionRow) -> dict:
    return {**row.document, "created_by": row.created_by, "created_at": row.created_at}


def hold_answer(hold: HoldRow) -> dict:
    return {"hold_id": str(hold.id), "order_id": str(hold.order_id), "kind": hold.kind,
            "voucher_fen": hold.voucher_fen, "elder_fen": hold.elder_fen, "share_bp": hold.share_bp,
            "status": hold.status}


def history_entry(row: TransferRow, account: Account, held_fen: int | None) -> dict:
    """One line of a wallet's history, with a sentence a family member can read."""
    kind = VoucherKind(account.kind)
    amount = row.amount_fen
    change = {"issue": amount, "hold": -amount, "void": amount, "expire": -amount, "reverse": amount,
              "capture": (held_fen or amount) - amount}.get(row.kind, 0)
    text = {
        "issue": f"{account.month} 月{kind.zh_name}发放 {format_yuan(amount)} 元",
        "hold": f"下单预扣 {format_yuan(amount)} 元",
        "capture": f"服务完成，券支付 {format_yuan(amount)} 元" + (
            f"，退回多预扣的 {format_yuan(change)} 元" if change > 0 else ""),
        "void": f"订单取消，退回预扣 {format_yuan(amount)} 元",
        "expire": f"{account.month} 月未用完的 {format_yuan(amount)} 元已过期作废",
        "reverse": f"核销被冲正，退回 {format_yuan(amount)} 元",
    }.get(row.kind, row.memo)
    return {"transfer_id": row.id, "time": row.created_at.astimezone(CITY_TZ).isoformat(timespec="seconds"),
            "month": account.month, "kind": str(kind), "kind_name": kind.zh_name, "action": row.kind,
            "action_name": ACTION_NAMES.get(row.kind, row.kind), "amount_fen": amount, "amount_yuan": format_yuan(amount),
            "available_change_fen": change, "order_id": str(row.order_id) if row.order_id else None,
            "description": text}


def issuance_run(run: IssuanceRunRow, *, only_district: str | None = None) -> dict:
    report = dict(run.report)
    if only_district:  # an officer reading a city-wide run sees their district's lines only
        report["by_district_kind"] = [r for r in report["by_district_kind"] if r["district_code"] == only_district]
        for name in ("issued_count", "issued_fen", "already_count", "already_fen"):
            report[name] = sum(r[name] for r in report["by_district_kind"])
    return {"run_id": run.id, "month": run.month, "district_code": run.district_code, "trigger": run.trigger,
            "requested_by": run.requested_by, "started_at": run.started_at, **report}


def statement_summary(row: SettlementRow) -> dict:
    return {"settlement_id": str(row.id), "month": row.month, "provider_id": str(row.provider_id),
            "district_code": row.district_code, "district_name": district_name(row.district_code),
            "status": row.status, "redemption_count": row.redemption_count, "redeemed_fen": row.redeemed_fen,
            "reversed_fen": row.reversed_fen, "net_fen": row.net_fen, "held_count": row.held_count or 0,
            "held_fen": row.held_fen or 0}


def describe_finding(row: AnomalyFindingRow) -> dict:
    return {"finding_id": str(row.id), "key": row.key, "month": row.month, "rule": row.rule, "title": row.title,
            "explanation": row.explanation, "district_code": row.district_code,
            "district_name": district_name(row.district_code),
            "provider_id": str(row.provider_id) if row.provider_id else None,
            "elder_id": str(row.elder_id) if row.elder_id else None, "redemption_ids": row.redemption_ids,
            "amount_fen": row.amount_fen, "status": row.status, "created_at": row.created_at}


def plan_budget_answer(elder_id: object, budget: PlanBudget) -> dict:
    lines = [{"service_code": p.line.service_code, "voucher_kind": p.line.voucher_kind,
              "unit_price_fen": p.line.unit_price_fen, "occurrences": p.line.occurrences, "total_fen": p.total_fen,
              "voucher_fen": p.voucher_fen, "self_fen": p.self_fen} for p in budget.lines]
    kinds = [{"voucher_kind": str(k.kind), "kind_name": k.kind.zh_name, "share_bp": k.allowance.share_bp,
              "cap_fen": k.allowance.cap_fen, "cap_source": str(k.allowance.source), "share_fen": k.share_fen,
              "voucher_fen": k.voucher_fen, "cut_fen": k.cut_fen} for k in budget.kinds]
    return {"elder_id": str(elder_id), "month": budget.month, "occurrences": budget.occurrences,
            "total_fen": budget.total_fen, "voucher_fen": budget.voucher_fen, "self_fen": budget.self_fen,
            "over_budget": budget.over_budget, "over_budget_fen": budget.over_budget_fen,
            "summary_zh": budget.summary_zh, "lines": lines, "kinds": kinds}

def stay_claim_answer(row: StayClaimRow) -> dict:
    """A monthly bed-day claim as the institution, the officer and the elder's family read it."""
    return {"claim_id": str(row.id), "stay_id": str(row.stay_id), "elder_id": str(row.elder_id),
            "provider_id": str(row.provider_id), "month": row.month, "district_code": row.district_code,
            "district_name": district_name(row.district_code), "stay_kind": row.stay_kind,
            "stay_kind_name": "短期托养" if row.stay_kind == "respite" else "长期入住",
            "state": row.state, "state_name": STAY_CLAIM_STATE_NAMES.get(row.state, row.state),
            "first_day": row.first_day, "last_day": row.last_day, "present_days": row.present_days,
            "paid_leave_days": row.paid_leave_days, "unpaid_leave_days": row.unpaid_leave_days,
            "billed_days": row.present_days + row.paid_leave_days, "amount_fen": row.amount_fen,
            "voucher_fen": row.voucher_fen, "elder_fen": row.elder_fen, "share_bp": row.share_bp,
            "lines": [line | {"status_name": DayStatus(line["status"]).zh_name,
                              "care_level_name": CARE_LEVEL_NAMES.get(line["care_level"], line["care_level"])}
                      for line in row.lines],
            "policy_version": row.policy_version, "revision": row.revision,
            "confirmed_by": row.confirmed_by, "confirmed_at": row.confirmed_at, "approved_by": row.approved_by,
            "approved_at": row.approved_at, "settled_at": row.settled_at}


def _iso(value) -> str | None:
    return None if value is None else str(value)


def finding_answer(row: ServiceFindingRow) -> dict:
    return {"finding_id": str(row.id), "kind": row.kind, "kind_name": "回访：服务未发生", "order_id": str(row.order_id),
            "elder_id": str(row.elder_id), "provider_id": str(row.provider_id), "district_code": row.district_code,
            "district_name": district_name(row.district_code), "visit_id": _iso(row.visit_id),
            "redemption_id": _iso(row.redemption_id), "holds_settlement": row.redemption_id is not None,
            "status": row.status, "status_name": "待核实（暂扣结算）" if row.status == "open" else "已处理",
            "outcome": row.outcome, "outcome_name": FindingOutcome(row.outcome).zh_name if row.outcome else None,
            "carried_to_month": row.carried_to_month, "note": row.note, "resolution": row.resolution,
            "opened_at": row.opened_at, "resolved_by": row.resolved_by, "resolved_at": row.resolved_at}


def visit_answer(row: ReturnVisitRow, finding: ServiceFindingRow | None) -> dict:
    return {"visit_id": str(row.id), "order_id": str(row.order_id), "elder_id": str(row.elder_id),
            "provider_id": str(row.provider_id), "service_code": row.service_code, "completed_at": row.completed_at,
            "result": row.result, "result_name": VisitResult(row.result).zh_name if row.result else "待回访",
            "note": row.note, "called_by": row.called_by, "called_role": row.called_role, "called_at": row.called_at,
            "attempts": row.attempts, "finding": finding_answer(finding) if finding else None}


def sample_answer(row: ReturnVisitSampleRow, visits: list[dict], completed: dict) -> dict:
    sampled: dict[str, int] = {}
    for v in visits:
        sampled[v["provider_id"]] = sampled.get(v["provider_id"], 0) + 1
    providers = [{"provider_id": str(p), "completed": n, "sampled": sampled.get(str(p), 0)}
                 for p, n in sorted(completed.items(), key=lambda item: str(item[0]))]
    return {"sample_id": str(row.id), "district_code": row.district_code, "district_name": district_name(row.district_code),
            "month": row.month, "seed": row.seed, "policy_version": row.policy_version, "rate_bp": row.rate_bp,
            "minimum": row.minimum, "population": row.population, "drawn_by": row.drawn_by, "drawn_at": row.drawn_at,
            "providers": providers, "visits": visits}


def complaint_answer(row: ComplaintRow, *, now, hide_complainant: bool) -> dict:
    status = ComplaintStatus(row.status)
    return {"complaint_id": str(row.id), "district_code": row.district_code,
            "district_name": district_name(row.district_code), "subject": row.subject,
            "subject_name": ComplaintSubject(row.subject).zh_name,
            "order_id": None if hide_complainant else _iso(row.order_id), "provider_id": _iso(row.provider_id),
            "caregiver_id": _iso(row.caregiver_id), "elder_id": None if hide_complainant else _iso(row.elder_id),
            "complainant_user_id": None if hide_complainant else row.complainant_user_id,
            "complainant_role": None if hide_complainant else row.complainant_role, "anonymous": row.anonymous,
            "text": row.text, "status": row.status, "status_name": status.zh_name, "deadline": row.deadline,
            "overdue": is_overdue(status, row.deadline, now), "handled_by": row.handled_by, "answer": row.answer,
            "answered_at": row.answered_at, "filed_at": row.filed_at}
