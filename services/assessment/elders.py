"""Use cases of elder records: register, read (with the access log), update, list, assign
assessors. Each runs inside the one transaction its caller opened; events go through the outbox
in that same transaction. Who sees what is decided in `access.py`, what a record must hold in
`rules/elders.py`.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.assessment import access
from services.assessment.events import ElderRegistered, ElderUpdated, elder_facts
from services.assessment.models import AccessLogRow, AssessorAssignmentRow, ElderRow, EmergencyContactRow
from services.assessment.rules import elders as records
from services.assessment.rules.hardship import special_hardship_reasons
from services.assessment.rules.idcard import validate_phone
from services.assessment.runtime import AssessmentRuntime
from services.assessment.views import access_log_view, assignment_view, elder_view
from shared.auth import Principal, require_role
from shared.city import local_day
from shared.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from shared.events import make_event
from shared.observability import current_request_id
from shared.outbox import add_event
from shared.pii import PiiCipher

# Fields a PATCH may not set to null: the record would stop being a record.
REQUIRED_FIELDS = ("name", "gender", "birth_date", "id_card", "address", "district_code", "living_situation",
                   "economic_status", "status")
PLAIN_FIELDS = ("name", "gender", "birth_date", "address", "lat", "lon", "district_code", "street",
                "living_situation", "economic_status", "status", "status_date")


def not_found() -> NotFound:
    return NotFound("没有找到这位老人的档案，请核对编号", resource="elder")


async def elder_for(session: AsyncSession, principal: Principal, elder_id: uuid.UUID, *,
                    for_update: bool = False) -> ElderRow:
    """The elder if this caller may read them; otherwise 404, as if there were no such elder."""
    require_role(principal, *access.READERS)
    query = sa.select(ElderRow).where(ElderRow.id == elder_id)
    if for_update:
        query = query.with_for_update()
    elder = (await session.execute(query)).scalar_one_or_none()
    if elder is None or not access.can_read(principal, elder_id=str(elder.id), district_code=elder.district_code):
        raise not_found()
    return elder


async def is_assigned(session: AsyncSession, elder_id: uuid.UUID, assessor_id: str) -> bool:
    row = await session.get(AssessorAssignmentRow, (elder_id, assessor_id))
    return row is not None


async def ensure_assignment(session: AsyncSession, *, elder_id: uuid.UUID, assessor_id: str, source: str,
                            assigned_by: str, now: datetime) -> AssessorAssignmentRow:
    row = await session.get(AssessorAssignmentRow, (elder_id, assessor_id))
    if row is None:
        row = AssessorAssignmentRow(elder_id=elder_id, assessor_id=assessor_id, source=source,
                                    assigned_by=assigned_by, assigned_at=now)
        session.add(row)
    return row


async def _contacts(session: AsyncSession, elder_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[EmergencyContactRow]]:
    out: dict[uuid.UUID, list[EmergencyContactRow]] = {i: [] for i in elder_ids}
    if elder_ids:
        rows = await session.execute(sa.select(EmergencyContactRow).where(EmergencyContactRow.elder_id.in_(elder_ids))
                                     .order_by(EmergencyContactRow.position))
        for row in rows.scalars():
            out[row.elder_id].append(row)
    return out


def publish_elder_updated(session: AsyncSession, elder: ElderRow, *, source: str, changed: list[str]) -> None:
    add_event(session, make_event(ElderUpdated(**elder_facts(elder), changed_fields=changed), source=source))


def refresh_hardship(elder: ElderRow) -> None:
    elder.special_hardship = bool(special_hardship_reasons(
        living_situation=elder.living_situation, economic_status=elder.economic_status, grade=elder.grade))


def _view(elder: ElderRow, contacts: list[EmergencyContactRow], runtime: AssessmentRuntime, now: datetime,
          unmasked: tuple[str, ...] = ()) -> dict[str, Any]:
    return elder_view(elder, contacts, cipher=runtime.cipher, today=local_day(now),
                      reassessment_months=runtime.reassessment_months, unmasked=unmasked)


def _validated(facts: records.RecordFacts, now: datetime) -> dict[str, str]:
    normal, errors = records.record_errors(facts, today=local_day(now))
    records.raise_if_invalid(errors)
    return normal


async def _refuse_duplicate_id_card(session: AsyncSession, principal: Principal, index: str,
                                    exclude: uuid.UUID | None = None) -> None:
    query = sa.select(ElderRow.id, ElderRow.district_code).where(ElderRow.id_card_index == index)
    if exclude is not None:
        query = query.where(ElderRow.id != exclude)
    existing = (await session.execute(query)).first()
    if existing is not None:
        # name the existing record only to a caller who may read it: no leak across districts
        visible = access.can_read(principal, elder_id=str(existing.id), district_code=existing.district_code)
        raise Conflict("这个身份证号码已经登记过，请勿重复登记；如需修改请编辑原档案",
                       errors=[FieldError("id_card", "该身份证号码已登记")], reason="duplicate_id_card",
                       existing_elder_id=str(existing.id) if visible else None)


def _set_contacts(session: AsyncSession, elder_id: uuid.UUID, contacts: list[dict], phones: dict[str, str],
                  cipher: PiiCipher) -> list[EmergencyContactRow]:
    rows = [EmergencyContactRow(id=uuid.uuid4(), elder_id=elder_id, position=i, name=c["name"].strip(),
                                relation=c["relation"].strip(),
                                phone_cipher=cipher.encrypt(phones[f"{records.CONTACT_PHONES}.{i}"]))
            for i, c in enumerate(contacts)]
    session.add_all(rows)
    return rows


async def _flush_or_duplicate(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError:
        # a concurrent registration of the same number won the unique index; report it as such
        raise Conflict("这个身份证号码已经登记过，请勿重复登记", errors=[FieldError("id_card", "该身份证号码已登记")],
                       reason="duplicate_id_card") from None


async def register_elder(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal,
                         fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`fields`: an `ElderIn`, dumped."""
    require_role(principal, *access.REGISTRARS)
    cipher = runtime.cipher
    contacts = fields.get("emergency_contacts") or []
    normal = _validated(records.RecordFacts(
        name=fields["name"], gender=fields["gender"], birth_date=fields["birth_date"], id_card=fields["id_card"],
        phone=fields.get("phone"), district_code=fields["district_code"], lat=fields.get("lat"),
        lon=fields.get("lon"), status=fields.get("status", "active"), status_date=fields.get("status_date"),
        contact_phones=tuple(c["phone"] for c in contacts)), now)
    if not access.can_register_in(principal, fields["district_code"]):
        raise Forbidden("只能登记本辖区的老人", errors=[FieldError("district_code", "不是您负责的区县")])
    index = cipher.blind_index(normal[records.ID_CARD])
    await _refuse_duplicate_id_card(session, principal, index)
    phone = normal.get(records.PHONE)
    elder = ElderRow(id=uuid.uuid4(), **{k: fields.get(k) for k in PLAIN_FIELDS if k != "status"},
                     status=fields.get("status", "active"), id_card_cipher=cipher.encrypt(normal[records.ID_CARD]),
                     id_card_index=index, phone_cipher=cipher.encrypt(phone),
                     phone_index=cipher.blind_index(phone) if phone else None, grade=None, last_finalised_at=None,
                     created_by=principal.user_id, created_at=now, updated_at=now)
    elder.name, elder.address = elder.name.strip(), elder.address.strip()
    refresh_hardship(elder)
    session.add(elder)
    await _flush_or_duplicate(session)
    rows = _set_contacts(session, elder.id, contacts, normal, cipher)
    if principal.role == "assessor":
        await ensure_assignment(session, elder_id=elder.id, assessor_id=principal.user_id, source="assessment",
                                assigned_by=principal.user_id, now=now)
    add_event(session, make_event(ElderRegistered(**elder_facts(elder)), source=runtime.source))
    return _view(elder, rows, runtime, now)  # masked: the answer is also kept by the idempotency table


