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
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.assessment import access
from services.assessment.care_plans import mark_to_review
from services.assessment.elders import elder_for, ensure_assignment, publish_elder_updated, refresh_hardship
from services.assessment.events import AssessmentCompleted
from services.assessment.instruments import DEFAULT_INSTRUMENT_CODE, get_instrument
from services.assessment.models import AssessmentRow, ElderRow
from services.assessment.rules.assessments import OPEN_STATES, STATE_NAMES, ScoreResult, draft_content, score, validate_draft
from services.assessment.rules.elders import ELDER_STATUSES
from services.assessment.rules.hardship import latest_finalisation_day_due, reassessment_due
from services.assessment.rules.instruments import Instrument
from services.assessment.runtime import AssessmentRuntime
from services.assessment.views import assessment_view, due_view, score_view
from shared.auth import Principal, require_role
from shared.city import CITY_TZ, local_day
from shared.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from shared.events import make_event
from shared.outbox import add_event


def score_only(*, code: str, items: dict[str, int], coma: bool, diagnoses: list[str],
               risk_events_30d: list[str]) -> dict[str, Any]:
    instrument = get_instrument(code)
    result = score(instrument, items, coma=coma, diagnoses=diagnoses, risk_events_30d=risk_events_30d)
    return score_view(instrument, result)


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
        raise Conflict(f"老人档案状态为{ELDER_STATUSES[elder.status]}，不能{action}", current_state=elder.status)


