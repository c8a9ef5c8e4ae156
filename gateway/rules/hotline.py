"""The 12349 hotline desk's pure rules: who answers and reads calls, what a call record must
hold (reason, outcome, times, number), and who sees a caller's number in full.

No I/O here (an import contract keeps it so); the use cases are in gateway/hotline.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.city import DISTRICTS
from shared.errors import FieldError, Forbidden, Invalid
from shared.pii import mask_phone

# the desk: operators (坐席) take calls and record them (the system administrator passes every
# role check); the bureau reads the log: the city's officers all of it, a district's its own
DESK_ROLES = frozenset({"operator"})
LOG_READERS = frozenset({"operator", "officer", "city_officer", "admin"})
CITY_WIDE = frozenset({"city_officer", "admin"})

REASONS: dict[str, str] = {
    "consult": "咨询",
    "order": "下单",
    "complaint": "投诉",
    "emergency": "紧急",
    "return_visit": "回访",
    "other": "其他",
}
OUTCOMES: dict[str, str] = {
    "answered": "已解答",
    "order_placed": "已代为下单",
    "complaint_filed": "已登记投诉",
    "dispatched": "已派人处置",
    "transferred": "已转交相关部门",
    "callback": "需要回电",
    "other": "其他",
}
# a call longer than this is a clock or typing mistake, not a call (a sanity bound, not policy)
MAX_CALL = timedelta(hours=4)
CLOCK_SKEW = timedelta(minutes=2)  # the desk's browser clock may run a little ahead
NOTE_MAX = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # newlines and tabs are fine in a note
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
_SEPARATORS = re.compile(r"[\s\-()（）]")
# mobiles (11 digits from 13–19) and landlines with their area code (0 + 9–11 digits), as callers show up
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{9,11}")


def normal_number(raw: object, *, field: str = "caller_phone") -> str:
    """A caller's number as the blind index keys it: digits only, without +86. A number neither
    a mainland mobile nor a landline with its area code is 422 with the field named."""
    text = _SEPARATORS.sub("", raw) if isinstance(raw, str) else ""
    if text.startswith("+86"):
        text = text[3:]
    elif len(text) == 13 and text.startswith("86"):
        text = text[2:]
    if not (_MOBILE.fullmatch(text) or _LANDLINE.fullmatch(text)):
        raise Invalid("来电号码不正确", errors=[FieldError(field, "应为 11 位手机号或带区号的固定电话，例如 052386012349")])
    return text


@dataclass(frozen=True)
class CallFacts:
    reason: str
    outcome: str
    started_at: datetime
    ended_at: datetime
    note: str = ""


def call_errors(facts: CallFacts, *, now: datetime) -> list[FieldError]:
    """Every reason the record cannot be kept, each on its field (an empty list: it can)."""
    errors = []
    if facts.reason not in REASONS:
        errors.append(FieldError("reason", "来电事由应为：" + "、".join(REASONS.values())))
    if facts.outcome not in OUTCOMES:
        errors.append(FieldError("outcome", "处理结果应为：" + "、".join(OUTCOMES.values())))
    if facts.started_at > now + CLOCK_SKEW:
        errors.append(FieldError("started_at", "通话开始时间不能晚于现在"))
    if facts.ended_at < facts.started_at:
        errors.append(FieldError("ended_at", "通话结束时间不能早于开始时间"))
    elif facts.ended_at - facts.started_at > MAX_CALL:
        errors.append(FieldError("ended_at", "一次通话不能超过 4 小时，请核对时间"))
    if facts.ended_at > now + CLOCK_SKEW:
        errors.append(FieldError("ended_at", "通话结束时间不能晚于现在"))
    if len(facts.note) > NOTE_MAX:
        errors.append(FieldError("note", f"备注不能超过 {NOTE_MAX} 字"))
    elif _CONTROL.search(facts.note):
        errors.append(FieldError("note", "备注里有无法保存的控制字符，请删去"))
    return errors


def log_days(date_from: date | None, date_to: date | None) -> None:
    """A log search's days: within the years the platform can have calls, the first not after the last."""
    errors = [FieldError(name, f"日期应在 {FIRST_DAY.year}–{LAST_DAY.year} 年之间") for name, day in
              (("date_from", date_from), ("date_to", date_to)) if day is not None and not FIRST_DAY <= day <= LAST_DAY]
    if not errors and date_from and date_to and date_from > date_to:
        errors.append(FieldError("date_to", "截止日不能早于起始日"))
    if errors:
        raise Invalid("查询日期有误", errors=errors)


def check_call(facts: CallFacts, *, now: datetime) -> int:
    """The call's duration in whole seconds, or 422 listing every problem."""
    errors = call_errors(facts, now=now)
    if errors:
        raise Invalid("通话记录有误，请按提示修改", errors=errors)
    return int((facts.ended_at - facts.started_at).total_seconds())


def number_shown(number: str, *, role: str, own_call: bool) -> str:
    """A caller's number as this reader sees it: in full for the city's roles and for the operator
    who took the call (to call back); masked for everyone else (a district officer reading the log,
    another operator)."""
    if role in CITY_WIDE or (role in DESK_ROLES and own_call):
        return number
    return mask_phone(number) or ""


def log_district(*, role: str, own_district: str | None, requested: str | None) -> str | None:
    """The district a log search covers: the city's roles and a city-wide operator any or all
    (None); an officer or a district's operator their own, naming another is 403."""
    if requested is not None and requested not in DISTRICTS:
        raise Invalid("区县代码不正确", errors=[FieldError("district_code", "不是本市的区县代码")])
    if role in CITY_WIDE or (role in DESK_ROLES and not own_district):
        return requested
    if not own_district:
        raise Forbidden("当前账号没有所属区县，不能查看来电记录")
    if requested and requested != own_district:
        raise Forbidden("只能查看本辖区的来电记录", district_code=requested)
    return own_district


def call_district(*, role: str, own_district: str | None, elder_district: str | None) -> str | None:
    """The district a new call is filed under: a district's operator always their own (an elder of
    another district is 403); a city-wide operator the elder's (None when the caller is unknown)."""
    if elder_district is not None and elder_district not in DISTRICTS:
        raise Invalid("区县代码不正确", errors=[FieldError("district_code", "不是本市的区县代码")])
    if role in DESK_ROLES and own_district:
        if elder_district and elder_district != own_district:
            raise Forbidden("只能记录本辖区老人的来电", district_code=elder_district)
        return own_district
    return elder_district
