"""Pure rules of one-key emergency alarms (issue 25): the policy data's versions, the alarm's states
and commands, when a press joins the open alarm, who is alerted, when an unacknowledged alarm
escalates, the response targets of one alarm and of a district's month, and device tokens.

No I/O: the use cases (`alarms.py`) read the rows and the clock and hand them in."""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from shared.errors import Conflict, Forbidden, invalid_field
from shared.policy_data import in_force as policy_on  # noqa: F401 - the one chooser of a version


class AlarmState(StrEnum):
    RAISED = "raised"  # caregivers alerted, nobody has said "我去" yet
    ESCALATED = "escalated"  # not acknowledged in time: the operator desk and the district officer have it
    ACKNOWLEDGED = "acknowledged"  # a caregiver is on the way (or at the door: `arrived_at`)
    CLOSED = "closed"  # with an outcome


STATE_NAMES = {"raised": "呼叫中", "escalated": "已升级（坐席跟进）", "acknowledged": "护理员前往中", "closed": "已结束"}
OUTCOMES = {"resolved_on_site": "现场已处置", "called_120": "已拨打 120", "false_alarm": "误报"}
SOURCES = {"button": "紧急呼叫按钮", "device": "呼叫终端", "operator": "坐席代报"}
OPEN_STATES = frozenset({AlarmState.RAISED, AlarmState.ESCALATED, AlarmState.ACKNOWLEDGED})
DEVICE_TOKEN_PREFIX = "yfd_"


@dataclass(frozen=True)
class AlarmPolicy:
    version: str
    valid_from: date
    join_window_s: int  # a press this soon after the alarm's last press is the same call
    ack_target_s: int  # nobody said "我去" this long after the press → escalate (and the target is missed)
    arrive_target_min: int  # someone at the door within this long after the press
    alert_count: int  # caregivers alerted at once
    search_k: int  # candidates asked of providers' nearest search
    served_lookback_days: int  # "the elder's providers": those that served the elder this far back


def policy_from(data: dict) -> list[AlarmPolicy]:
    """The versions of the policy file, oldest first."""
    versions = [AlarmPolicy(version=str(v["version"]), valid_from=date.fromisoformat(v["valid_from"]),
                            join_window_s=int(v["join_window_s"]), ack_target_s=int(v["ack_target_s"]),
                            arrive_target_min=int(v["arrive_target_min"]), alert_count=int(v["alert_count"]),
                            search_k=int(v["search_k"]), served_lookback_days=int(v["served_lookback_days"]))
                for v in data["versions"]]
    return sorted(versions, key=lambda v: v.valid_from)


# ---- raising -------------------------------------------------------------------------------------


def press_renews(*, last_press_at: datetime, now: datetime, policy: AlarmPolicy) -> bool:
    """A press on an elder's open alarm always joins it (one open alarm per elder). Within the join
    window it is the same call (a double press, a pocket press): nothing more happens. Later it is
    a renewed call: the alerted caregivers are told again (when nobody has acknowledged yet)."""
    return (now - last_press_at).total_seconds() > policy.join_window_s


def check_location(lat: float | None, lon: float | None) -> None:
    if (lat is None) != (lon is None):
        raise invalid_field("lat" if lat is None else "lon", "经纬度需要同时提供")
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise invalid_field("lat", "经纬度超出范围")


def choose_responders(candidates: Sequence[dict], own_providers: Iterable[str], count: int) -> list[dict]:
    """Who is alerted: from providers' nearest on-duty candidates (ranked by it), the caregivers of
    the elder's own providers first (they know the elder and the home), in the search's order,
    then the nearest others; one entry per caregiver, at most `count`."""
    own = {str(p) for p in own_providers}
    seen: set[str] = set()
    first, rest = [], []
    for c in candidates:
        cid = str(c.get("caregiver_id") or "")
        if not cid or cid in seen:
            continue
        seen.add(cid)
        (first if str(c.get("provider_id")) in own else rest).append(c)
    return (first + rest)[:max(0, count)]


# ---- escalation ----------------------------------------------------------------------------------


def ack_deadline(*, raised_at: datetime, alerted: int, policy: AlarmPolicy) -> datetime:
    """When an unacknowledged alarm escalates: `ack_target_s` after the press; at once when nobody
    could be alerted (no caregiver on duty, providers unreachable)."""
    return raised_at if alerted == 0 else raised_at + timedelta(seconds=policy.ack_target_s)


def escalation_due(*, state: str, raised_at: datetime, alerted: int, now: datetime, policy: AlarmPolicy) -> bool:
    """Escalate when still unacknowledged at the deadline (at 3:00 exactly the 3 minutes are over)."""
    return state == AlarmState.RAISED and now >= ack_deadline(raised_at=raised_at, alerted=alerted, policy=policy)


