"""Rules of capability assessments: the states and their names, what a draft may hold, and
scoring against an instrument definition. Pure, no I/O.

Item totals give an initial grade through the instrument's bands; the instrument's adjustment
rules then change it (coma, diagnoses, care-risk events …), each change recorded with its zh-CN
reason so an assessor, an elder's family and an auditor all read why the grade is what it is.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.assessment.rules.instruments import (
    CARE_RISK_EVENTS,
    Adjustment,
    ComaTrigger,
    DiagnosisTrigger,
    DimensionTrigger,
    Instrument,
    RiskEventsTrigger,
)
from shared.errors import FieldError, Invalid

# "F01", "f03.9", "F00.0*" (the asterisk of the dagger-asterisk convention) are all category F0x.
_ICD10_CODE = re.compile(r"([A-Z]\d{2})(?:\.[0-9A-Z]{1,4})?[*†+]?")

STATE_NAMES = {"draft": "草稿", "signed": "已有一位评估员签名", "finalised": "已定稿"}
REASON_NAMES = {"initial": "首次评估", "periodic": "定期复评", "condition_changed": "状况变化复评"}
OPEN_STATES = ("draft", "signed")
WHY_NAMES = {"never_assessed": "从未评估", "period_elapsed": "已到复评期", "condition_changed": "状况变化待复评"}

_SAME_GROUP_NOTE = "（与前一项等级变更同时符合，合计只提高一级）"
_AT_CEILING_NOTE = "（已是最高等级，不再提高）"


class AppliedAdjustment(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str  # the adjustment's code in the instrument
    reason: str  # zh-CN
    grade_before: int
    grade_after: int  # equal to grade_before when a ceiling or a shared group absorbed the change


class ScoreResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    instrument: str
    instrument_version: str
    dimensions: dict[str, int]  # dimension code → subtotal, in the instrument's order
    total: int
    initial_grade: int
    initial_grade_name: str
    grade: int
    grade_name: str
    adjustments: tuple[AppliedAdjustment, ...]


def item_score_errors(instrument: Instrument, items: object, *, complete: bool) -> list[FieldError]:
    """Every problem with a set of item scores, one `FieldError` per item, in the instrument's order.

    `complete=False` is for drafts (partial saves): scores present must be valid, none is required.
    """
    if not isinstance(items, Mapping):
        return [FieldError("items", "评分应为“条目编号: 分值”的对应表")]
    errors: list[FieldError] = []
    for item in instrument.items:
        if item.code not in items:
            if complete:
                errors.append(FieldError(f"items.{item.code}", f"{item.name} 尚未评分"))
            continue
        value = items[item.code]
        # bool is an int in Python, but `true` for 进食 is a client bug, not a score of 1.
        if isinstance(value, bool) or not isinstance(value, int) or value not in item.allowed_scores:
            allowed = "、".join(str(score) for score in item.allowed_scores)
            errors.append(FieldError(f"items.{item.code}", f"{item.name} 的分值必须是 {allowed} 之一"))
    known = {item.code for item in instrument.items}
    for code in sorted((str(code) for code in items if code not in known)):
        errors.append(FieldError(f"items.{code}", f"{instrument.name} 没有编号为 {code} 的评估条目"))
    return errors


def validate_items(instrument: Instrument, items: object, *, complete: bool) -> None:
    """`item_score_errors`, raised as one `Invalid` when there is any."""
    _raise_if_any(item_score_errors(instrument, items, complete=complete))


def draft_content(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The stored content of a draft from the submitted fields, normalised (diagnoses upper-case)."""
    return {"items": dict(fields.get("items") or {}), "coma": bool(fields.get("coma")),
            "diagnoses": [str(d).strip().upper() for d in fields.get("diagnoses") or []],
            "risk_events_30d": list(fields.get("risk_events_30d") or []), "note": fields.get("note") or ""}


