"""Voucher policy as versioned data, and who is entitled to what under it.

The numbers (face values, shares, eligible grades) are the city's choice and change over time, so
they live in `PolicyVersion` records that an administrator submits; `DEFAULT_POLICY` is only the
first version the platform ships. Nothing here reads a clock or a database.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer

from shared.errors import FieldError, Invalid, NotFound

FULL_SHARE_BP = 10_000  # basis points: 10000 = the voucher pays 100%
GRADES = range(0, 5)  # GB/T 42195-2022 capability grades 0 (intact) … 4 (total loss)


class VoucherKind(StrEnum):
    INSTITUTIONAL = "institutional"
    COMMUNITY = "community"
    MUTUAL_AID = "mutual_aid"

    @property
    def zh_name(self) -> str:
        return _KIND_ZH[self]


_KIND_ZH = {
    VoucherKind.INSTITUTIONAL: "机构托养券",
    VoucherKind.COMMUNITY: "社区照护券",
    VoucherKind.MUTUAL_AID: "邻里互助券",
}


class EconomicStatus(StrEnum):
    TEKUN = "tekun"
    DIBAO = "dibao"
    DIBAO_EDGE = "dibao_edge"
    EXPENSE_HARDSHIP = "expense_hardship"
    NONE = "none"

    @property
    def zh_name(self) -> str:
        return _ECONOMIC_ZH[self]


_ECONOMIC_ZH = {
    EconomicStatus.TEKUN: "特困",
    EconomicStatus.DIBAO: "低保",
    EconomicStatus.DIBAO_EDGE: "低保边缘",
    EconomicStatus.EXPENSE_HARDSHIP: "支出型困难",
    EconomicStatus.NONE: "无",
}


class LivingSituation(StrEnum):
    ALONE = "alone"
    EMPTY_NEST = "empty_nest"
    WITH_FAMILY = "with_family"
    INSTITUTION = "institution"

    @property
    def zh_name(self) -> str:
        return _LIVING_ZH[self]


_LIVING_ZH = {
    LivingSituation.ALONE: "独居",
    LivingSituation.EMPTY_NEST: "空巢",
    LivingSituation.WITH_FAMILY: "与家人同住",
    LivingSituation.INSTITUTION: "入住养老机构",
}


class ElderStatus(StrEnum):
    ACTIVE = "active"
    DECEASED = "deceased"
    MOVED_AWAY = "moved_away"

    @property
    def zh_name(self) -> str:
        return {"active": "在册", "deceased": "已故", "moved_away": "已迁出"}[self.value]


class KindRule(BaseModel):
    """Who gets one voucher kind, how much a month, and which share of each purchase it pays.

    Range checks are not pydantic constraints on purpose: `validate_policy` reports every broken
    rule at once as zh-CN `FieldError`s, which a pydantic error list cannot say to a clerk.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: VoucherKind
    economic_statuses: frozenset[EconomicStatus]
    grades: frozenset[int]
    living_situations: frozenset[LivingSituation]
    requires_special_hardship: bool = False
    face_value_fen_by_grade: dict[int, int] = Field(description="每月面值（分），按能力等级")
    # Scales the grade's face value for some statuses (5000 = half); a missing status means 10000.
    face_value_bp_by_status: dict[EconomicStatus, int] = Field(default_factory=dict)
    share_bp_by_status: dict[EconomicStatus, int] = Field(description="券支付比例（基点），按经济状况")
    # This kind is not granted when any of these kinds is granted (e.g. community ⟵ institutional).
    excluded_by: frozenset[VoucherKind] = frozenset()

    @field_serializer("economic_statuses", "grades", "living_situations", "excluded_by")
    def _sorted(self, values: frozenset[Any]) -> list[Any]:
        return sorted(values)  # a stored version must serialise the same way every time

    def face_value_fen(self, grade: int, status: EconomicStatus) -> int:
        base = self.face_value_fen_by_grade[grade]
        # Floor, like every voucher amount: the government never pays a fraction of a fen extra.
        return base * self.face_value_bp_by_status.get(status, FULL_SHARE_BP) // FULL_SHARE_BP


