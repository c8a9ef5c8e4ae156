"""The arithmetic of the bureau's dashboard: the city plan's indicators from the services'
counts, per district and city-wide, each against its target. PURE: no I/O (an import contract
keeps it so); `gateway/dashboard.py` fetches the counts and the targets and calls this.

Rules the page states next to each figure:
- a ratio whose denominator is 0 or unknown is "无数据", never 0 % and never an error;
- the city's figure is the sum of the districts' numerators over the sum of their denominators
  (not the mean of the districts' ratios);
- a month still running is a part month: its figures are as they stand today ("截至今天");
  a month still to come has no data;
- beds and street centres are known only as they are now (no history is kept), so they belong
  to the current month only;
- a target is met when the value reaches it ("at_least") or stays under it ("at_most").
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from shared.city import DISTRICTS
from shared.policy_data import in_force

NO_DATA = "无数据"
CITY = "city"  # the key of the city-wide row


@dataclass(frozen=True, slots=True)
class Indicator:
    key: str
    name: str
    definition: str
    numerator: str  # a fact's name
    denominator: str
    direction: str = "at_least"  # at_least | at_most
    snapshot: bool = False  # known only as it is now: the current month's


INDICATORS: tuple[Indicator, ...] = (
    Indicator("visit_rate", "特殊困难老年人月探访率",
              "本月已完成探访的特殊困难老年人 ÷ 本月应探访的特殊困难老年人"
              "（当月探访计划中的对象；本月还包括尚未列入计划的特殊困难老人）。",
              "hardship_visited", "hardship_due"),
    Indicator("nursing_share", "护理型床位占比",
              "养老机构护理型床位 ÷ 养老机构在用床位（空闲、已预留、已入住）。床位只有当前数据，只计入本月。",
              "nursing_beds", "beds", snapshot=True),
    Indicator("meal_reach", "助餐服务覆盖率",
              "本月在助餐点用过餐（享受助餐补贴）的老年人 ÷ 平台在册老年人（按老人户籍所在区县；撤销的用餐不计）。",
              "meal_elders", "elders"),
    Indicator("home_care_coverage", "居家养老服务覆盖率",
              "本月至少完成一次居家上门服务（不含探访）的老年人 ÷ 平台在册老年人。",
              "served_elders", "elders"),
    Indicator("assessment_coverage", "能力评估覆盖率",
              "月末（本月为今天）已有定稿能力评估的在册老年人 ÷ 平台在册老年人。",
              "assessed", "elders"),
    Indicator("overdue_share", "逾期未复评比例",
              "复评日期已过仍未复评的老年人 ÷ 已评估的在册老年人（越低越好）。",
              "overdue", "assessed", direction="at_most"),
    Indicator("voucher_uptake", "代金券使用率（全部券种）",
              "本月券支付净额（扣除冲正）÷ 本月代金券发放面额，按券所属月份。",
              "spent_fen", "issued_fen"),
    Indicator("street_centre_coverage", "街道综合性养老服务中心覆盖率",
              "有已通过审核的居家养老服务中心的街道（乡镇）÷ 街道（乡镇）总数（离线地名库所列）。只有当前数据，只计入本月。",
              "streets_with_centre", "streets", snapshot=True),
)


@dataclass(frozen=True, slots=True)
class TargetsVersion:
    version: str
    valid_from: date
    targets: dict[str, float | None]
    h3_resolution: int = 8
    reach_m: float = 3000.0


@dataclass(frozen=True, slots=True)
class TargetsPolicy:
    versions: tuple[TargetsVersion, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, text: str) -> TargetsPolicy:
        data = json.loads(text)
        versions = sorted((TargetsVersion(version=v["version"], valid_from=date.fromisoformat(v["valid_from"]),
                                          targets=dict(v["targets"]), h3_resolution=int(v.get("h3_resolution", 8)),
                                          reach_m=float(v.get("reach_m", 3000)))
                           for v in data["versions"]), key=lambda v: v.valid_from)
        return cls(tuple(versions))

    def for_month(self, month: str) -> TargetsVersion:
        return in_force(self.versions, month_first_day(month))


# ---- months ----------------------------------------------------------------------------------


def parse_month(month: str) -> tuple[int, int]:
    """"2026-03" → (2026, 3); ValueError otherwise."""
    y, m = month.split("-")
    if len(y) != 4 or len(m) != 2:
        raise ValueError(month)
    year, mon = int(y), int(m)
    if not (1 <= mon <= 12 and 1900 <= year <= 2999):
        raise ValueError(month)
    return year, mon


def month_first_day(month: str) -> date:
    year, mon = parse_month(month)
    return date(year, mon, 1)


def months_back(month: str, n: int) -> list[str]:
    """The `n` months ending with `month`, oldest first (crosses year ends)."""
    year, mon = parse_month(month)
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
    return out[::-1]


def month_state(month: str, today: date) -> str:
    """past | current (a part month, counted as it stands) | future (no data)."""
    this = (today.year, today.month)
    asked = parse_month(month)
    return "past" if asked < this else "current" if asked == this else "future"


# ---- the arithmetic --------------------------------------------------------------------------


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """None ("无数据") when either is unknown or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def percent(value: float | None) -> str:
    return NO_DATA if value is None else f"{value * 100:.1f}%"


def is_met(value: float | None, target: float | None, direction: str) -> bool | None:
    if value is None or target is None:
        return None
    return value >= target - 1e-12 if direction == "at_least" else value <= target + 1e-12


