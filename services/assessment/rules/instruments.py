"""Assessment instruments as data: the shape of a definition file and its checks. Pure: the
files are read by `services/assessment/instruments.py`.

An instrument (GB/T 42195-2022, MZ/T 039-2013, the Barthel index, or a city's next one) is a JSON
file under `instruments/`, so adding or revising one is a data change, not a code change. A
definition is checked as a whole when it is loaded: a typo in a file must stop the service at
start-up, not mis-grade an elder months later.

File shape (every key is required unless marked optional):

    code, name (zh), version, description (zh)
    grade_basis          optional, "total" (default) or a dimension code the bands apply to
    dimensions  [{code, name, max}]
    items       [{code, name, dimension, description (optional), scores: [{score, wording}]}]
    bands       [{grade, name, min, max}]        grade from the grade_basis value
    adjustments [{code, kind, trigger, reason, grade | by, group}]   applied in file order
        kind "set_grade": the grade becomes `grade` and no later rule applies
        kind "raise": up `by`; of the rules sharing one `group` only the first that fires raises
        trigger.type "coma" | "diagnosis" | "risk_events" | "dimension_at_most"
"""
from __future__ import annotations

from collections.abc import Mapping
from string import Formatter
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The care-risk events the platform records, with the words people see. An instrument's
# risk-event rule names which of them it counts (MZ/T 039-2013 does not count self-harm).
CARE_RISK_EVENTS: dict[str, str] = {
    "fall": "跌倒",
    "choking": "噎食",
    "suicide_attempt": "自杀",
    "self_harm": "自伤",
    "wandering": "走失",
}