class StayClaimRules(BaseModel):
    """How institutional stays are billed to the 机构托养券 (services/vouchers/rules/stay_claims.py).
    A version stored before these rules existed reads the defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Days on leave (home or hospital) paid at the bed's rate each month; later leave days are not.
    paid_leave_days_per_month: int = Field(6, description="每月可计费的请假天数上限")
    # A respite stay is billed by the day present: its bed is not kept for the elder while away.
    respite_leave_paid: bool = Field(False, description="短期托养请假期间是否计费")


class MealTier(BaseModel):
    """One per-meal subsidy tier: elders of these statuses (empty: any status) aged at least
    `min_age` on the meal's day. Tiers are tried in order; the first that matches applies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, max_length=20)
    name_zh: str = Field(min_length=1, max_length=40)
    economic_statuses: frozenset[EconomicStatus] = frozenset()
    min_age: int = 0
    subsidy_fen: int = Field(description="每餐补贴（分）")

    @field_serializer("economic_statuses")
    def _sorted(self, values: frozenset[Any]) -> list[Any]:
        return sorted(values)


def _default_meal_tiers() -> tuple[MealTier, ...]:
    # The example tiers; 特困 and 低保 at any age, everyone else by age.
    return (
        MealTier(code="tekun", name_zh="特困", economic_statuses=frozenset({EconomicStatus.TEKUN}), subsidy_fen=1000),
        MealTier(code="dibao", name_zh="低保", economic_statuses=frozenset({EconomicStatus.DIBAO}), subsidy_fen=800),
        MealTier(code="age_80", name_zh="80 岁及以上", min_age=80, subsidy_fen=500),
        MealTier(code="age_60", name_zh="60–79 岁", min_age=60, subsidy_fen=300),
    )


class MealRules(BaseModel):
    """Meals at a meal point's counter (services/vouchers/rules/meal_subsidies.py): the subsidy
    per meal taken from the 社区照护券, and the meal anomaly rules' thresholds. A version stored
    before these rules existed reads the defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tiers: tuple[MealTier, ...] = Field(default_factory=_default_meal_tiers)
    subsidised_meals_per_day: int = Field(2, description="每位老人每日享受补贴的餐数上限")
    # An elder whose birth date this service does not know is taken to be this old (the lowest age tier).
    unknown_age_as: int = Field(60, description="出生日期未知时按此年龄计")
    same_elder_window_min: int = Field(30, description="同一老人在两个助餐点用餐的可疑间隔（分钟）")
    typed_share_bp: int = Field(5_000, description="手输码占比超过此值（基点）即提示")
    typed_min_meals: int = Field(20, description="手输码规则至少需要的当月用餐数")


class PolicyVersion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    effective_from: date
    rules: tuple[KindRule, ...]
    note: str = ""
    stay_claims: StayClaimRules = StayClaimRules()
    meals: MealRules = MealRules()

    def rule_for(self, kind: VoucherKind) -> KindRule | None:
        return next((rule for rule in self.rules if rule.kind == kind), None)


@dataclass(frozen=True)
class EligibilityFacts:
    """This service's own copy of what the assessment service knows about one elder."""

    economic_status: EconomicStatus
    grade: int | None  # None: not assessed yet, so no grade-based voucher
    living_situation: LivingSituation
    special_hardship: bool
    status: ElderStatus = ElderStatus.ACTIVE

    def __post_init__(self) -> None:
        # Event payloads carry plain strings; coerce once here so rules compare enums only.
        object.__setattr__(self, "economic_status", EconomicStatus(self.economic_status))
        object.__setattr__(self, "living_situation", LivingSituation(self.living_situation))
        object.__setattr__(self, "status", ElderStatus(self.status))


