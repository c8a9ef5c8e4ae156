"""The rules of institutional stays (issue 22), decided without I/O: `stays.py` loads the rows and
the policy file, asks here, and writes.

The stay's life is one state machine: admitted → on_leave → back → transferred → discharged or
ended_by_death. Every command checks it first; a refused command is a 409 naming the current
state. Dates are local days (Asia/Shanghai); a date outside the stay is a 422.

The numbers that are policy (the longest respite stay, whether community-voucher home services
are allowed during a leave) are not constants here: they come from the versioned policy data
(`services/orders/stay_policy.json`), the version in force on the day in question.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.errors import Conflict, FieldError, Invalid, invalid_field
from shared.policy_data import in_force as policy_on  # noqa: F401 - the one chooser of a version

CARE_LEVELS = {"self_care": "自理", "nursing": "护理型", "dementia": "失智照护"}
STAY_KINDS = {"long_term": "长期托养", "respite": "短期喘息"}
LEAVE_KINDS = {"home": "回家", "hospital": "住院"}


class StayStatus(StrEnum):
    ADMITTED = "admitted"
    ON_LEAVE = "on_leave"
    BACK = "back"
    TRANSFERRED = "transferred"
    DISCHARGED = "discharged"
    ENDED_BY_DEATH = "ended_by_death"


class StayCommand(StrEnum):
    LEAVE = "leave"
    RETURN = "return"
    TRANSFER = "transfer"
    DISCHARGE = "discharge"
    DIE = "die"


STATUS_NAMES = {StayStatus.ADMITTED: "在院", StayStatus.ON_LEAVE: "请假外出", StayStatus.BACK: "已销假",
                StayStatus.TRANSFERRED: "已转床", StayStatus.DISCHARGED: "已出院", StayStatus.ENDED_BY_DEATH: "已故"}
COMMAND_NAMES = {StayCommand.LEAVE: "请假", StayCommand.RETURN: "销假", StayCommand.TRANSFER: "转床",
                 StayCommand.DISCHARGE: "出院", StayCommand.DIE: "因故终止"}

_PRESENT = {StayCommand.LEAVE: StayStatus.ON_LEAVE, StayCommand.TRANSFER: StayStatus.TRANSFERRED,
            StayCommand.DISCHARGE: StayStatus.DISCHARGED, StayCommand.DIE: StayStatus.ENDED_BY_DEATH}
# a transfer while on leave is refused: the elder returns first, then moves bed
TRANSITIONS: dict[StayStatus, dict[StayCommand, StayStatus]] = {
    StayStatus.ADMITTED: _PRESENT,
    StayStatus.BACK: _PRESENT,
    StayStatus.TRANSFERRED: _PRESENT,
    StayStatus.ON_LEAVE: {StayCommand.RETURN: StayStatus.BACK, StayCommand.DISCHARGE: StayStatus.DISCHARGED,
                          StayCommand.DIE: StayStatus.ENDED_BY_DEATH},
    StayStatus.DISCHARGED: {},
    StayStatus.ENDED_BY_DEATH: {},
}
OPEN_STATUSES = frozenset(s for s, moves in TRANSITIONS.items() if moves)
DEATH_REASON = "死亡"

# applications: submitted → accepted (a bed reserved) → admitted; or declined
APPLICATION_NAMES = {"submitted": "待受理", "accepted": "已接收（已预留床位）", "declined": "已婉拒", "admitted": "已入住"}


def next_status(status: str, command: StayCommand) -> StayStatus:
    """The status after `command`, or 409 naming the current one."""
    current = StayStatus(status)
    target = TRANSITIONS[current].get(command)
    if target is None:
        raise Conflict(f"入住状态为「{STATUS_NAMES[current]}」，不能{COMMAND_NAMES[command]}",
                       stay_status=current.value, command=command.value)
    return target


# ---- policy -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StayPolicy:
    version: str
    valid_from: date
    respite_max_days: int  # the longest respite stay, planned_start..planned_end both counted
    community_during_leave: bool  # community-voucher home services allowed while on leave


def policy_from(data: dict) -> list[StayPolicy]:
    """The versions of the policy file, oldest first."""
    versions = [StayPolicy(version=str(v["version"]), valid_from=date.fromisoformat(v["valid_from"]),
                           respite_max_days=int(v["respite_max_days"]),
                           community_during_leave=bool(v["community_during_leave"]))
                for v in data["versions"]]
    return sorted(versions, key=lambda v: v.valid_from)


# ---- applications and dates -------------------------------------------------------------------


def check_application(kind: str, care_level: str, planned_start: date, planned_end: date | None,
                      policy: StayPolicy) -> None:
    """A respite stay names its end, at most `respite_max_days` days (both ends counted); a long
    stay names none."""
    if care_level not in CARE_LEVELS:
        raise invalid_field("care_level", "不是可选的照护等级")
    if kind not in STAY_KINDS:
        raise invalid_field("kind", "不是可选的入住类型")
    if kind == "long_term":
        if planned_end is not None:
            raise invalid_field("planned_end", "长期托养不填计划结束日期")
        return
    if planned_end is None:
        raise invalid_field("planned_end", "短期喘息请填写计划结束日期")
    if planned_end < planned_start:
        raise invalid_field("planned_end", "计划结束日期不能早于开始日期")
    days = (planned_end - planned_start).days + 1
    if days > policy.respite_max_days:
        raise Invalid(f"短期喘息最长 {policy.respite_max_days} 天（政策版本 {policy.version}），本次申请 {days} 天",
                      errors=[FieldError("planned_end", f"不能超过 {policy.respite_max_days} 天")],
                      respite_max_days=policy.respite_max_days, policy_version=policy.version)


@dataclass(frozen=True, slots=True)
class StayDates:
    admitted_on: date
    since: date  # the day of the stay's last movement (admission, return, transfer): nothing before it
    planned_end: date | None  # respite: the stay's planned last day


def check_leave(stay: StayDates, start: date, end: date) -> None:
    """A leave lies inside the stay: not before its last movement, not past a respite's end."""
    if end < start:
        raise invalid_field("to", "请假结束日期不能早于开始日期")
    if start < stay.since:
        raise Invalid(f"请假日期不在入住期间：开始日期 {start} 早于 {stay.since}",
                      errors=[FieldError("from", "不能早于入住（或上次变动）日期")], since=stay.since.isoformat())
    if stay.planned_end is not None and end > stay.planned_end:
        raise Invalid(f"请假日期不在入住期间：结束日期 {end} 晚于计划离院日 {stay.planned_end}",
                      errors=[FieldError("to", "不能晚于计划离院日期")], planned_end=stay.planned_end.isoformat())