def escalation_reason(alerted: int) -> str:
    return "no_caregiver" if alerted == 0 else "not_acknowledged"


# ---- responding ----------------------------------------------------------------------------------


def check_acknowledge(*, state: str, acknowledged_by_name: str | None, alerted: bool) -> None:
    """"我去": only an alerted caregiver, only once. The loser is told who went."""
    if state == AlarmState.CLOSED:
        raise Conflict("该呼叫已结束", state=state)
    if state == AlarmState.ACKNOWLEDGED:
        raise Conflict(f"已由{acknowledged_by_name or '其他护理员'}前往", state=state,
                       acknowledged_by=acknowledged_by_name)
    if not alerted:
        raise Forbidden("只有收到该呼叫的护理员可以响应")


def check_arrive(*, state: str, is_responder: bool, arrived_at: datetime | None) -> None:
    if state != AlarmState.ACKNOWLEDGED:
        raise Conflict(f"呼叫当前为「{STATE_NAMES.get(state, state)}」，不能登记到达", state=state)
    if not is_responder:
        raise Forbidden("只有前往的护理员可以登记到达")
    if arrived_at is not None:
        raise Conflict("已登记到达", state=state)


def check_close(*, state: str, outcome: str) -> None:
    if outcome not in OUTCOMES:
        raise invalid_field("outcome", "结果只能是：现场已处置、已拨打 120 或误报")
    if state == AlarmState.CLOSED:
        raise Conflict("该呼叫已结束", state=state)


# ---- targets -------------------------------------------------------------------------------------


def response_times(*, raised_at: datetime, acknowledged_at: datetime | None, arrived_at: datetime | None,
                   ack_target_s: int, arrive_target_min: int, now: datetime) -> dict:
    """Seconds to "我去" and to the door, and whether each target was met (None: not decided yet).
    "Within 3 minutes" is strictly less: at 3:00 the alarm escalates, so 180 s is a miss."""
    def measure(at: datetime | None, target_s: int) -> tuple[int | None, bool | None]:
        if at is not None:
            seconds = int((at - raised_at).total_seconds())
            return seconds, seconds < target_s
        return None, (False if (now - raised_at).total_seconds() >= target_s else None)

    ack_s, ack_met = measure(acknowledged_at, ack_target_s)
    arrive_s, arrive_met = measure(arrived_at, arrive_target_min * 60)
    return {"ack_s": ack_s, "ack_target_s": ack_target_s, "ack_met": ack_met,
            "arrive_s": arrive_s, "arrive_target_min": arrive_target_min, "arrive_met": arrive_met}


@dataclass(frozen=True)
class AlarmFacts:
    """One alarm as the monthly report needs it."""

    district_code: str | None
    raised_at: datetime
    acknowledged_at: datetime | None
    arrived_at: datetime | None
    escalated: bool
    outcome: str | None
    ack_target_s: int
    arrive_target_min: int


def _median(values: list[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) // 2


def district_summary(facts: Iterable[AlarmFacts]) -> list[dict]:
    """Counts and response times by district: alarms, escalated, by outcome, acknowledged and at
    the door within each alarm's own targets (the policy version it was raised under), median
    and worst seconds."""
    by: dict[str | None, list[AlarmFacts]] = {}
    for f in facts:
        by.setdefault(f.district_code, []).append(f)
    rows = []
    for district in sorted(by, key=lambda d: d or ""):
        group = by[district]
        ack = [int((f.acknowledged_at - f.raised_at).total_seconds()) for f in group if f.acknowledged_at]
        arrive = [int((f.arrived_at - f.raised_at).total_seconds()) for f in group if f.arrived_at]
        rows.append({
            "district_code": district,
            "alarms": len(group),
            "escalated": sum(f.escalated for f in group),
            "outcomes": {o: sum(f.outcome == o for f in group) for o in OUTCOMES},
            "ack_within_target": sum(1 for f in group if f.acknowledged_at
                                     and (f.acknowledged_at - f.raised_at).total_seconds() < f.ack_target_s),
            "arrive_within_target": sum(1 for f in group if f.arrived_at
                                        and (f.arrived_at - f.raised_at).total_seconds() < f.arrive_target_min * 60),
            "ack_median_s": _median(ack), "ack_max_s": max(ack) if ack else None,
            "arrive_median_s": _median(arrive), "arrive_max_s": max(arrive) if arrive else None,
        })
    return rows


# ---- device tokens -------------------------------------------------------------------------------


def new_device_token() -> str:
    """A home terminal's or watch's secret: shown once at issue, stored only as its hash."""
    return DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()