@dataclass(frozen=True)
class Entitlement:
    kind: VoucherKind
    face_value_fen: int  # per month
    share_bp: int  # share of each purchase the voucher pays


def _rule_matches(rule: KindRule, elder: EligibilityFacts) -> bool:
    return (
        elder.grade is not None
        and elder.grade in rule.grades
        and elder.economic_status in rule.economic_statuses
        and elder.living_situation in rule.living_situations
        and (elder.special_hardship or not rule.requires_special_hardship)
    )


def entitlements(policy: PolicyVersion, elder: EligibilityFacts) -> list[Entitlement]:
    """The vouchers an elder gets each month under `policy`, in the policy's rule order.

    Only active elders are entitled (issuing stops once an elder dies or moves away). A kind is
    dropped when a kind that excludes it is itself granted; kinds are settled excluders-first, so
    an excluder that is in turn excluded does not knock anything out. A zero face value grants
    nothing, so a city can switch a grade off without rewriting the rule.
    """
    if elder.status != ElderStatus.ACTIVE:
        return []
    matching = {rule.kind: rule for rule in policy.rules if _rule_matches(rule, elder)}
    granted: set[VoucherKind] = set()
    for kind in _excluders_first(policy.rules):
        rule = matching.get(kind)
        if rule is not None and not (rule.excluded_by & granted):
            if rule.face_value_fen(elder.grade, elder.economic_status) > 0:  # type: ignore[arg-type]
                granted.add(kind)
    return [
        Entitlement(
            kind=rule.kind,
            face_value_fen=rule.face_value_fen(elder.grade, elder.economic_status),  # type: ignore[arg-type]
            share_bp=rule.share_bp_by_status[elder.economic_status],
        )
        for rule in policy.rules
        if rule.kind in granted
    ]


def _excluders_first(rules: Iterable[KindRule]) -> list[VoucherKind]:
    """Topological order of the exclusion graph; `validate_policy` guarantees it has no cycle."""
    by_kind = {rule.kind: rule for rule in rules}
    ordered: list[VoucherKind] = []
    visiting: set[VoucherKind] = set()

    def visit(kind: VoucherKind) -> None:
        if kind in ordered or kind in visiting:
            return
        visiting.add(kind)
        for excluder in sorted(by_kind[kind].excluded_by if kind in by_kind else ()):
            visit(excluder)
        visiting.discard(kind)
        ordered.append(kind)

    for kind in by_kind:
        visit(kind)
    return ordered


def policy_in_force(versions: Iterable[PolicyVersion], on: date) -> PolicyVersion:
    """The version with the latest `effective_from` on or before `on`; a later version number
    wins a tie, so a correction submitted for the same day replaces the earlier one."""
    candidates = [v for v in versions if v.effective_from <= on]
    if not candidates:
        raise NotFound(f"{on.isoformat()} 没有生效的代金券政策，请先发布政策")
    return max(candidates, key=lambda v: (v.effective_from, v.version))


def _exclusion_cycle(rules: tuple[KindRule, ...]) -> list[VoucherKind] | None:
    by_kind = {rule.kind: rule for rule in rules}
    done: set[VoucherKind] = set()

    def walk(kind: VoucherKind, path: list[VoucherKind]) -> list[VoucherKind] | None:
        if kind in path:
            return path[path.index(kind):] + [kind]
        if kind in done or kind not in by_kind:
            return None
        for excluder in sorted(by_kind[kind].excluded_by):
            cycle = walk(excluder, path + [kind])
            if cycle:
                return cycle
        done.add(kind)
        return None

    for kind in by_kind:
        cycle = walk(kind, [])
        if cycle:
            return cycle
    return None


