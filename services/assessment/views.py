"""Answer builders: a stored row → what people read. Personal fields are masked unless the
caller's `unmasked` says otherwise (`access.unmasked_fields`)."""
from __future__ import annotations

from datetime import date
from typing import Any

from services.assessment.instruments import care_plan, get_instrument
from services.assessment.models import (
    AccessLogRow,
    AssessmentRow,
    AssessorAssignmentRow,
    CarePlanItemRow,
    CarePlanRow,
    ElderRow,
    ElderStatusChangeRow,
    EmergencyContactRow,
    HomeBedDeviceRow,
    HomeBedRow,
    StatusListLineRow,
    StatusListRow,
)
from services.assessment.rules import care_plans as plan_rules
from services.assessment.rules import elders as records
from services.assessment.rules import home_beds as bed_rules
from services.assessment.rules.assessments import STATE_NAMES, WHY_NAMES, ScoreResult
from services.assessment.rules.hardship import reassessment_due, special_hardship_reasons
from services.assessment.rules.idcard import Gender, mask_id_card, mask_phone
from services.assessment.rules.instruments import Instrument
from services.assessment.rules.status_lists import OUTCOMES, explanation, mask_name
from shared.city import DISTRICTS
from shared.errors import NotFound
from shared.pii import PiiCipher


def elder_view(elder: ElderRow, contacts: list[EmergencyContactRow], *, cipher: PiiCipher, today: date,
               reassessment_months: int, unmasked: tuple[str, ...] = ()) -> dict[str, Any]:
    id_card = cipher.decrypt(elder.id_card_cipher)
    phone = cipher.decrypt(elder.phone_cipher)
    shown = [f for f in records.ALL_PII if f in unmasked and (
        f == records.ID_CARD or (f == records.PHONE and phone) or (f == records.CONTACT_PHONES and contacts))]
    contact_phone = (lambda p: p) if records.CONTACT_PHONES in shown else mask_phone
    return {
        "id": elder.id, "name": elder.name, "gender": elder.gender, "gender_name": Gender(elder.gender).zh_name,
        "birth_date": elder.birth_date, "age": records.age_on(elder.birth_date, today),
        "id_card": id_card if records.ID_CARD in shown else mask_id_card(id_card),
        "phone": phone if records.PHONE in shown or not phone else mask_phone(phone),
        "address": elder.address, "lat": elder.lat, "lon": elder.lon,
        "district_code": elder.district_code, "district_name": DISTRICTS[elder.district_code],
        "street": elder.street, "living_situation": elder.living_situation,
        "living_situation_name": records.living_name(elder.living_situation),
        "economic_status": elder.economic_status, "economic_status_name": records.economic_name(elder.economic_status),
        "status": elder.status, "status_name": records.ELDER_STATUSES[elder.status], "status_date": elder.status_date,
        "grade": elder.grade, "last_finalised_at": elder.last_finalised_at,
        "reassessment_due_on": reassessment_due(elder.last_finalised_at, months=reassessment_months)
        if elder.last_finalised_at else None,
        "special_hardship": elder.special_hardship,
        "special_hardship_reasons": special_hardship_reasons(living_situation=elder.living_situation,
                                                             economic_status=elder.economic_status, grade=elder.grade),
        "emergency_contacts": [{"name": c.name, "relation": c.relation,
                                "phone": contact_phone(cipher.decrypt(c.phone_cipher))} for c in contacts],
        "unmasked": shown, "created_at": elder.created_at, "updated_at": elder.updated_at,
    }


def assignment_view(row: AssessorAssignmentRow) -> dict[str, Any]:
    return {"elder_id": row.elder_id, "assessor_id": row.assessor_id, "source": row.source,
            "assigned_by": row.assigned_by, "assigned_at": row.assigned_at}


def access_log_view(row: AccessLogRow) -> dict[str, Any]:
    return {"id": row.id, "at": row.at, "user_id": row.user_id, "role": row.role, "elder_id": row.elder_id,
            "fields": row.fields.split(","), "route": row.route, "request_id": row.request_id}


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


def due_view(elder: ElderRow, *, due_on: date | None, why: str, open_row: AssessmentRow | None) -> dict[str, Any]:
    """One line of the reassessment-due list."""
    return {"elder_id": elder.id, "name": elder.name, "district_code": elder.district_code,
            "street": elder.street, "grade": elder.grade, "last_finalised_at": elder.last_finalised_at,
            "due_on": due_on, "why": why, "why_name": WHY_NAMES[why],
            "open_assessment_id": open_row.id if open_row else None}


def _counts(stored: dict) -> dict[str, int]:
    return {"rows": stored.get("rows", 0), "matched": stored.get("matched", 0)} | {o: stored.get(o, 0) for o in OUTCOMES}


