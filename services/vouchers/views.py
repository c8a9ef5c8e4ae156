"""What people read: the names of districts, kinds and actions, and the answers built from
stored rows."""
from __future__ import annotations

from services.vouchers.ledger.rules import Account
from services.vouchers.models import AnomalyFindingRow, HoldRow, IssuanceRunRow, PolicyVersionRow, SettlementRow, TransferRow
from services.vouchers.rules.money import format_yuan
from services.vouchers.rules.plan_budget import PlanBudget
from services.vouchers.rules.policy import VoucherKind
from shared.city import CITY_TZ, DISTRICTS

DISTRICT_NAMES = DISTRICTS
SETTLEMENT_STATUS_NAMES = {"draft": "草稿", "confirmed": "已确认", "paid": "已付款"}
ACTION_NAMES = {"issue": "发放", "hold": "下单预扣", "capture": "服务核销", "void": "释放预扣",
                "expire": "月末过期作废", "reverse": "冲正退回"}


def district_name(code: str | None) -> str:
    return DISTRICT_NAMES.get(code or "", code or "未知区县")


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
            "reversed_fen": row.reversed_fen, "net_fen": row.net_fen}


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
