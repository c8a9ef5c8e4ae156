"""Pure rules of 家庭养老床位 (home beds): eligibility from the versioned policy data
(`home_beds.json`: *policy default* grade 3–4, or grade 2 living alone aged 80 or more), the
prerequisites of opening a bed and what is missing, and the bed's states. No I/O: `home_beds.py`
applies them; the policy file is read once by `instruments.py`.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Conflict, FieldError, Invalid

STATE_NAMES = {"preparing": "筹备中", "open": "已开床", "closed": "已撤床"}
# the prerequisites of opening, in the order they are reported
PREREQUISITES = {
    "adaptation": "适老化改造工单尚未完成（或由民政工作人员登记免于改造）",
    "device": "尚未登记任何已安装的智能设备",
    "eligibility": "老人不符合家庭养老床位的申请条件",
    "anchor_provider": "依托的服务商不是已通过审核的养老机构或居家养老服务中心",
}


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reason_zh: str
    policy_version: str


def eligibility(policy: dict, *, grade: int | None, living_situation: str, age: int) -> Eligibility:
    """Whether the elder may have a home bed under `policy`, and why (the first rule that holds,
    or why none does)."""
    version = str(policy["version"])
    if grade is None:
        return Eligibility(False, "老人还没有定稿的能力评估", version)
    for rule in policy["eligible_when"]:
        if grade not in rule["grades"]:
            continue
        if "living_situations" in rule and living_situation not in rule["living_situations"]:
            continue
        if age < int(rule.get("min_age", 0)):
            continue
        return Eligibility(True, rule["reason_zh"], version)
    wanted = "；或".join(r["reason_zh"] for r in policy["eligible_when"])
    return Eligibility(False, f"能力等级 {grade} 级，不符合条件（{wanted}）", version)


def missing_prerequisites(*, adaptation_done: bool, waived: bool, devices: int, eligible: bool,
                          anchor_ok: bool) -> list[dict]:
    """What still stands between a preparing bed and opening it: [{code, reason}] ([] to open)."""
    missing = []
    if not (adaptation_done or waived):
        missing.append("adaptation")
    if devices < 1:
        missing.append("device")
    if not eligible:
        missing.append("eligibility")
    if not anchor_ok:
        missing.append("anchor_provider")
    return [{"code": code, "reason": PREREQUISITES[code]} for code in missing]


def require_state(current: str, allowed: str, action: str) -> None:
    if current != allowed:
        raise Conflict(f"该家庭养老床位{STATE_NAMES.get(current, current)}，不能{action}", current_state=current)


def anchor_ok(policy: dict, *, kind: str | None, status: str | None) -> bool:
    return kind in policy["anchor_provider_kinds"] and status == "approved"


def package_errors(package: dict) -> list[FieldError]:
    errors = []
    visits = package.get("visits_per_week")
    if not isinstance(visits, int) or not 0 <= visits <= 14:
        errors.append(FieldError("package.visits_per_week", "每周上门次数应为 0–14"))
    if not isinstance(package.get("remote_monitoring"), bool):
        errors.append(FieldError("package.remote_monitoring", "请说明是否提供远程监测"))
    return errors


def device_errors(policy: dict, kind: str) -> list[FieldError]:
    if kind not in policy["device_kinds"]:
        known = "、".join(policy["device_kinds"])
        return [FieldError("kind", f"设备类型应为 {known} 之一")]
    return []


def raise_if_invalid(errors: list[FieldError], detail: str = "家庭养老床位信息填写有误") -> None:
    if errors:
        raise Invalid(detail, errors=errors)