def status_list_summary(row: StatusListRow) -> dict[str, Any]:
    return {"list_id": row.id, "kind": row.kind, "source": row.source, "state": row.state,
            "uploaded_by": row.uploaded_by, "uploaded_at": row.uploaded_at, "applied_by": row.applied_by,
            "applied_at": row.applied_at, "counts": _counts(row.counts), "money_at_stake_fen": row.money_at_stake_fen}


def list_line_view(line: StatusListLineRow, elder_name: str | None) -> dict[str, Any]:
    change = None if line.change_field is None else {
        "field": line.change_field, "from": line.change_from, "to": line.change_to,
        "effective_date": line.effective_date}
    return {"line": line.line, "outcome": line.outcome, "reason": line.reason, "id_card": line.id_card_masked,
            "elder_id": line.elder_id, "elder_name": mask_name(elder_name), "change": change,
            "amount_fen": line.amount_fen}


def status_list_view(row: StatusListRow, lines: list[tuple[StatusListLineRow, str | None]], *, offset: int,
                     limit: int) -> dict[str, Any]:
    """The dry run (or, once applied, the result): counts of the whole list, one page of lines."""
    return status_list_summary(row) | {"offset": offset, "limit": limit,
                                       "rows": [list_line_view(line, name) for line, name in lines]}


def status_change_view(row: ElderStatusChangeRow) -> dict[str, Any]:
    return {"id": row.id, "elder_id": row.elder_id, "list_id": row.list_id, "kind": row.kind, "file": row.file,
            "line": row.line, "field": row.field, "from": row.from_value, "to": row.to_value,
            "effective_date": row.effective_date, "applied_by": row.applied_by, "applied_at": row.applied_at,
            "explanation": explanation(kind=row.kind, field_name=row.field, from_value=row.from_value,
                                       to_value=row.to_value, effective_date=row.effective_date)}


def plan_item_view(item: CarePlanItemRow) -> dict[str, Any]:
    return {"item_id": item.id, "service_code": item.service_code, "provider_id": item.provider_id,
            "frequency": item.frequency, "frequency_zh": plan_rules.describe(item.frequency),
            "duration_min": item.duration_min, "voucher_kind": item.voucher_kind,
            "voucher_kind_name": plan_rules.VOUCHER_KINDS[item.voucher_kind], "unit_price_fen": item.unit_price_fen}


def plan_view(plan: CarePlanRow, items: list[CarePlanItemRow]) -> dict[str, Any]:
    return {"plan_id": plan.id, "elder_id": plan.elder_id, "version": plan.version, "state": plan.state,
            "state_name": plan_rules.STATE_NAMES[plan.state], "kind": plan.kind, "assessment_id": plan.assessment_id,
            "grade": plan.grade, "start_date": plan.start_date, "review_date": plan.review_date,
            "items": [plan_item_view(i) for i in sorted(items, key=lambda i: i.position)], "budget": plan.budget,
            "consent": plan.consent, "created_by": plan.created_by, "created_at": plan.created_at,
            "submitted_at": plan.submitted_at, "activated_at": plan.activated_at, "review_since": plan.review_since,
            "ended_at": plan.ended_at, "end_reason": plan.end_reason, "replaced_by": plan.replaced_by}


def device_view(device: HomeBedDeviceRow) -> dict[str, Any]:
    return {"device_id": device.id, "kind": device.kind, "serial": device.serial, "installed_on": device.installed_on,
            "installed_by": device.installed_by, "recorded_by": device.recorded_by, "recorded_at": device.recorded_at}


def bed_view(bed: HomeBedRow, devices: list[HomeBedDeviceRow], *, missing: list[dict] | None,
             district_code: str | None = None) -> dict[str, Any]:
    """`missing`: what stands between a preparing bed and opening it (None once it is open or closed)."""
    return {"bed_id": bed.id, "elder_id": bed.elder_id, "plan_id": bed.plan_id, "provider_id": bed.provider_id,
            "state": bed.state, "state_name": bed_rules.STATE_NAMES[bed.state],
            "package": {"visits_per_week": bed.package["visits_per_week"],
                        "remote_monitoring": bed.package["remote_monitoring"]},
            "district_code": district_code,
            "waiver": ({"reason": bed.waiver_reason, "by": bed.waived_by, "at": bed.waived_at}
                       if bed.waiver_reason else None),
            "devices": [device_view(d) for d in devices], "missing": missing, "policy_version": bed.policy_version,
            "created_by": bed.created_by, "created_at": bed.created_at, "opened_on": bed.opened_on,
            "closed_on": bed.closed_on, "close_reason": bed.close_reason}
