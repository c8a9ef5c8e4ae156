"""Meals at a meal point's counter: the per-meal subsidy taken from the 社区照护券, and the meal
anomaly rules. Pure: the figures are the policy version's `meals` section (rules/policy.py).

The subsidy of one meal is the tier's amount (by economic status, then age on the meal's day),
never more than the meal's price nor than what the elder's community wallet of the month still
has, and nothing past the day's cap of subsidised meals. A meal the voucher cannot pay for is
self-paid: an answer with 0 subsidy and a reason, never an error.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from services.vouchers.rules.audit import Finding
from services.vouchers.rules.money import format_yuan
from services.vouchers.rules.policy import EconomicStatus, MealRules, MealTier
from shared.city import CITY_TZ

SERVICE_CODE = "meal"  # the redemption's service item: meals appear beside ordered meals in reports
NO_TIER = "none"

MEAL_TWO_POINTS = "meal_two_points"
MEAL_POINT_OVER_CAPACITY = "meal_point_over_capacity"
MEAL_POINT_MOSTLY_TYPED = "meal_point_mostly_typed"


def age_on(birth_date: date, day: date) -> int:
    """Full years on `day`. Someone born on 29 February turns a year older on 1 March in a
    common year (the day after 28 February, as 周岁 are counted)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def tier_for(rules: MealRules, *, economic_status: str | None, age: int) -> MealTier | None:
    status = EconomicStatus(economic_status) if economic_status else EconomicStatus.NONE
    for tier in rules.tiers:
        if (not tier.economic_statuses or status in tier.economic_statuses) and age >= tier.min_age:
            return tier
    return None


@dataclass(frozen=True)
class MealSubsidy:
    subsidy_fen: int
    self_fen: int
    tier: str  # the tier's code, or "none"
    tier_name_zh: str
    reason_zh: str
    age: int | None  # None: birth date unknown (the policy's `unknown_age_as` was used)


def meal_subsidy(rules: MealRules, *, economic_status: str | None, birth_date: date | None, meal_date: date,
                 price_fen: int, subsidised_today: int, has_wallet: bool, available_fen: int,
                 active: bool = True) -> MealSubsidy:
    """The subsidy of one meal. `subsidised_today`: the elder's meals already subsidised on
    `meal_date`; `has_wallet`: a community voucher of the meal's month exists; `active`: the
    elder is still on the register (not dead or moved away)."""
    age = age_on(birth_date, meal_date) if birth_date else None
    tier = tier_for(rules, economic_status=economic_status, age=rules.unknown_age_as if age is None else age)
    unknown = "（出生日期未知，按最低年龄档）" if age is None else ""

    def self_paid(reason: str) -> MealSubsidy:
        return MealSubsidy(0, price_fen, tier.code if tier else NO_TIER, tier.name_zh if tier else "无补贴",
                           reason + unknown, age)

    if not active:
        return self_paid("老人已不在册，本餐自费")
    if tier is None or tier.subsidy_fen <= 0:
        return self_paid("不符合助餐补贴条件，本餐自费")
    if subsidised_today >= rules.subsidised_meals_per_day:
        return self_paid(f"今日已享受 {subsidised_today} 餐补贴（每日上限 {rules.subsidised_meals_per_day} 餐），本餐自费")
    if not has_wallet:
        return self_paid("本月没有社区照护券，本餐自费")
    if available_fen <= 0:
        return self_paid("社区照护券本月余额已用完，本餐自费")
    subsidy = min(tier.subsidy_fen, price_fen, available_fen)
    if subsidy == available_fen and available_fen < min(tier.subsidy_fen, price_fen):
        reason = f"社区照护券余额仅剩 {format_yuan(available_fen)} 元，本餐补贴 {format_yuan(subsidy)} 元"
    elif subsidy == price_fen and price_fen < tier.subsidy_fen:
        reason = f"餐价低于{tier.name_zh}每餐补贴 {format_yuan(tier.subsidy_fen)} 元，按餐价补贴"
    else:
        reason = f"{tier.name_zh}每餐补贴 {format_yuan(subsidy)} 元"
    return MealSubsidy(subsidy, price_fen - subsidy, tier.code, tier.name_zh, reason + unknown, age)