def validate_draft(instrument: Instrument, content: Mapping[str, Any], *,
                   more: Iterable[FieldError] = ()) -> None:
    """What a partial save may already refuse: scores out of range, unknown items, diagnoses that
    are not ICD-10 codes, unknown care-risk events (with `more` problems the caller found). Missing
    items wait for the signature."""
    errors = item_score_errors(instrument, content["items"], complete=False)
    errors += _diagnosis_errors(content["diagnoses"]) + _risk_event_errors(content["risk_events_30d"])
    _raise_if_any(errors + list(more))


def icd10_category(code: object) -> str | None:
    """"f03.9" → "F03"; None when `code` is not shaped like an ICD-10 code."""
    if not isinstance(code, str):
        return None
    match = _ICD10_CODE.fullmatch(code.strip().upper())
    return match.group(1) if match else None


def score(
    instrument: Instrument,
    items: Mapping[str, int],
    *,
    coma: bool = False,
    diagnoses: Iterable[str] = (),
    risk_events_30d: Iterable[str] = (),
) -> ScoreResult:
    """Score a complete assessment; any bad input is one `Invalid` listing every bad field.

    `coma` is the assessor's record that the elder is in a coma; the instrument's consciousness
    item must then carry its coma score. `diagnoses` are ICD-10 codes; `risk_events_30d` holds one
    entry per care-risk event in the last 30 days (two falls are ["fall", "fall"]). Facts an
    instrument has no rule for (the Barthel index has none) are checked for shape and not used.
    """
    diagnoses, risk_events = list(diagnoses), list(risk_events_30d)
    errors = item_score_errors(instrument, items, complete=True)
    coma_errors = _coma_errors(instrument, items, coma) if not errors else []
    errors += coma_errors + _diagnosis_errors(diagnoses) + _risk_event_errors(risk_events)
    _raise_if_any(errors)

    dimensions = {
        dimension.code: sum(items[item.code] for item in instrument.items_of(dimension.code))
        for dimension in instrument.dimensions
    }
    total = sum(items[item.code] for item in instrument.items)
    basis = total if instrument.grade_basis == "total" else dimensions[instrument.grade_basis]
    initial_grade = instrument.band_for(basis).grade
    facts = _Facts(items=items, coma=coma, diagnoses=diagnoses, risk_events=risk_events, dimensions=dimensions)
    grade, applied = _apply_adjustments(instrument, initial_grade, facts)
    return ScoreResult(
        instrument=instrument.code,
        instrument_version=instrument.version,
        dimensions=dimensions,
        total=total,
        initial_grade=initial_grade,
        initial_grade_name=instrument.grade_name(initial_grade),
        grade=grade,
        grade_name=instrument.grade_name(grade),
        adjustments=tuple(applied),
    )


def _raise_if_any(errors: list[FieldError]) -> None:
    if not errors:
        return
    detail = errors[0].reason if len(errors) == 1 else f"评估数据有 {len(errors)} 处不符合要求，请逐项修改"
    raise Invalid(detail, errors=errors)


def _coma_trigger(instrument: Instrument) -> ComaTrigger | None:
    return next((rule.trigger for rule in instrument.adjustments if isinstance(rule.trigger, ComaTrigger)), None)


def _coma_errors(instrument: Instrument, items: Mapping[str, int], coma: bool) -> list[FieldError]:
    trigger = _coma_trigger(instrument)
    if not coma or trigger is None or items[trigger.item] == trigger.item_score:
        return []
    item = instrument.item(trigger.item)
    # A recorded coma with a conscious item score is a contradiction that would grade the elder
    # from one of the two at random; the assessor must correct one of them.
    return [FieldError("coma", f"记录为昏迷时，{item.name} 的分值应为 {trigger.item_score}")]


def _diagnosis_errors(diagnoses: list[object]) -> list[FieldError]:
    return [
        FieldError(f"diagnoses.{index}", f"诊断编码 {code} 不是有效的 ICD-10 编码（例如 F01 或 F03.9）")
        for index, code in enumerate(diagnoses)
        if icd10_category(code) is None
    ]


