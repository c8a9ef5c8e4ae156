"""Which event becomes which notice, for whom (pure: no I/O).

`notices_for(event_type, data, names=…)` answers a list of `Draft`s: the audience (who, described;
`gateway/notices.py` turns it into accounts), the kind (the SSE event name, the event type without
`youfu.` and the version), a Chinese title and body, and the page to open. An event nobody needs to
hear about answers []. The data is the event's `data` as a plain dict (the gateway imports no
service's event classes); fields a producer may leave out are read with `.get`.

`names` carries what the gateway knows and the event does not: `caregiver` (the display name of
the account whose `caregiver_id` is the event's `caregiver_id`).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.city import CITY_TZ

ELDER_PAGE = "/elder"
PROVIDER_PAGE = "/provider"
BUREAU_PAGE = "/bureau"


@dataclass(frozen=True)
class Household:
    """The elder's own account and every family account linked to the elder (consent not revoked)."""

    elder_id: str


@dataclass(frozen=True)
class ProviderDesk:
    """The provider's administrators (provider_admin of provider_id)."""

    provider_id: str


@dataclass(frozen=True)
class ProviderStaff:
    """Everyone of the provider: its administrators and its caregivers."""

    provider_id: str


@dataclass(frozen=True)
class Caregivers:
    """The accounts of these caregivers (users.caregiver_id)."""

    caregiver_ids: tuple[str, ...]


@dataclass(frozen=True)
class DistrictDesk:
    """The district's desks in `roles`: officers of the district; operators of the district or of the
    whole city (an operator without a district)."""

    district_code: str
    roles: tuple[str, ...] = ("officer", "operator")


@dataclass(frozen=True)
class Account:
    """One account by its user id (whoever filed a complaint)."""

    user_id: str


Audience = Household | ProviderDesk | ProviderStaff | Caregivers | DistrictDesk | Account


@dataclass(frozen=True)
class Draft:
    audience: Audience
    kind: str
    title: str
    body: str
    link: str | None


def kind_of(event_type: str) -> str:
    """`youfu.order.checked_in.v1` → `order.checked_in`."""
    parts = event_type.split(".")
    if parts and parts[0] == "youfu":
        parts = parts[1:]
    if parts and parts[-1].startswith("v") and parts[-1][1:].isdigit():
        parts = parts[:-1]
    return ".".join(parts)


def local_time(iso: str | None) -> str:
    """An ISO instant as the city's wall clock, `12月5日 09:30`; '' when absent or unreadable."""
    if not iso:
        return ""
    try:
        at = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return ""
    if at.tzinfo is None:
        return ""
    at = at.astimezone(CITY_TZ)
    return f"{at.month}月{at.day}日 {at:%H:%M}"


def _when(data: Mapping, field: str, prefix: str) -> str:
    shown = local_time(data.get(field))
    return f"{prefix}{shown}" if shown else ""


LEAVE_KIND = {"hospital": "住院", "home": "回家"}
ALARM_OUTCOME = {"resolved_on_site": "已在现场处理", "called_120": "已拨打 120", "false_alarm": "误报"}
COMPLAINT_STATUS = {"resolved": "已处理", "rejected": "未予受理"}
CONFIRMATION = {"code": "老人已用确认码确认", "family": "家属已远程确认", "unconfirmed": "未能确认"}


def _household(data: Mapping, kind: str, title: str, body: str = "", link: str | None = ELDER_PAGE) -> list[Draft]:
    elder = data.get("elder_id")
    return [Draft(Household(str(elder)), kind, title, body, link)] if elder else []