async def read_elder(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal,
                     elder_id: uuid.UUID, route: str, now: datetime) -> dict[str, Any]:
    elder = await elder_for(session, principal, elder_id)
    assigned = principal.role == "assessor" and await is_assigned(session, elder.id, principal.user_id)
    reveal = access.unmasked_fields(principal, district_code=elder.district_code, assigned=assigned)
    view = _view(elder, (await _contacts(session, [elder.id]))[elder.id], runtime, now, reveal)
    if view["unmasked"]:
        session.add(AccessLogRow(id=uuid.uuid4(), at=now, user_id=principal.user_id, role=principal.role,
                                 elder_id=elder.id, fields=",".join(view["unmasked"]), route=route,
                                 request_id=current_request_id()))
    return view


async def update_elder(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal,
                       elder_id: uuid.UUID, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`changes`: the fields an `ElderPatch` set, dumped."""
    cipher = runtime.cipher
    elder = await elder_for(session, principal, elder_id, for_update=True)
    if not access.can_register_in(principal, elder.district_code):
        raise Forbidden("当前账号不能修改老人档案")
    nulls = [FieldError(k, "不能为空") for k in REQUIRED_FIELDS if k in changes and changes[k] is None]
    records.raise_if_invalid(nulls)
    if changes.get("district_code", elder.district_code) != elder.district_code and principal.role not in access.STAFF_ALL:
        raise Forbidden("跨区县迁移请由市级民政部门办理", errors=[FieldError("district_code", "不能改到其他区县")])
    current_contacts = (await _contacts(session, [elder.id]))[elder.id]
    new_contacts = changes.get("emergency_contacts")
    merged = {k: changes.get(k, getattr(elder, k)) for k in PLAIN_FIELDS}
    merged["name"], merged["address"] = merged["name"].strip(), merged["address"].strip()
    if merged["status"] == "active" and "status" in changes and "status_date" not in changes:
        merged["status_date"] = None  # back on the register: the old departure date no longer applies
    id_card = changes.get("id_card") or cipher.decrypt(elder.id_card_cipher)
    phone = changes["phone"] if "phone" in changes else cipher.decrypt(elder.phone_cipher)
    contact_phones = [c["phone"] for c in new_contacts] if new_contacts is not None else []
    normal = _validated(records.RecordFacts(
        name=merged["name"], gender=merged["gender"], birth_date=merged["birth_date"], id_card=id_card, phone=phone,
        district_code=merged["district_code"], lat=merged["lat"], lon=merged["lon"], status=merged["status"],
        status_date=merged["status_date"], contact_phones=tuple(contact_phones)), now)
    changed = [k for k in PLAIN_FIELDS if merged[k] != getattr(elder, k)]
    for key in changed:
        setattr(elder, key, merged[key])
    index = cipher.blind_index(normal[records.ID_CARD])
    if index != elder.id_card_index:
        await _refuse_duplicate_id_card(session, principal, index, exclude=elder.id)
        elder.id_card_cipher, elder.id_card_index = cipher.encrypt(normal[records.ID_CARD]), index
        changed.append("id_card")
    phone_index = cipher.blind_index(normal[records.PHONE]) if normal.get(records.PHONE) else None
    if phone_index != elder.phone_index:
        elder.phone_cipher, elder.phone_index = cipher.encrypt(normal.get(records.PHONE)), phone_index
        changed.append("phone")
    contacts = current_contacts
    if new_contacts is not None and _contacts_differ(current_contacts, new_contacts, normal, cipher):
        for row in current_contacts:
            await session.delete(row)
        contacts = _set_contacts(session, elder.id, new_contacts, normal, cipher)
        changed.append("emergency_contacts")
    was_hardship = elder.special_hardship
    refresh_hardship(elder)
    if elder.special_hardship != was_hardship:
        changed.append("special_hardship")
    if changed:
        elder.updated_at = now
        await _flush_or_duplicate(session)
        publish_elder_updated(session, elder, source=runtime.source, changed=changed)
    if "status" in changed and elder.status != "active":
        # care plans and home beds build on elder records: imported here, not at the top
        from services.assessment.home_beds import end_plans_and_beds  # noqa: PLC0415

        await end_plans_and_beds(session, source=runtime.source, now=now, elder_ids=[elder.id])
    return _view(elder, contacts, runtime, now)


def _contacts_differ(rows: list[EmergencyContactRow], wanted: list[dict], phones: dict[str, str],
                     cipher: PiiCipher) -> bool:
    old = [(r.name, r.relation, cipher.decrypt(r.phone_cipher)) for r in rows]
    new = [(c["name"].strip(), c["relation"].strip(), phones[f"{records.CONTACT_PHONES}.{i}"])
           for i, c in enumerate(wanted)]
    return old != new


def _search(q: str, cipher: PiiCipher) -> sa.ColumnElement[bool]:
    """An 18-character ID number or a mobile number is looked up by its blind index (the plain
    value is in no column); anything else searches the name."""
    text = q.strip()
    if len(text) == 18 and text[:17].isdigit():
        return ElderRow.id_card_index == cipher.blind_index(text.upper())
    try:
        return ElderRow.phone_index == cipher.blind_index(validate_phone(text))
    except Invalid:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return ElderRow.name.like(f"%{escaped}%", escape="\\")


async def list_elders(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal,
                      district_code: str | None, street: str | None, special_hardship: bool | None, q: str | None,
                      page: int, page_size: int, now: datetime) -> dict[str, Any]:
    require_role(principal, *access.READERS)
    where = [access.readable_by(principal)]
    if district_code:
        where.append(ElderRow.district_code == district_code)
    if street:
        where.append(ElderRow.street == street)
    if special_hardship is not None:
        where.append(ElderRow.special_hardship.is_(special_hardship))
    if q and q.strip():
        where.append(_search(q, runtime.cipher))
    total = (await session.execute(sa.select(sa.func.count()).select_from(ElderRow).where(*where))).scalar_one()
    elders = list((await session.execute(sa.select(ElderRow).where(*where)
                                         .order_by(ElderRow.created_at.desc(), ElderRow.id)
                                         .offset((page - 1) * page_size).limit(page_size))).scalars())
    contacts = await _contacts(session, [e.id for e in elders])
    # lists are for finding a record; they stay masked (no bulk disclosure, nothing to log)
    return {"items": [_view(e, contacts[e.id], runtime, now) for e in elders], "total": total, "page": page,
            "page_size": page_size}


async def assign_assessor(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID, assessor_id: str,
                          now: datetime) -> dict[str, Any]:
    require_role(principal, "officer", "city_officer")
    elder = await elder_for(session, principal, elder_id)
    row = await ensure_assignment(session, elder_id=elder.id, assessor_id=assessor_id, source="officer",
                                  assigned_by=principal.user_id, now=now)
    return assignment_view(row)


async def list_assignments(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID) -> list[dict]:
    require_role(principal, "officer", "city_officer", "assessor")
    elder = await elder_for(session, principal, elder_id)
    rows = await session.execute(sa.select(AssessorAssignmentRow).where(AssessorAssignmentRow.elder_id == elder.id)
                                 .order_by(AssessorAssignmentRow.assigned_at))
    return [assignment_view(r) for r in rows.scalars()]


async def list_access_log(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID | None,
                          user_id: str | None, page: int, page_size: int) -> dict[str, Any]:
    if principal.role != "admin":
        raise Forbidden("只有系统管理员可以查看个人信息访问记录")
    where = []
    if elder_id is not None:
        where.append(AccessLogRow.elder_id == elder_id)
    if user_id:
        where.append(AccessLogRow.user_id == user_id)
    total = (await session.execute(sa.select(sa.func.count()).select_from(AccessLogRow).where(*where))).scalar_one()
    rows = await session.execute(sa.select(AccessLogRow).where(*where).order_by(AccessLogRow.at.desc())
                                 .offset((page - 1) * page_size).limit(page_size))
    items = [access_log_view(r) for r in rows.scalars()]
    return {"items": items, "total": total, "page": page, "page_size": page_size}



async def emergency_contacts(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal,
                             elder_id: uuid.UUID, route: str, now: datetime) -> dict[str, Any]:
    """The elder's emergency contacts with their phones in full, for the orders service alone (it
    texts them when the elder raises an emergency alarm, issue 25); every read is in the access log."""
    require_role(principal, "service")
    if (await session.get(ElderRow, elder_id)) is None:
        raise not_found()
    contacts = (await _contacts(session, [elder_id]))[elder_id]
    if contacts:
        session.add(AccessLogRow(id=uuid.uuid4(), at=now, user_id=principal.user_id, role=principal.role,
                                 elder_id=elder_id, fields=records.CONTACT_PHONES, route=route,
                                 request_id=current_request_id()))
    return {"elder_id": str(elder_id),
            "contacts": [{"name": c.name, "relation": c.relation, "phone": runtime.cipher.decrypt(c.phone_cipher)}
                         for c in contacts]}