def target_text(target: float | None, direction: str) -> str:
    if target is None:
        return "规划未设目标"
    return f"{'≥' if direction == 'at_least' else '≤'} {target * 100:.0f}%"


def city_total(by_district: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Sum of every fact over the districts; a fact no district knows stays unknown."""
    out: dict[str, float] = {}
    for facts in by_district.values():
        for name, v in facts.items():
            if v is not None:
                out[name] = out.get(name, 0) + v
    return out


def evaluate(indicator: Indicator, facts: Mapping[str, float], target: float | None) -> dict:
    num, den = facts.get(indicator.numerator), facts.get(indicator.denominator)
    value = ratio(num, den)
    return {"key": indicator.key, "name": indicator.name, "definition": indicator.definition,
            "numerator": num, "denominator": den, "value": None if value is None else round(value, 4),
            "display": percent(value), "target": target, "target_display": target_text(target, indicator.direction),
            "direction": indicator.direction, "met": is_met(value, target, indicator.direction)}


def voucher_kind_indicators(kinds: Mapping[str, str]) -> list[Indicator]:
    """One uptake indicator per voucher kind (code → zh name), after the all-kinds one."""
    return [Indicator(f"voucher_uptake:{code}", f"代金券使用率（{name}）",
                      f"本月{name}券支付净额 ÷ 本月{name}发放面额，按券所属月份。",
                      f"spent_fen:{code}", f"issued_fen:{code}") for code, name in sorted(kinds.items())]


def indicator_table(by_district: Mapping[str, Mapping[str, float]], targets: Mapping[str, float | None], *,
                    kinds: Mapping[str, str] | None = None, nursing_target: float | None = None,
                    district: str | None = None) -> list[dict]:
    """Rows of the month's table: the city first, then each district (code order), each with every
    indicator evaluated. `by_district`: district code → facts (a missing fact is unknown).
    `district`: a district officer's own, whose table is that district's row alone (no city)."""
    indicators = [*INDICATORS, *voucher_kind_indicators(kinds or {})]
    all_targets = {**targets, "nursing_share": nursing_target}
    if district is not None:
        areas: list[tuple[str, str, Mapping[str, float]]] = [(district, DISTRICTS.get(district, district),
                                                               by_district.get(district, {}))]
    else:
        areas = [(CITY, "全市", city_total(by_district))]
        areas += [(code, DISTRICTS.get(code, code), by_district[code]) for code in sorted(by_district)]
    return [{"district_code": None if code == CITY else code, "area": name,
             "indicators": [evaluate(i, facts, all_targets.get(i.key.split(":")[0])) for i in indicators]}
            for code, name, facts in areas]


def merge_facts(month: str, today: date, *, roster: Iterable[Mapping], activity: Iterable[Mapping],
                issued: Iterable[Mapping], spent: Iterable[Mapping], beds: Iterable[Mapping] | None,
                streets: Iterable[Mapping] | None) -> dict[str, dict[str, float]]:
    """The services' rows for `month` → district → facts. A future month has no facts; beds and
    streets count only in the current month. Rows for other months are ignored."""
    state = month_state(month, today)
    out: dict[str, dict[str, float]] = {}
    if state == "future":
        return out

    def add(code: str | None, name: str, value: float) -> None:
        if not code:
            return  # a row without a district (an order before its elder's event): not attributable
        facts = out.setdefault(code, {})
        facts[name] = facts.get(name, 0) + value

    for r in roster:
        if r["month"] == month:
            for name in ("elders", "hardship_elders", "assessed", "overdue"):
                add(r["district_code"], name, r[name])
    for r in activity:
        if r["month"] == month:
            for name in ("hardship_due", "hardship_visited", "served_elders", "meal_elders"):
                add(r["district_code"], name, r[name])
    for r in issued:
        if r["month"] == month:
            add(r["district_code"], "issued_fen", r["issued_fen"])
            add(r["district_code"], f"issued_fen:{r['kind']}", r["issued_fen"])
    for r in spent:
        if r["month"] == month:
            add(r["district_code"], "spent_fen", r["net_fen"])
            add(r["district_code"], f"spent_fen:{r['kind']}", r["net_fen"])
    if state == "current":
        for r in beds or ():
            add(r["district_code"], "beds", r["capacity"])
            add(r["district_code"], "nursing_beds", r["nursing_beds"])
        for d in streets or ():
            for s in d["streets"]:
                add(d["district_code"], "streets", 1)
                add(d["district_code"], "streets_with_centre", 1 if s["centres"] else 0)
    return out


def trend(months: list[str], today: date, facts_by_month: Mapping[str, Mapping[str, Mapping[str, float]]],
          policy: TargetsPolicy, *, nursing_target: float | None = None) -> list[dict]:
    """Each indicator's city-wide value (the officer's district for an officer) month by month."""
    rows = []
    for month in months:
        targets = {**policy.for_month(month).targets, "nursing_share": nursing_target}
        facts = city_total(facts_by_month.get(month, {}))
        for i in INDICATORS:
            e = evaluate(i, facts, targets.get(i.key))
            rows.append({"month": month, "part_month": month_state(month, today) == "current", "key": i.key,
                         "name": i.name, "value": e["value"], "display": e["display"], "target": e["target"],
                         "met": e["met"]})
    return rows