class InstrumentDefinitionError(ValueError):
    """A definition file is malformed or inconsistent: a deployment fault, never a user's."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ScoreOption(_Frozen):
    score: int = Field(ge=0)
    wording: str = Field(min_length=1)


class Item(_Frozen):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    dimension: str
    description: str = ""
    scores: tuple[ScoreOption, ...] = Field(min_length=2)

    @property
    def allowed_scores(self) -> tuple[int, ...]:
        return tuple(sorted(option.score for option in self.scores))

    @property
    def max_score(self) -> int:
        return max(self.allowed_scores)

    def wording(self, score: int) -> str:
        return next(option.wording for option in self.scores if option.score == score)


class Dimension(_Frozen):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    max: int = Field(ge=1)


class Band(_Frozen):
    grade: int = Field(ge=0)
    name: str = Field(min_length=1)
    min: int = Field(ge=0)
    max: int = Field(ge=0)


class ComaTrigger(_Frozen):
    """Coma is recorded by the assessor; the consciousness item must then read `item_score`.
    `implied_by_item`: that score itself means coma (MZ/T 039's 昏迷), so no flag is needed."""

    type: Literal["coma"]
    item: str
    item_score: int
    implied_by_item: bool = False


class DiagnosisRange(_Frozen):
    first: str = Field(alias="from", pattern=r"^[A-Z]\d{2}$")
    last: str = Field(alias="to", pattern=r"^[A-Z]\d{2}$")
    label: str = Field(min_length=1)

    def contains(self, category: str) -> bool:
        """`category` is a three-character ICD-10 category such as "F01"."""
        return self.first[0] == category[0] == self.last[0] and self.first <= category <= self.last


class DiagnosisTrigger(_Frozen):
    type: Literal["diagnosis"]
    ranges: tuple[DiagnosisRange, ...] = Field(min_length=1)


class RiskEventsTrigger(_Frozen):
    type: Literal["risk_events"]
    events: tuple[str, ...] = Field(min_length=1)
    min_count: int = Field(ge=1)


class DimensionTrigger(_Frozen):
    """Fires when any listed dimension's subtotal is at or below its threshold."""

    type: Literal["dimension_at_most"]
    thresholds: dict[str, int] = Field(min_length=1)


Trigger = Annotated[
    ComaTrigger | DiagnosisTrigger | RiskEventsTrigger | DimensionTrigger, Field(discriminator="type")
]

# Placeholders each trigger fills in its rule's zh-CN reason template.
REASON_FIELDS: dict[str, frozenset[str]] = {
    "coma": frozenset({"grade_name"}),
    "diagnosis": frozenset({"diagnoses"}),
    "risk_events": frozenset({"count", "events"}),
    "dimension_at_most": frozenset({"dimensions"}),
}


class Adjustment(_Frozen):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Literal["set_grade", "raise"]
    trigger: Trigger
    reason: str = Field(min_length=1)
    grade: int | None = None  # set_grade only
    by: int | None = Field(default=None, ge=1)  # raise only
    group: str | None = None  # raise only; defaults to the rule's own code

    @property
    def raise_group(self) -> str:
        return self.group or self.code


class Instrument(_Frozen):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = Field(min_length=1)
    grade_basis: str = "total"
    dimensions: tuple[Dimension, ...] = Field(min_length=1)
    items: tuple[Item, ...] = Field(min_length=1)
    bands: tuple[Band, ...] = Field(min_length=1)
    adjustments: tuple[Adjustment, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        problems = _consistency_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def item(self, code: str) -> Item:
        return next(item for item in self.items if item.code == code)

    def dimension(self, code: str) -> Dimension:
        return next(dimension for dimension in self.dimensions if dimension.code == code)

    def items_of(self, dimension_code: str) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.dimension == dimension_code)

    @property
    def max_total(self) -> int:
        return sum(item.max_score for item in self.items)

    @property
    def max_grade(self) -> int:
        return max(band.grade for band in self.bands)

    def band_for(self, value: int) -> Band:
        """The band a grade-basis value falls in; load-time checks make this total."""
        return next(band for band in self.bands if band.min <= value <= band.max)

    def grade_name(self, grade: int) -> str:
        return next(band.name for band in self.bands if band.grade == grade)

    def basis_values(self) -> set[int]:
        """Every value the grade basis can take, given the items' allowed scores."""
        items = self.items if self.grade_basis == "total" else self.items_of(self.grade_basis)
        return _reachable_sums(items)


def _reachable_sums(items: tuple[Item, ...]) -> set[int]:
    sums = {0}
    for item in items:
        sums = {subtotal + score for subtotal in sums for score in item.allowed_scores}
    return sums


def _duplicates(codes: list[Any]) -> list[Any]:
    return sorted({code for code in codes if codes.count(code) > 1}, key=str)


def _consistency_problems(instrument: Instrument) -> list[str]:
    """Cross-references a field-level schema cannot see; each problem is one English sentence
    for the engineer who edits the file."""
    problems: list[str] = []
    dimension_codes = [dimension.code for dimension in instrument.dimensions]
    item_codes = [item.code for item in instrument.items]
    for label, codes in (("dimension", dimension_codes), ("item", item_codes)):
        problems += [f"duplicate {label} code {code!r}" for code in _duplicates(codes)]
    for item in instrument.items:
        if item.dimension not in dimension_codes:
            problems.append(f"item {item.code!r} names unknown dimension {item.dimension!r}")
        if dup := _duplicates([option.score for option in item.scores]):
            problems.append(f"item {item.code!r} lists score(s) {dup} twice")
    for dimension in instrument.dimensions:
        members = instrument.items_of(dimension.code)
        if not members:
            problems.append(f"dimension {dimension.code!r} has no items")
        elif (actual := sum(item.max_score for item in members)) != dimension.max:
            problems.append(f"dimension {dimension.code!r} declares max {dimension.max}, items sum to {actual}")
    if instrument.grade_basis != "total" and instrument.grade_basis not in dimension_codes:
        problems.append(f"grade_basis {instrument.grade_basis!r} is neither 'total' nor a dimension")
        return problems  # the band checks below need a valid basis
    problems += _band_problems(instrument)
    problems += _adjustment_problems(instrument, set(item_codes), set(dimension_codes))
    return problems


def _band_problems(instrument: Instrument) -> list[str]:
    problems: list[str] = []
    grades = [band.grade for band in instrument.bands]
    if sorted(grades) != list(range(len(grades))):
        problems.append(f"band grades must be 0..{len(grades) - 1} once each, got {grades}")
    for band in instrument.bands:
        if band.min > band.max:
            problems.append(f"band {band.grade} has min {band.min} > max {band.max}")
    ordered = sorted(instrument.bands, key=lambda band: band.min)
    for lower, upper in zip(ordered, ordered[1:]):
        if upper.min <= lower.max:
            problems.append(f"bands {lower.grade} and {upper.grade} overlap")
    uncovered = sorted(v for v in instrument.basis_values() if not any(b.min <= v <= b.max for b in instrument.bands))
    if uncovered:
        problems.append(f"reachable {instrument.grade_basis} values {uncovered} fall in no band")
    return problems


def _adjustment_problems(instrument: Instrument, item_codes: set[str], dimension_codes: set[str]) -> list[str]:
    problems = [f"duplicate adjustment code {c!r}" for c in _duplicates([a.code for a in instrument.adjustments])]
    grades = {band.grade for band in instrument.bands}
    for rule in instrument.adjustments:
        where = f"adjustment {rule.code!r}"
        if rule.kind == "set_grade" and (rule.grade not in grades or rule.by is not None or rule.group):
            problems.append(f"{where}: set_grade needs a band grade and no 'by' or 'group'")
        if rule.kind == "raise" and (rule.by is None or rule.grade is not None):
            problems.append(f"{where}: raise needs 'by' and no 'grade'")
        trigger = rule.trigger
        if isinstance(trigger, ComaTrigger):
            if trigger.item not in item_codes:
                problems.append(f"{where}: unknown item {trigger.item!r}")
            elif trigger.item_score not in instrument.item(trigger.item).allowed_scores:
                problems.append(f"{where}: {trigger.item_score} is not an allowed score of {trigger.item!r}")
        elif isinstance(trigger, RiskEventsTrigger):
            unknown = sorted(set(trigger.events) - CARE_RISK_EVENTS.keys())
            if unknown:
                problems.append(f"{where}: unknown care-risk events {unknown}")
        elif isinstance(trigger, DimensionTrigger):
            unknown = sorted(set(trigger.thresholds) - dimension_codes)
            if unknown:
                problems.append(f"{where}: unknown dimensions {unknown}")
        elif isinstance(trigger, DiagnosisTrigger):
            problems += [
                f"{where}: range {r.first}-{r.last} is empty or spans chapters"
                for r in trigger.ranges
                if r.first[0] != r.last[0] or r.first > r.last
            ]
        used = {name for _, name, _, _ in Formatter().parse(rule.reason) if name is not None}
        if extra := sorted(used - REASON_FIELDS[trigger.type]):
            problems.append(f"{where}: reason uses unknown placeholders {extra}")
    return problems


def parse_instrument(data: Mapping[str, Any], *, source: str = "<data>") -> Instrument:
    """Build and check one definition; any fault is an `InstrumentDefinitionError` naming `source`."""
    try:
        return Instrument.model_validate(data)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise InstrumentDefinitionError(f"{source}: {exc}") from exc