def receipt_zh(subsidy_fen: int, self_fen: int) -> str:
    return f"补贴 {format_yuan(subsidy_fen)} 元，自付 {format_yuan(self_fen)} 元"


# ---- anomaly rules ---------------------------------------------------------------------------
# A record is a mapping with: id (the voucher redemption's id, None for a self-paid meal),
# meal_id (the counter's redemption id), elder_id, provider_id, meal_date, served_at (aware),
# method (scanned | typed), amount_fen (the subsidy), district_code.

def _clock(instant: datetime) -> str:
    return instant.astimezone(CITY_TZ).strftime("%m-%d %H:%M")


def meal_two_points(records: Sequence[Mapping[str, Any]], rules: MealRules) -> list[Finding]:
    """The same elder at two different points within the window: a code shown at two counters."""
    window = timedelta(minutes=rules.same_elder_window_min)
    by_elder: dict[Any, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        by_elder[record["elder_id"]].append(record)
    findings = []
    for elder, group in by_elder.items():
        ordered = sorted(group, key=lambda r: r["served_at"])
        for before, after in zip(ordered, ordered[1:]):
            if before["provider_id"] != after["provider_id"] and after["served_at"] - before["served_at"] <= window:
                gap = (after["served_at"] - before["served_at"]).total_seconds() / 60
                findings.append(Finding(
                    MEAL_TWO_POINTS,
                    f"同一位老人 {_clock(before['served_at'])} 与 {_clock(after['served_at'])} 在两个助餐点用餐，"
                    f"间隔 {gap:.0f} 分钟（{rules.same_elder_window_min} 分钟内）",
                    (before, after), f"{elder}|{before['meal_id']}|{after['meal_id']}"))
    return findings


def meal_point_over_capacity(records: Sequence[Mapping[str, Any]],
                             capacity_by_provider: Mapping[Any, int]) -> list[Finding]:
    """A point that served more meals in a day than its declared daily capacity. A point
    without a declared capacity is not judged."""
    per_day: dict[tuple, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        per_day[(record["provider_id"], record["meal_date"])].append(record)
    findings = []
    for (provider, day), group in sorted(per_day.items(), key=lambda item: (str(item[0][0]), item[0][1])):
        capacity = capacity_by_provider.get(provider)
        if capacity is not None and len(group) > capacity:
            findings.append(Finding(
                MEAL_POINT_OVER_CAPACITY,
                f"{day.isoformat()} 该助餐点供餐 {len(group)} 份，超过申报的每日供餐能力 {capacity} 份",
                tuple(group), f"{provider}|{day.isoformat()}"))
    return findings


def meal_point_mostly_typed(records: Sequence[Mapping[str, Any]], rules: MealRules, month: str) -> list[Finding]:
    """A point where most of the month's meals were typed in rather than scanned (a code read
    out over the phone is the usual way to claim a meal nobody ate)."""
    by_point: dict[Any, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        by_point[record["provider_id"]].append(record)
    findings = []
    for provider, group in by_point.items():
        typed = [r for r in group if r["method"] == "typed"]
        if len(group) >= rules.typed_min_meals and len(typed) * 10_000 > rules.typed_share_bp * len(group):
            findings.append(Finding(
                MEAL_POINT_MOSTLY_TYPED,
                f"{month} 该助餐点 {len(group)} 份餐中 {len(typed)} 份为手输码（{len(typed) * 100 // len(group)}%），"
                f"超过 {rules.typed_share_bp // 100}%",
                tuple(typed), f"{provider}|{month}"))
    return findings


def run_meal_rules(records: Iterable[Mapping[str, Any]], rules: MealRules, *, month: str,
                   capacity_by_provider: Mapping[Any, int]) -> list[Finding]:
    rows = list(records)
    return [*meal_two_points(rows, rules), *meal_point_over_capacity(rows, capacity_by_provider),
            *meal_point_mostly_typed(rows, rules, month)]
