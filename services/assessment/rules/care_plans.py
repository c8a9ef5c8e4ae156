"""Pure rules of care plans: the item and frequency shapes, drafting from the policy table
(`care_plans.json`) by grade, frequency checks, how many visits a plan holds in a month, the
state machine, and the budget sentence's inputs. No I/O: `care_plans.py` applies them.

Where the issue was silent, the choices are written next to the rule they shape (and in
docs/decisions.md, "Care plans").
"""
from __future__ import annotations

import calendar
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from shared.errors import Conflict, FieldError, Invalid

STATE_NAMES = {"draft": "草稿", "awaiting_consent": "待老人确认", "active": "执行中", "to_review": "待复核",
               "replaced": "已被新计划替代", "ended": "已终止"}
# the states in which the plan is the elder's plan: orders keeps its rules running in both
LIVE_STATES = ("active", "to_review")
KINDS = {"care": "居家照护计划", "home_bed": "家庭养老床位计划"}
VOUCHER_KINDS = {"community": "社区居家养老服务券", "mutual_aid": "互助服务券", "self_pay": "自费"}
CONSENT_METHODS = {"app": "本人或家属在线确认", "in_person": "工作人员当面确认", "phone": "工作人员电话确认"}
# who may give consent by which method: the household in the app, the officer in person or by phone
HOUSEHOLD_METHODS = frozenset({"app"})
OFFICER_METHODS = frozenset({"in_person", "phone"})
WEEKDAY_NAMES = {1: "周一", 2: "周二", 3: "周三", 4: "周四", 5: "周五", 6: "周六", 7: "周日"}
# the shortest month: a per-month count above it cannot be held every month (February has 28 days)
SHORTEST_MONTH_DAYS = 28
TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"

# action → (states it is allowed from, the state after it, zh name)
TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "edit": (frozenset({"draft"}), "draft", "修改"),
    "submit": (frozenset({"draft"}), "awaiting_consent", "提交老人确认"),
    "consent": (frozenset({"awaiting_consent"}), "active", "确认"),
    "review": (frozenset({"active"}), "to_review", "标记待复核"),
    "replace": (frozenset(LIVE_STATES), "replaced", "替换"),
    "end": (frozenset({"draft", "awaiting_consent", "active", "to_review"}), "ended", "终止"),
}


def next_state(current: str, action: str) -> str:
    """The state after `action`, or 409 naming the current state."""
    allowed, to, name = TRANSITIONS[action]
    if current not in allowed:
        raise Conflict(f"该护理计划{STATE_NAMES.get(current, current)}，不能{name}", current_state=current,
                       action=action)
    return to


# ---- shapes -------------------------------------------------------------------------------------

class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Weekly(_Shape):
    type: Literal["weekly"]
    weekdays: list[int] = Field(min_length=1, max_length=7, description="ISO 星期：1 = 周一 … 7 = 周日")
    time: str = Field(pattern=TIME_PATTERN, examples=["09:00"])


class PerWeek(_Shape):
    type: Literal["per_week"]
    count: int = Field(ge=1, description="每周次数（均匀分布在一周中）")
    time: str = Field(pattern=TIME_PATTERN, examples=["09:00"])


class PerMonth(_Shape):
    type: Literal["per_month"]
    count: int = Field(ge=1, description="每月次数（均匀分布在一月中）")
    time: str = Field(pattern=TIME_PATTERN, examples=["09:00"])


Frequency = Annotated[Weekly | PerWeek | PerMonth, Field(discriminator="type")]
_FREQUENCY = TypeAdapter(Frequency)


def frequency_errors(raw: Any, field: str) -> list[FieldError]:
    """What is wrong with a frequency, in Chinese, under `field`; [] when it is sound. More visits
    than the period has days is refused here (7 a week; 28 a month, the shortest month)."""
    try:
        freq = _FREQUENCY.validate_python(raw)
    except ValidationError as exc:
        return [FieldError(f"{field}.{'.'.join(str(p) for p in e['loc'][1:])}".rstrip("."), _zh(e))
                for e in exc.errors()]
    errors: list[FieldError] = []
    if isinstance(freq, Weekly):
        if any(d < 1 or d > 7 for d in freq.weekdays):
            errors.append(FieldError(f"{field}.weekdays", "星期应为 1（周一）到 7（周日）"))
        elif len(set(freq.weekdays)) != len(freq.weekdays):
            errors.append(FieldError(f"{field}.weekdays", "星期有重复"))
    elif isinstance(freq, PerWeek) and freq.count > 7:
        errors.append(FieldError(f"{field}.count", f"每周最多 7 次（一周只有 7 天），填写的是 {freq.count} 次"))
    elif isinstance(freq, PerMonth) and freq.count > SHORTEST_MONTH_DAYS:
        errors.append(FieldError(f"{field}.count",
                                 f"每月最多 {SHORTEST_MONTH_DAYS} 次（二月只有 28 天），填写的是 {freq.count} 次"))
    return errors