def check_return(leave_from: date, on: date) -> None:
    if on < leave_from:
        raise invalid_field("on", "销假日期不能早于请假开始日期", f"销假日期 {on} 早于请假开始日期 {leave_from}")


def check_move(stay: StayDates, on: date, what: str) -> None:
    """A transfer or a discharge: not before admission, nor before the stay's last movement."""
    if on < stay.admitted_on:
        raise invalid_field("on", f"{what}日期不能早于入住日期", f"{what}日期 {on} 早于入住日期 {stay.admitted_on}")
    if on < stay.since:
        raise invalid_field("on", f"{what}日期不能早于上次变动日期", f"{what}日期 {on} 早于上次变动日期 {stay.since}")


def death_day(stay: StayDates, status_date: date) -> date:
    """The stay ends on the date of death; a date recorded before the admission (a late or wrong
    entry) ends it on the day of admission, never before it began."""
    return max(status_date, stay.admitted_on)


# ---- home services during a stay -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenStay:
    stay_id: str
    provider_name: str | None
    status: str
    admitted_on: date
    leave_from: date | None
    leave_to: date | None


def community_order_refusal(payment: str, stay: OpenStay | None, service_day: date,
                            policy: StayPolicy) -> str | None:
    """Why a home-service order paid by 社区照护券 is refused while the elder lives in an
    institution, or None when it may be placed. The institution cares for the elder (and the
    机构托养券 pays for it); home services with the community voucher are for days the elder is
    not there: before admission, or during a leave when the policy allows it."""
    if payment != "community" or stay is None or stay.status not in OPEN_STATUSES:
        return None
    if service_day < stay.admitted_on:
        return None
    on_leave = (stay.status == StayStatus.ON_LEAVE and stay.leave_from is not None
                and stay.leave_from <= service_day <= (stay.leave_to or stay.leave_from))
    if on_leave and policy.community_during_leave:
        return None
    where = f"「{stay.provider_name}」" if stay.provider_name else "养老机构"
    return (f"老人正在{where}入住（入住记录 {stay.stay_id}，{stay.admitted_on} 起），"
            f"入住期间不能使用社区照护券下单上门服务；请假外出期间可以下单")