def _risk_event_errors(events: list[object]) -> list[FieldError]:
    choices = "、".join(f"{code}（{name}）" for code, name in CARE_RISK_EVENTS.items())
    return [
        FieldError(f"risk_events_30d.{index}", f"未知的照护风险事件 {event}，可选：{choices}")
        for index, event in enumerate(events)
        if not isinstance(event, str) or event not in CARE_RISK_EVENTS
    ]


@dataclass(frozen=True)
class _Facts:
    items: Mapping[str, int]
    coma: bool
    diagnoses: list[str]
    risk_events: list[str]
    dimensions: dict[str, int]


def _reason_fields(rule: Adjustment, instrument: Instrument, facts: _Facts) -> dict[str, object] | None:
    """The placeholders for `rule`'s reason when it fires on `facts`, or None when it does not."""
    trigger = rule.trigger
    if isinstance(trigger, ComaTrigger):
        in_coma = facts.coma or (trigger.implied_by_item and facts.items[trigger.item] == trigger.item_score)
        return {"grade_name": instrument.grade_name(rule.grade)} if in_coma else None  # type: ignore[arg-type]
    if isinstance(trigger, DiagnosisTrigger):
        matches: list[str] = []
        for code in dict.fromkeys(code.strip().upper() for code in facts.diagnoses):
            category = icd10_category(code)
            label = next((r.label for r in trigger.ranges if r.contains(category)), None)  # type: ignore[arg-type]
            if label is not None:
                matches.append(f"{label}（{code}）")
        return {"diagnoses": "、".join(matches)} if matches else None
    if isinstance(trigger, RiskEventsTrigger):
        counted = Counter(event for event in facts.risk_events if event in trigger.events)
        count = sum(counted.values())
        if count < trigger.min_count:
            return None
        listing = "、".join(f"{name} {counted[code]} 次" for code, name in CARE_RISK_EVENTS.items() if counted[code])
        return {"count": count, "events": listing}
    if isinstance(trigger, DimensionTrigger):
        low = [
            f"{dimension.name}（{facts.dimensions[dimension.code]} 分）"
            for dimension in instrument.dimensions
            if dimension.code in trigger.thresholds
            and facts.dimensions[dimension.code] <= trigger.thresholds[dimension.code]
        ]
        return {"dimensions": "、".join(low)} if low else None
    raise AssertionError(f"unhandled trigger {trigger!r}")  # the Trigger union is closed


def _apply_adjustments(
    instrument: Instrument, initial_grade: int, facts: _Facts
) -> tuple[int, list[AppliedAdjustment]]:
    """Rules in file order. A `set_grade` rule decides the grade outright and ends the list; of the
    `raise` rules sharing a group only the first that fires raises, the rest are recorded as
    absorbed. No grade goes past the instrument's highest band."""
    grade, applied = initial_grade, []
    raised_groups: set[str] = set()
    for rule in instrument.adjustments:
        fields = _reason_fields(rule, instrument, facts)
        if fields is None:
            continue
        reason = rule.reason.format(**fields)
        if rule.kind == "set_grade":
            applied.append(AppliedAdjustment(rule=rule.code, reason=reason, grade_before=grade, grade_after=rule.grade))
            return rule.grade, applied  # type: ignore[return-value]
        after = grade
        if rule.raise_group in raised_groups:
            reason += _SAME_GROUP_NOTE
        elif grade >= instrument.max_grade:
            raised_groups.add(rule.raise_group)
            reason += _AT_CEILING_NOTE
        else:
            raised_groups.add(rule.raise_group)
            after = min(grade + rule.by, instrument.max_grade)  # type: ignore[operator]
        applied.append(AppliedAdjustment(rule=rule.code, reason=reason, grade_before=grade, grade_after=after))
        grade = after
    return grade, applied