def _rule_errors(index: int, rule: KindRule) -> list[FieldError]:
    at = f"rules.{index}"
    errors: list[FieldError] = []
    for name in ("economic_statuses", "grades", "living_situations"):
        if not getattr(rule, name):
            errors.append(FieldError(f"{at}.{name}", "至少选择一项，否则这条规则没有人符合"))
    for grade in sorted(rule.grades):
        if grade not in GRADES:
            errors.append(FieldError(f"{at}.grades", f"能力等级 {grade} 不存在，应为 0–4"))
    for grade, fen in sorted(rule.face_value_fen_by_grade.items()):
        if grade not in GRADES:
            errors.append(FieldError(f"{at}.face_value_fen_by_grade.{grade}", "能力等级应为 0–4"))
        if fen < 0:
            errors.append(FieldError(f"{at}.face_value_fen_by_grade.{grade}", "面值不能为负数"))
    for grade in sorted(rule.grades - rule.face_value_fen_by_grade.keys()):
        errors.append(FieldError(f"{at}.face_value_fen_by_grade", f"缺少能力等级 {grade} 的面值"))
    for status, bp in rule.face_value_bp_by_status.items():
        if not 0 <= bp <= FULL_SHARE_BP:
            errors.append(FieldError(f"{at}.face_value_bp_by_status.{status}", "面值比例应在 0–10000 基点之间"))
    for status, bp in rule.share_bp_by_status.items():
        if not 0 <= bp <= FULL_SHARE_BP:
            errors.append(FieldError(f"{at}.share_bp_by_status.{status}", "支付比例应在 0–10000 基点之间"))
    for status in sorted(rule.economic_statuses - rule.share_bp_by_status.keys()):
        errors.append(FieldError(f"{at}.share_bp_by_status", f"缺少“{status.zh_name}”的支付比例"))
    if rule.kind in rule.excluded_by:
        errors.append(FieldError(f"{at}.excluded_by", "券种不能排斥自己"))
    return errors


def _meal_errors(meals: MealRules) -> list[FieldError]:
    errors: list[FieldError] = []
    codes: set[str] = set()
    for index, tier in enumerate(meals.tiers):
        if tier.code in codes:
            errors.append(FieldError(f"meals.tiers.{index}.code", f"补贴档次 {tier.code} 重复"))
        codes.add(tier.code)
        if tier.subsidy_fen < 0:
            errors.append(FieldError(f"meals.tiers.{index}.subsidy_fen", "每餐补贴不能为负数"))
        if not 0 <= tier.min_age <= 150:
            errors.append(FieldError(f"meals.tiers.{index}.min_age", "年龄应在 0–150 之间"))
    if not 0 <= meals.subsidised_meals_per_day <= 10:
        errors.append(FieldError("meals.subsidised_meals_per_day", "每日补贴餐数应在 0–10 之间"))
    if not 0 <= meals.unknown_age_as <= 150:
        errors.append(FieldError("meals.unknown_age_as", "年龄应在 0–150 之间"))
    if meals.same_elder_window_min < 0:
        errors.append(FieldError("meals.same_elder_window_min", "间隔不能为负数"))
    if not 0 <= meals.typed_share_bp <= FULL_SHARE_BP:
        errors.append(FieldError("meals.typed_share_bp", "占比应在 0–10000 基点之间"))
    if meals.typed_min_meals < 0:
        errors.append(FieldError("meals.typed_min_meals", "用餐数不能为负数"))
    return errors


def validate_policy(policy: PolicyVersion) -> PolicyVersion:
    """Check the business rules of a submitted version; raise `Invalid` listing every problem."""
    errors: list[FieldError] = []
    if policy.version < 1:
        errors.append(FieldError("version", "版本号应为正整数"))
    first_index: dict[VoucherKind, int] = {}
    for index, rule in enumerate(policy.rules):
        if rule.kind in first_index:
            errors.append(FieldError(
                f"rules.{index}.kind",
                f"{rule.kind.zh_name} 已在第 {first_index[rule.kind] + 1} 条规则中定义，每个券种只能有一条规则",
            ))
        first_index.setdefault(rule.kind, index)
        errors.extend(_rule_errors(index, rule))
    if not 0 <= policy.stay_claims.paid_leave_days_per_month <= 31:
        errors.append(FieldError("stay_claims.paid_leave_days_per_month", "每月计费请假天数应在 0–31 之间"))
    errors.extend(_meal_errors(policy.meals))
    if not errors:  # a cycle is only meaningful once every kind has exactly one rule
        cycle = _exclusion_cycle(policy.rules)
        if cycle:
            names = " → ".join(kind.zh_name for kind in cycle)
            errors.append(FieldError("rules", f"券种互斥关系成环（{names}），无法判定发放哪一种"))
    if errors:
        raise Invalid("代金券政策有误，请按提示修改后重新提交", errors=errors)
    return policy