def _order_accepted(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
    who = names.get("caregiver")
    title = f"护理员已接单：{who}" if who else "护理员已接单"
    return _household(data, kind, title, _when(data, "window_start", "服务时间 "))


def _order_en_route(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
    who = names.get("caregiver")
    return _household(data, kind, "护理员已出发", f"{who}正在路上" if who else "护理员正在路上")


def _order_checked_in(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
    who = names.get("caregiver")
    return _household(data, kind, "护理员已到达", (f"{who}已到达" if who else "护理员已到达") + _when(data, "at", "，"))


def _order_completed(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
    parts = []
    if data.get("duration_min"):
        parts.append(f"服务时长 {data['duration_min']} 分钟")
    if data.get("confirmation") in CONFIRMATION:
        parts.append(CONFIRMATION[data["confirmation"]])
    return _household(data, kind, "服务已完成", "，".join(parts))


def _order_unmatched(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
    body = "预约的时间已过，没有服务机构接单，代金券未扣除；可以重新下单或拨打 12349"
    return _household(data, kind, "这次服务没有安排上", body)


def _order_no_show(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
    body = "本次服务未发生，代金券未扣除" + _when(data, "at", "；护理员到达时间 ")
    return _household(data, kind, "护理员到达时您不在家", body)


def _order_offered(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
    provider = data.get("provider_id")
    if not provider:
        return []
    parts = [x for x in (_when(data, "window_start", "服务时间 "), _when(data, "offer_deadline", "请在 ")) if x]
    body = "，".join(parts) + (" 前答复" if data.get("offer_deadline") and local_time(data.get("offer_deadline")) else "")
    return [Draft(ProviderDesk(str(provider)), kind, "新的服务邀约", body, PROVIDER_PAGE)]


def _careplan(title: str):
    def rule(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
        day = data.get("start_date") or data.get("effective_date")
        body = f"自 {day} 起" if day else ""
        if data.get("version"):
            body = f"第 {data['version']} 版，{body}" if body else f"第 {data['version']} 版"
        return _household(data, kind, title, body)
    return rule


def _stay(title: str):
    def rule(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
        body = f"日期 {data['on']}" if data.get("on") else ""
        if kind == "stay.left" and data.get("leave_kind") in LEAVE_KIND:
            body = f"{LEAVE_KIND[data['leave_kind']]}，{body}" if body else LEAVE_KIND[data["leave_kind"]]
        return _household(data, kind, title, body)
    return rule


def _alarm_raised(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
    ids = tuple(str(x) for x in data.get("caregiver_ids") or ())
    if not ids:
        return []
    body = "老人发出紧急呼叫，请立即前往并在页面上确认" + _when(data, "raised_at", "；呼叫时间 ")
    return [Draft(Caregivers(ids), kind, "紧急呼叫", body, PROVIDER_PAGE)]


def _alarm_acknowledged(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
    who = data.get("caregiver_name") or names.get("caregiver") or "护理员"
    drafts = _household(data, kind, f"{who}正在赶来", "紧急呼叫已有人响应")
    if data.get("provider_id"):
        drafts.append(Draft(ProviderStaff(str(data["provider_id"])), kind, f"已由{who}前往", "这次紧急呼叫已有人响应",
                            PROVIDER_PAGE))
    return drafts


def _alarm_escalated(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
    district = data.get("district_code")
    if not district:
        return []
    body = "紧急呼叫无人及时响应，请联系老人或拨打 120" + (f"（{data['reason']}）" if data.get("reason") else "")
    return [Draft(DistrictDesk(str(district)), kind, "紧急呼叫已升级", body, None)]


def _alarm_closed(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
    return _household(data, kind, "紧急呼叫已结束", ALARM_OUTCOME.get(data.get("outcome") or "", ""))


def _complaint_filed(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
    district = data.get("district_code")
    if not district:
        return []
    body = _when(data, "deadline", "请在 ")
    return [Draft(DistrictDesk(str(district), ("officer",)), kind, "新的投诉", body + (" 前处理" if body else ""),
                  BUREAU_PAGE)]


def _complaint_answered(data: Mapping, kind: str, names: Mapping[str, str]) -> list[Draft]:
    body = f"处理结果：{COMPLAINT_STATUS[data['status']]}" if data.get("status") in COMPLAINT_STATUS else ""
    if data.get("complainant_user_id"):
        return [Draft(Account(str(data["complainant_user_id"])), kind, "您的投诉已有答复", body, ELDER_PAGE)]
    return _household(data, kind, "您的投诉已有答复", body)


RULES = {
    "youfu.order.offered.v1": _order_offered,
    "youfu.order.accepted.v1": _order_accepted,
    "youfu.order.en_route.v1": _order_en_route,
    "youfu.order.checked_in.v1": _order_checked_in,
    "youfu.order.completed.v1": _order_completed,
    "youfu.order.unmatched.v1": _order_unmatched,
    "youfu.order.no_show.v1": _order_no_show,
    "youfu.careplan.activated.v1": _careplan("照护计划已生效"),
    "youfu.careplan.replaced.v1": _careplan("照护计划已更新"),
    "youfu.careplan.ended.v1": _careplan("照护计划已结束"),
    "youfu.stay.admitted.v1": _stay("已入住养老机构"),
    "youfu.stay.left.v1": _stay("已请假离开机构"),
    "youfu.stay.returned.v1": _stay("已返回机构"),
    "youfu.stay.transferred.v1": _stay("已调整床位"),
    "youfu.stay.ended.v1": _stay("机构入住已结束"),
    "youfu.alarm.raised.v1": _alarm_raised,
    "youfu.alarm.acknowledged.v1": _alarm_acknowledged,
    "youfu.alarm.escalated.v1": _alarm_escalated,
    "youfu.alarm.closed.v1": _alarm_closed,
    "youfu.complaint.filed.v1": _complaint_filed,
    "youfu.complaint.answered.v1": _complaint_answered,
}

# the topics whose events can become notices
TOPICS = ("youfu.orders", "youfu.assessment", "youfu.vouchers")


def notices_for(event_type: str, data: Mapping, *, names: Mapping[str, str] | None = None) -> list[Draft]:
    rule = RULES.get(event_type)
    if rule is None or not isinstance(data, Mapping):
        return []
    return rule(data, kind_of(event_type), names or {})


def wants_caregiver_name(event_type: str, data: Mapping) -> str | None:
    """The caregiver id whose display name the notice would name, if any (one look-up by the caller)."""
    if event_type in RULES and isinstance(data, Mapping) and data.get("caregiver_id") and not data.get("caregiver_name"):
        return str(data["caregiver_id"])
    return None