def _zh(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "必填"
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return "频次类型应为 weekly、per_week 或 per_month"
    if kind == "string_pattern_mismatch":
        return "时间格式应为 HH:MM，例如 09:00"
    if kind in ("greater_than_equal", "too_short"):
        return "至少 1 次" if kind == "greater_than_equal" else "至少选择一天"
    if kind == "too_long":
        return "最多 7 天"
    if kind == "extra_forbidden":
        return "不认识的字段"
    return "格式不正确"


def parse_frequency(raw: dict) -> Weekly | PerWeek | PerMonth:
    return _FREQUENCY.validate_python(raw)


def describe(raw: dict) -> str:
    """A frequency in Chinese: "每周一、三、五 09:00", "每周 2 次 14:00", "每月 4 次 10:00"."""
    freq = parse_frequency(raw)
    if isinstance(freq, Weekly):
        days = sorted(freq.weekdays)
        return "每" + "、".join([WEEKDAY_NAMES[days[0]]] + [WEEKDAY_NAMES[d][1] for d in days[1:]]) + f" {freq.time}"
    unit = "周" if isinstance(freq, PerWeek) else "月"
    return f"每{unit} {freq.count} 次 {freq.time}"


# ---- how many visits a month holds ---------------------------------------------------------------
# per_week and per_month counts are spread evenly: N a week on the weekdays 1 + ⌊i·7/N⌋, N a month on
# the days 1 + ⌊i·D/N⌋ of a D-day month (i = 0 … N-1). Counting uses the same spread as the schedule.

def spread_weekdays(count: int) -> list[int]:
    """N visits a week spread over the week: 1 → [1], 2 → [1, 4], 3 → [1, 3, 5], 7 → [1 … 7]."""
    return sorted({1 + (i * 7) // count for i in range(count)})


def spread_month_days(count: int, days_in_month: int) -> list[int]:
    """N visits a month spread over a month of `days_in_month` days: 4 in 30 → [1, 8, 16, 23]."""
    return sorted({1 + (i * days_in_month) // count for i in range(count)})


def month_bounds(month: str) -> tuple[date, date]:
    """"2026-11" → (1 November, 30 November)."""
    year, mon = (int(x) for x in month.split("-"))
    return date(year, mon, 1), date(year, mon, calendar.monthrange(year, mon)[1])


def occurrence_days(raw: dict, *, month: str, start_date: date, end_date: date | None = None) -> list[date]:
    """The days of `month` on which the frequency holds a visit, from `start_date` (a plan starting
    mid-month holds only the rest of the month) up to `end_date` inclusive when given."""
    freq = parse_frequency(raw)
    first, last = month_bounds(month)
    lo, hi = max(first, start_date), min(last, end_date) if end_date else last
    if lo > hi:
        return []
    if isinstance(freq, PerMonth):
        days = [date(first.year, first.month, d) for d in spread_month_days(freq.count, last.day)]
        return [d for d in days if lo <= d <= hi]
    weekdays = set(freq.weekdays if isinstance(freq, Weekly) else spread_weekdays(freq.count))
    out, day = [], lo
    while day <= hi:
        if day.isoweekday() in weekdays:
            out.append(day)
        day = date.fromordinal(day.toordinal() + 1)
    return out


def occurrences_in_month(raw: dict, *, month: str, start_date: date, end_date: date | None = None) -> int:
    return len(occurrence_days(raw, month=month, start_date=start_date, end_date=end_date))


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def budget_lines(items: list[dict], *, month: str, start_date: date) -> list[dict]:
    """What vouchers prices (`POST /plan-budgets`): one line per item with its occurrences in the month."""
    return [{"service_code": i["service_code"], "voucher_kind": i["voucher_kind"],
             "unit_price_fen": int(i["unit_price_fen"] or 0),
             "occurrences": occurrences_in_month(i["frequency"], month=month, start_date=start_date)}
            for i in items]


# ---- drafting -----------------------------------------------------------------------------------

def policy_items(policy: dict, grade: int) -> list[dict]:
    """The policy table's suggested items for a grade (service code, default frequency, duration,
    payment), without providers: the assessor picks them."""
    entry = (policy.get("by_grade") or {}).get(str(grade))
    if entry is None:
        return []
    return [{"service_code": i["service_code"], "provider_id": None, "frequency": dict(i["frequency"]),
             "duration_min": int(i["duration_min"]), "voucher_kind": i.get("voucher_kind", "community")}
            for i in entry.get("items", [])]


def item_errors(items: list[dict], *, require_providers: bool = False) -> list[FieldError]:
    """Shape checks of a plan's items that need no other service: at least one, frequencies sound,
    a known payment, a duration, and (when submitting) a provider for every item."""
    errors: list[FieldError] = []
    if not items:
        errors.append(FieldError("items", "计划至少需要一项服务"))
    for n, item in enumerate(items):
        at = f"items.{n}"
        if not item.get("service_code"):
            errors.append(FieldError(f"{at}.service_code", "必填"))
        errors += frequency_errors(item.get("frequency"), f"{at}.frequency")
        if item.get("voucher_kind") not in VOUCHER_KINDS:
            errors.append(FieldError(f"{at}.voucher_kind", "支付方式应为 community、mutual_aid 或 self_pay"))
        duration = item.get("duration_min")
        if not isinstance(duration, int) or not 10 <= duration <= 480:
            errors.append(FieldError(f"{at}.duration_min", "每次服务时长应为 10–480 分钟"))
        if require_providers and not item.get("provider_id"):
            errors.append(FieldError(f"{at}.provider_id", "请为这项服务选择服务商"))
    return errors


def raise_if_invalid(errors: list[FieldError], detail: str = "护理计划填写有误") -> None:
    if errors:
        raise Invalid(detail, errors=errors)