async def create_assessment(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID,
                            fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`fields`: an `AssessmentIn`, dumped."""
    require_role(principal, "assessor")
    # lock the elder so two assessors opening at the same moment queue, and one gets the 409
    elder = await elder_for(session, principal, elder_id, for_update=True)
    _require_active(elder, "新建评估")
    try:
        instrument = get_instrument(fields.get("instrument") or DEFAULT_INSTRUMENT_CODE)
    except NotFound as exc:
        raise Invalid(exc.detail, errors=[FieldError("instrument", exc.detail)]) from None
    content = draft_content(fields)
    previous = await _last_finalised(session, elder.id)
    reason = fields.get("reason") or ("periodic" if previous else "initial")
    errors: list[FieldError] = []
    if reason == "initial" and previous is not None:
        errors.append(FieldError("reason", "该老人已有定稿的评估，复评请选择 periodic 或 condition_changed"))
    if reason != "initial" and previous is None:
        errors.append(FieldError("reason", "该老人还没有定稿的评估，首次评估请选择 initial"))
    validate_draft(instrument, content, more=errors)
    if (open_row := await _open_assessment(session, elder.id)) is not None:
        raise Conflict("这位老人已有一份进行中的评估，请继续完成它", current_state=open_row.state,
                       assessment_id=str(open_row.id))
    row = AssessmentRow(id=uuid.uuid4(), elder_id=elder.id, previous_id=previous.id if previous else None,
                        reason=reason, instrument=instrument.code, instrument_version=instrument.version,
                        state="draft", created_by=principal.user_id, created_at=now, updated_at=now, **content)
    session.add(row)
    await ensure_assignment(session, elder_id=elder.id, assessor_id=principal.user_id, source="assessment",
                            assigned_by=principal.user_id, now=now)
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
    if principal.role in access.HOUSEHOLD and row.state != "finalised":
        raise missing
    return row, elder


async def update_draft(session: AsyncSession, *, principal: Principal, assessment_id: uuid.UUID,
                       fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`fields`: an `AssessmentUpdate`, dumped."""
    require_role(principal, "assessor")
    row, _ = await assessment_for(session, principal, assessment_id, for_update=True)
    if row.state != "draft":
        raise _not_editable(row, "修改")
    content = draft_content(fields)
    validate_draft(get_instrument(row.instrument), content)
    for key, value in content.items():
        setattr(row, key, value)
    row.updated_at = now
    return assessment_view(row)


async def sign_assessment(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal,
                          assessment_id: uuid.UUID, now: datetime) -> dict[str, Any]:
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
        row.state, row.first_assessor_id, row.first_signed_at = "signed", principal.user_id, now
    elif row.first_assessor_id == principal.user_id:
        raise Conflict("同一位评估员不能签名两次，需要另一位评估员复核后签名", current_state=row.state,
                       rule="two_different_assessors", assessment_id=str(row.id))
    else:
        _finalise(session, row, elder, instrument, result, principal, runtime=runtime, now=now)
        await mark_to_review(session, elder_id=elder.id, now=now)  # the plan was made for the old grade
    row.updated_at = now
    await ensure_assignment(session, elder_id=elder.id, assessor_id=principal.user_id, source="assessment",
                            assigned_by=principal.user_id, now=now)
    return assessment_view(row)


def _finalise(session: AsyncSession, row: AssessmentRow, elder: ElderRow, instrument: Instrument,
              result: ScoreResult, principal: Principal, *, runtime: AssessmentRuntime, now: datetime) -> None:
    row.state, row.second_assessor_id, row.finalised_at = "finalised", principal.user_id, now
    row.result = json.loads(json.dumps(score_view(instrument, result), default=str))
    row.total, row.initial_grade, row.grade = result.total, result.initial_grade, result.grade
    row.valid_until = reassessment_due(now, months=runtime.reassessment_months)
    changed = ["last_finalised_at"] + (["grade"] if elder.grade != result.grade else [])
    was_hardship = elder.special_hardship
    elder.grade, elder.last_finalised_at, elder.updated_at = result.grade, now, now
    refresh_hardship(elder)
    if elder.special_hardship != was_hardship:
        changed.append("special_hardship")
    add_event(session, make_event(AssessmentCompleted(
        elder_id=elder.id, assessment_id=row.id, instrument=row.instrument, total=result.total,
        initial_grade=result.initial_grade, grade=result.grade, finalised_at=now.isoformat(),
        special_hardship=elder.special_hardship, grade_name=result.grade_name,
        instrument_version=row.instrument_version, dimensions=result.dimensions, valid_until=row.valid_until,
        district_code=elder.district_code, reason=row.reason, previous_assessment_id=row.previous_id),
        source=runtime.source))
    publish_elder_updated(session, elder, source=runtime.source, changed=changed)


async def list_assessments(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID) -> list[dict[str, Any]]:
    elder = await elder_for(session, principal, elder_id)
    query = sa.select(AssessmentRow).where(AssessmentRow.elder_id == elder.id)
    if principal.role in access.HOUSEHOLD:
        query = query.where(AssessmentRow.state == "finalised")
    rows = await session.execute(query.order_by(AssessmentRow.created_at.desc()))
    return [assessment_view(r) for r in rows.scalars()]


async def read_assessment(session: AsyncSession, *, principal: Principal, assessment_id: uuid.UUID) -> dict[str, Any]:
    row, _ = await assessment_for(session, principal, assessment_id)
    return assessment_view(row)


async def list_reassessments_due(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal,
                                 district_code: str | None, page: int, page_size: int,
                                 now: datetime) -> dict[str, Any]:
    """Active elders never assessed, whose last finalised assessment is `reassessment_months`
    old or older (due and overdue alike), or with an open condition-changed reassessment.
    Most overdue first, never-assessed before all."""
    require_role(principal, "officer", "assessor", "city_officer")
    if principal.role in access.DISTRICT_STAFF and district_code and district_code != principal.district:
        raise Forbidden("只能查看本辖区的待复评名单", errors=[FieldError("district_code", "不是您负责的区县")])
    today, months = local_day(now), runtime.reassessment_months
    last_due_day = latest_finalisation_day_due(today, months=months)
    cutoff = datetime.combine(last_due_day + timedelta(days=1), time(), CITY_TZ)
    condition_changed = (sa.select(AssessmentRow.elder_id)
                         .where(AssessmentRow.state.in_(OPEN_STATES), AssessmentRow.reason == "condition_changed"))
    where = [access.readable_by(principal), ElderRow.status == "active",
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
        due_on = reassessment_due(elder.last_finalised_at, months=months) if elder.last_finalised_at else None
        why = ("never_assessed" if due_on is None else "period_elapsed" if due_on <= today
               else "condition_changed")
        items.append(due_view(elder, due_on=due_on, why=why, open_row=open_rows.get(elder.id)))
    return {"items": items, "total": total, "page": page, "page_size": page_size, "reassessment_months": months}