def parse_policy(raw: Mapping[str, Any]) -> PolicyVersion:
    """Build and validate a version from submitted JSON; every problem is an `Invalid`."""
    try:
        policy = PolicyVersion.model_validate(raw)
    except ValidationError as exc:
        errors = [
            FieldError(
                ".".join(str(part) for part in err["loc"]),
                "缺少此项" if err["type"] == "missing" else f"格式不正确：{err['msg']}",
            )
            for err in exc.errors()
        ]
        raise Invalid("代金券政策格式不正确", errors=errors) from None
    return validate_policy(policy)


def _yuan(amount: int) -> int:
    return amount * 100


_HARDSHIP = frozenset({
    EconomicStatus.TEKUN, EconomicStatus.DIBAO, EconomicStatus.DIBAO_EDGE, EconomicStatus.EXPENSE_HARDSHIP,
})
_AT_HOME = frozenset({LivingSituation.ALONE, LivingSituation.EMPTY_NEST, LivingSituation.WITH_FAMILY})
_DEFAULT_SHARES = {
    EconomicStatus.TEKUN: 10_000,
    EconomicStatus.DIBAO: 9_000,
    EconomicStatus.DIBAO_EDGE: 7_000,
    EconomicStatus.EXPENSE_HARDSHIP: 7_000,
    EconomicStatus.NONE: 7_000,
}

# The city's first version, from the voucher issue. Readings where the issue is silent: every
# kind is for the four hardship statuses (docs/domain.md: vouchers go to economically disadvantaged
# elders); mutual aid needs no particular grade, since special hardship (独居/空巢 …) is the test;
# community and mutual aid are for elders living at home.
DEFAULT_POLICY = validate_policy(PolicyVersion(
    version=1,
    effective_from=date(2018, 1, 1),
    note="城市默认政策（示例数据，由管理员按本市文件调整）",
    rules=(
        KindRule(
            kind=VoucherKind.INSTITUTIONAL,
            economic_statuses=_HARDSHIP,
            grades=frozenset({3, 4}),
            living_situations=frozenset({LivingSituation.INSTITUTION}),
            face_value_fen_by_grade={3: _yuan(800), 4: _yuan(800)},
            share_bp_by_status=_DEFAULT_SHARES,
        ),
        KindRule(
            kind=VoucherKind.COMMUNITY,
            economic_statuses=_HARDSHIP,
            grades=frozenset({1, 2, 3, 4}),
            living_situations=_AT_HOME,
            face_value_fen_by_grade={1: _yuan(200), 2: _yuan(300), 3: _yuan(450), 4: _yuan(600)},
            face_value_bp_by_status={EconomicStatus.DIBAO_EDGE: 5_000, EconomicStatus.EXPENSE_HARDSHIP: 5_000},
            share_bp_by_status=_DEFAULT_SHARES,
            # Stated as well as implied by living_situations, so widening those keeps the rule.
            excluded_by=frozenset({VoucherKind.INSTITUTIONAL}),
        ),
        KindRule(
            kind=VoucherKind.MUTUAL_AID,
            economic_statuses=_HARDSHIP,
            grades=frozenset(GRADES),
            living_situations=_AT_HOME,
            requires_special_hardship=True,
            face_value_fen_by_grade={grade: _yuan(100) for grade in GRADES},
            share_bp_by_status=_DEFAULT_SHARES,
        ),
    ),
))
