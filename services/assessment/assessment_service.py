"""Use cases of capability assessments: draft, edit, two-assessor sign-off, history, the
reassessment-due list, and scoring without saving. Each runs inside its caller's transaction.

The state machine: draft → signed (the first assessor, with every item scored) → finalised (a
second, different assessor). Only a draft is edited: a change after the first signature would
make that signature vouch for scores its assessor never saw. A finalised assessment is never
written again; a reassessment is a new record pointing to the previous one. One elder has at
most one open (draft or signed) assessment, so two teams cannot grade the same person twice.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.assessment import records
from services.assessment.events import AssessmentCompleted
from services.assessment.hardship import SHANGHAI, latest_finalisation_day_due, reassessment_due
from services.assessment.instruments import CARE_RISK_EVENTS, Instrument, get_instrument
from services.assessment.models import AssessmentRow, ElderRow
from services.assessment.scoring import ScoreResult, icd10_category, item_score_errors, score
from services.assessment.service import (Runtime, elder_for, ensure_assignment, publish_elder_updated,
                                         readable_by, refresh_hardship)
from shared.auth import Principal, require_role
from shared.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from shared.events import make_event
from shared.outbox import add_event

STATE_NAMES = {"draft": "草稿", "signed": "已有一位评估员签名", "finalised": "已定稿"}
REASON_NAMES = {"initial": "首次评估", "periodic": "定期复评", "condition_changed": "状况变化复评"}
OPEN_STATES = ("draft", "signed")
CARE_PLANS_FILE = Path(__file__).with_name("care_plans.json")


@cache
def _care_plans() -> dict[str, Any]:
    return json.loads(CARE_PLANS_FILE.read_text(encoding="utf-8"))


def care_plan(instrument: str, grade: int) -> dict[str, Any] | None:
    """Policy data: suggested visits and services per grade, for the instrument the table is for."""
    plans = _care_plans()
    return plans["by_grade"].get(str(grade)) if plans["instrument"] == instrument else None


def score_view(instrument: Instrument, result: ScoreResult) -> dict[str, Any]:
    return {
        "instrument": result.instrument, "instrument_version": result.instrument_version,
        "dimensions": [{"code": d.code, "name": d.name, "score": result.dimensions[d.code], "max": d.max}
                       for d in instrument.dimensions],
        "total": result.total, "max_total": instrument.max_total,
        "initial_grade": result.initial_grade, "initial_grade_name": result.initial_grade_name,
        "grade": result.grade, "grade_name": result.grade_name,
        "adjustments": [a.model_dump() for a in result.adjustments],
        "care_plan": care_plan(result.instrument, result.grade),
    }


def score_only(*, code: str, items: dict[str, int], coma: bool, diagnoses: list[str],
               risk_events_30d: list[str]) -> dict[str, Any]:
    instrument = get_instrument(code)
    result = score(instrument, items, coma=coma, diagnoses=diagnoses, risk_events_30d=risk_events_30d)
    return score_view(instrument, result)


def assessment_view(row: AssessmentRow) -> dict[str, Any]:
    try:
        codes = [item.code for item in get_instrument(row.instrument).items]
    except NotFound:  # an instrument withdrawn since: the record still reads
        codes = list(row.items)
    return {
        "id": row.id, "elder_id": row.elder_id, "previous_id": row.previous_id, "reason": row.reason,
        "instrument": row.instrument, "instrument_version": row.instrument_version, "state": row.state,
        "state_name": STATE_NAMES[row.state], "items": row.items,
        "missing_items": [code for code in codes if code not in row.items],
        "coma": row.coma, "diagnoses": row.diagnoses, "risk_events_30d": row.risk_events_30d, "note": row.note,
        "created_by": row.created_by, "created_at": row.created_at, "updated_at": row.updated_at,
        "first_assessor_id": row.first_assessor_id, "first_signed_at": row.first_signed_at,
        "second_assessor_id": row.second_assessor_id, "finalised_at": row.finalised_at,
        "valid_until": row.valid_until, "result": row.result,
    }


def _draft_errors(instrument: Instrument, content: dict[str, Any]) -> list[FieldError]:
    """What a partial save may already refuse: scores out of range, unknown items, diagnoses that
    are not ICD-10 codes, unknown care-risk events. Missing items wait for the signature."""
    errors = item_score_errors(instrument, content["items"], complete=False)
    errors += [FieldError(f"diagnoses.{i}", f"诊断编码 {code} 不是有效的 ICD-10 编码（例如 F01 或 F03.9）")
               for i, code in enumerate(content["diagnoses"]) if icd10_category(code) is None]
    choices = "、".join(f"{code}（{name}）" for code, name in CARE_RISK_EVENTS.items())
    errors += [FieldError(f"risk_events_30d.{i}", f"未知的照护风险事件 {event}，可选：{choices}")
               for i, event in enumerate(content["risk_events_30d"]) if event not in CARE_RISK_EVENTS]
    return errors


def _raise(errors: list[FieldError]) -> None:
    if errors:
        detail = errors[0].reason if len(errors) == 1 else f"评估数据有 {len(errors)} 处不符合要求，请逐项修改"
        raise Invalid(detail, errors=errors)


def _content(fields: dict[str, Any]) -> dict[str, Any]:
    return {"items": dict(fields.get("items") or {}), "coma": bool(fields.get("coma")),
            "diagnoses": [str(d).strip().upper() for d in fields.get("diagnoses") or []],
            "risk_events_30d": list(fields.get("risk_events_30d") or []), "note": fields.get("note") or ""}


def _not_editable(row: AssessmentRow, action: str) -> Conflict:
    return Conflict(f"该评估{STATE_NAMES[row.state]}，不能{action}；如需更改请新建一次评估",
                    current_state=row.state, assessment_id=str(row.id))


async def _open_assessment(session: AsyncSession, elder_id: uuid.UUID) -> AssessmentRow | None:
    query = (sa.select(AssessmentRow).where(AssessmentRow.elder_id == elder_id, AssessmentRow.state.in_(OPEN_STATES))
             .limit(1))
    return (await session.execute(query)).scalar_one_or_none()


async def _last_finalised(session: AsyncSession, elder_id: uuid.UUID) -> AssessmentRow | None:
    query = (sa.select(AssessmentRow).where(AssessmentRow.elder_id == elder_id, AssessmentRow.state == "finalised")
             .order_by(AssessmentRow.finalised_at.desc()).limit(1))
    return (await session.execute(query)).scalar_one_or_none()


def _require_active(elder: ElderRow, action: str) -> None:
    if elder.status != "active":
        raise Conflict(f"老人档案状态为{records.ELDER_STATUSES[elder.status]}，不能{action}", current_state=elder.status)


async def create_assessment(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID,
                            fields: dict[str, Any], rt: Runtime) -> dict[str, Any]:
    require_role(principal, "assessor")
    # lock the elder so two assessors opening at the same moment queue, and one gets the 409
    elder = await elder_for(session, principal, elder_id, for_update=True)
    _require_active(elder, "新建评估")
    try:
        instrument = get_instrument(fields.get("instrument") or "gb_t_42195_2022")
    except NotFound as exc:
        raise Invalid(exc.detail, errors=[FieldError("instrument", exc.detail)]) from None
    content = _content(fields)
    previous = await _last_finalised(session, elder.id)
    reason = fields.get("reason") or ("periodic" if previous else "initial")
    errors = _draft_errors(instrument, content)
    if reason == "initial" and previous is not None:
        errors.append(FieldError("reason", "该老人已有定稿的评估，复评请选择 periodic 或 condition_changed"))
    if reason != "initial" and previous is None:
        errors.append(FieldError("reason", "该老人还没有定稿的评估，首次评估请选择 initial"))
    _raise(errors)
    if (open_row := await _open_assessment(session, elder.id)) is not None:
        raise Conflict("这位老人已有一份进行中的评估，请继续完成它", current_state=open_row.state,
                       assessment_id=str(open_row.id))
    row = AssessmentRow(id=uuid.uuid4(), elder_id=elder.id, previous_id=previous.id if previous else None,
                        reason=reason, instrument=instrument.code, instrument_version=instrument.version,
                        state="draft", created_by=principal.user_id, created_at=rt.now, updated_at=rt.now, **content)
    session.add(row)
    await ensure_assignment(session, elder_id=elder.id, assessor_id=principal.user_id, source="assessment",
                            assigned_by=principal.user_id, now=rt.now)
    return assessment_view(row)


async def assessment_for(session: AsyncSession, principal: Principal, assessment_id: uuid.UUID, *,
                         for_update: bool = False) -> tuple[AssessmentRow, ElderRow]:
    """The assessment if its elder is readable by this caller; an elder's household sees only
    finalised results. Anything else is 404."""
    query = sa.select(AssessmentRow).where(AssessmentRow.id == assessment_id)
    row = (await session.execute(query.with_for_update() if for_update else query)).scalar_one_or_none()
    missing = NotFound("没有找到这份评估，请核对编号", resource="assessment")
    if row is None:
        raise missing
    try:
        elder = await elder_for(session, principal, row.elder_id, for_update=for_update)
    except NotFound:
        raise missing from None
    if principal.role in records.HOUSEHOLD and row.state != "finalised":
        raise missing
    return row, elder


async def update_draft(session: AsyncSession, *, principal: Principal, assessment_id: uuid.UUID,
                       fields: dict[str, Any], rt: Runtime) -> dict[str, Any]:
    require_role(principal, "assessor")
    row, _ = await assessment_for(session, principal, assessment_id, for_update=True)
    if row.state != "draft":
        raise _not_editable(row, "修改")
    content = _content(fields)
    _raise(_draft_errors(get_instrument(row.instrument), content))
    for key, value in content.items():
        setattr(row, key, value)
    row.updated_at = rt.now
    return assessment_view(row)


async def sign(session: AsyncSession, *, principal: Principal, assessment_id: uuid.UUID,
               rt: Runtime) -> dict[str, Any]:
    # a signature attests a professional judgement: assessors only, not even an administrator
    if principal.role != "assessor":
        raise Forbidden("只有评估员可以在评估上签名")
    row, elder = await assessment_for(session, principal, assessment_id, for_update=True)
    if row.state == "finalised":
        raise _not_editable(row, "再次签名")
    _require_active(elder, "定稿评估")
    instrument = get_instrument(row.instrument)
    # scoring checks completeness (names every unscored item) before anyone's signature counts
    result = score(instrument, row.items, coma=row.coma, diagnoses=row.diagnoses,
                   risk_events_30d=row.risk_events_30d)
    if row.state == "draft":
        row.state, row.first_assessor_id, row.first_signed_at = "signed", principal.user_id, rt.now
    elif row.first_assessor_id == principal.user_id:
        raise Conflict("同一位评估员不能签名两次，需要另一位评估员复核后签名", current_state=row.state,
                       rule="two_different_assessors", assessment_id=str(row.id))
    else:
        _finalise(session, row, elder, instrument, result, principal, rt)
    row.updated_at = rt.now
    await ensure_assignment(session, elder_id=elder.id, assessor_id=principal.user_id, source="assessment",
                            assigned_by=principal.user_id, now=rt.now)
    return assessment_view(row)


def _finalise(session: AsyncSession, row: AssessmentRow, elder: ElderRow, instrument: Instrument,
              result: ScoreResult, principal: Principal, rt: Runtime) -> None:
    row.state, row.second_assessor_id, row.finalised_at = "finalised", principal.user_id, rt.now
    row.result = json.loads(json.dumps(score_view(instrument, result), default=str))
    row.total, row.initial_grade, row.grade = result.total, result.initial_grade, result.grade
    row.valid_until = reassessment_due(rt.now, months=rt.reassessment_months)
    changed = ["last_finalised_at"] + (["grade"] if elder.grade != result.grade else [])
    was_hardship = elder.special_hardship
    elder.grade, elder.last_finalised_at, elder.updated_at = result.grade, rt.now, rt.now
    refresh_hardship(elder)
    if elder.special_hardship != was_hardship:
        changed.append("special_hardship")
    add_event(session, make_event(AssessmentCompleted(
        elder_id=elder.id, assessment_id=row.id, instrument=row.instrument, total=result.total,
        initial_grade=result.initial_grade, grade=result.grade, finalised_at=rt.now.isoformat(),
        special_hardship=elder.special_hardship, grade_name=result.grade_name,
        instrument_version=row.instrument_version, dimensions=result.dimensions, valid_until=row.valid_until,
        district_code=elder.district_code, reason=row.reason, previous_assessment_id=row.previous_id),
        source=rt.source))
    publish_elder_updated(session, elder, rt, changed)


async def history(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID) -> list[dict[str, Any]]:
    elder = await elder_for(session, principal, elder_id)
    query = sa.select(AssessmentRow).where(AssessmentRow.elder_id == elder.id)
    if principal.role in records.HOUSEHOLD:
        query = query.where(AssessmentRow.state == "finalised")
    rows = await session.execute(query.order_by(AssessmentRow.created_at.desc()))
    return [assessment_view(r) for r in rows.scalars()]


async def get_assessment(session: AsyncSession, *, principal: Principal, assessment_id: uuid.UUID) -> dict[str, Any]:
    row, _ = await assessment_for(session, principal, assessment_id)
    return assessment_view(row)


async def reassessments_due(session: AsyncSession, *, principal: Principal, district_code: str | None,
                            rt: Runtime, page: int, page_size: int) -> dict[str, Any]:
    """Active elders never assessed, whose last finalised assessment is `rt.reassessment_months`
    old or older (due and overdue alike), or with an open condition-changed reassessment.
    Most overdue first, never-assessed before all."""
    require_role(principal, "officer", "assessor", "city_officer")
    if principal.role in records.DISTRICT_STAFF and district_code and district_code != principal.district:
        raise Forbidden("只能查看本辖区的待复评名单", errors=[FieldError("district_code", "不是您负责的区县")])
    last_due_day = latest_finalisation_day_due(rt.today, months=rt.reassessment_months)
    cutoff = datetime.combine(last_due_day + timedelta(days=1), time(), SHANGHAI)
    condition_changed = (sa.select(AssessmentRow.elder_id)
                         .where(AssessmentRow.state.in_(OPEN_STATES), AssessmentRow.reason == "condition_changed"))
    where = [readable_by(principal), ElderRow.status == "active",
             sa.or_(ElderRow.last_finalised_at.is_(None), ElderRow.last_finalised_at < cutoff,
                    ElderRow.id.in_(condition_changed))]
    if district_code:
        where.append(ElderRow.district_code == district_code)
    total = (await session.execute(sa.select(sa.func.count()).select_from(ElderRow).where(*where))).scalar_one()
    elders = list((await session.execute(
        sa.select(ElderRow).where(*where).order_by(ElderRow.last_finalised_at.asc().nulls_first(), ElderRow.id)
        .offset((page - 1) * page_size).limit(page_size))).scalars())
    open_rows = {}
    if elders:
        rows = await session.execute(sa.select(AssessmentRow).where(
            AssessmentRow.elder_id.in_([e.id for e in elders]), AssessmentRow.state.in_(OPEN_STATES)))
        open_rows = {r.elder_id: r for r in rows.scalars()}
    items = []
    for elder in elders:
        opened = open_rows.get(elder.id)
        due_on = reassessment_due(elder.last_finalised_at, months=rt.reassessment_months) \
            if elder.last_finalised_at else None
        why = ("never_assessed" if due_on is None else "period_elapsed" if due_on <= rt.today
               else "condition_changed")
        items.append({"elder_id": elder.id, "name": elder.name, "district_code": elder.district_code,
                      "street": elder.street, "grade": elder.grade, "last_finalised_at": elder.last_finalised_at,
                      "due_on": due_on, "why": why, "why_name": WHY_NAMES[why],
                      "open_assessment_id": opened.id if opened else None})
    return {"items": items, "total": total, "page": page, "page_size": page_size,
            "reassessment_months": rt.reassessment_months}


WHY_NAMES = {"never_assessed": "从未评估", "period_elapsed": "已到复评期", "condition_changed": "状况变化待复评"}

