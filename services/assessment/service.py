"""Use cases of elder records: register, read (with the access log), update, list, assign
assessors. Each runs inside the one transaction its caller opened; events go through the outbox
in that same transaction. Who sees what is decided in `records.py`.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.assessment import records
from services.assessment.events import ElderRegistered, ElderUpdated
from services.assessment.hardship import (DEFAULT_REASSESSMENT_MONTHS, SHANGHAI, reassessment_due,
                                         special_hardship_reasons)
from services.assessment.idcard import Gender, mask_id_card, mask_phone, validate_phone
from services.assessment.models import AccessLogRow, AssessorAssignmentRow, ElderRow, EmergencyContactRow
from shared.auth import Principal, require_role
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


@dataclass(frozen=True)
class Runtime:
    """What every use case needs besides the session: built per request by the API."""

    cipher: PiiCipher
    source: str
    now: datetime
    reassessment_months: int = DEFAULT_REASSESSMENT_MONTHS

    @property
    def today(self) -> date:
        return self.now.astimezone(SHANGHAI).date()


def not_found() -> NotFound:
    return NotFound("没有找到这位老人的档案，请核对编号", resource="elder")


def parse_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def elder_for(session: AsyncSession, principal: Principal, elder_id: uuid.UUID, *,
                    for_update: bool = False) -> ElderRow:
    """The elder if this caller may read them; otherwise 404, as if there were no such elder."""
    require_role(principal, *records.READERS)
    query = sa.select(ElderRow).where(ElderRow.id == elder_id)
    if for_update:
        query = query.with_for_update()
    elder = (await session.execute(query)).scalar_one_or_none()
    if elder is None or not records.can_read(principal, elder_id=str(elder.id), district_code=elder.district_code):
        raise not_found()
    return elder


def readable_by(principal: Principal) -> sa.ColumnElement[bool]:
    """`records.can_read` as a WHERE clause, for lists."""
    if principal.role in records.STAFF_ALL or principal.role == "service":
        return sa.true()
    if principal.role in records.DISTRICT_STAFF and principal.district:
        return ElderRow.district_code == principal.district
    if principal.role in records.HOUSEHOLD:
        ids = [i for i in (parse_id(x) for x in principal.elder_ids) if i is not None]
        return ElderRow.id.in_(ids) if ids else sa.false()
    return sa.false()


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


def elder_view(elder: ElderRow, contacts: list[EmergencyContactRow], rt: Runtime,
               unmasked: tuple[str, ...] = ()) -> dict[str, Any]:
    id_card = rt.cipher.decrypt(elder.id_card_cipher)
    phone = rt.cipher.decrypt(elder.phone_cipher)
    shown = [f for f in records.ALL_PII if f in unmasked and (
        f == records.ID_CARD or (f == records.PHONE and phone) or (f == records.CONTACT_PHONES and contacts))]
    contact_phone = (lambda p: p) if records.CONTACT_PHONES in shown else mask_phone
    return {
        "id": elder.id, "name": elder.name, "gender": elder.gender, "gender_name": Gender(elder.gender).zh_name,
        "birth_date": elder.birth_date, "age": records.age_on(elder.birth_date, rt.today),
        "id_card": id_card if records.ID_CARD in shown else mask_id_card(id_card),
        "phone": phone if records.PHONE in shown or not phone else mask_phone(phone),
        "address": elder.address, "lat": elder.lat, "lon": elder.lon,
        "district_code": elder.district_code, "district_name": records.TAIZHOU_DISTRICTS[elder.district_code],
        "street": elder.street, "living_situation": elder.living_situation,
        "living_situation_name": records.living_name(elder.living_situation),
        "economic_status": elder.economic_status, "economic_status_name": records.economic_name(elder.economic_status),
        "status": elder.status, "status_name": records.ELDER_STATUSES[elder.status], "status_date": elder.status_date,
        "grade": elder.grade, "last_finalised_at": elder.last_finalised_at,
        "reassessment_due_on": reassessment_due(elder.last_finalised_at, months=rt.reassessment_months)
        if elder.last_finalised_at else None,
        "special_hardship": elder.special_hardship,
        "special_hardship_reasons": special_hardship_reasons(living_situation=elder.living_situation,
                                                             economic_status=elder.economic_status, grade=elder.grade),
        "emergency_contacts": [{"name": c.name, "relation": c.relation,
                                "phone": contact_phone(rt.cipher.decrypt(c.phone_cipher))} for c in contacts],
        "unmasked": shown, "created_at": elder.created_at, "updated_at": elder.updated_at,
    }


def elder_facts(elder: ElderRow) -> dict[str, Any]:
    return {"elder_id": elder.id, "district_code": elder.district_code, "street": elder.street,
            "economic_status": elder.economic_status, "living_situation": elder.living_situation,
            "lat": elder.lat, "lon": elder.lon, "special_hardship": elder.special_hardship, "status": elder.status,
            "grade": elder.grade, "birth_date": elder.birth_date, "name": elder.name, "address": elder.address,
            "status_date": elder.status_date}


def publish_elder_updated(session: AsyncSession, elder: ElderRow, rt: Runtime, changed: list[str]) -> None:
    add_event(session, make_event(ElderUpdated(**elder_facts(elder), changed_fields=changed), source=rt.source))


def refresh_hardship(elder: ElderRow) -> None:
    elder.special_hardship = bool(special_hardship_reasons(
        living_situation=elder.living_situation, economic_status=elder.economic_status, grade=elder.grade))


def _validated(facts: records.RecordFacts, rt: Runtime) -> dict[str, str]:
    normal, errors = records.record_errors(facts, today=rt.today)
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
        visible = records.can_read(principal, elder_id=str(existing.id), district_code=existing.district_code)
        raise Conflict("这个身份证号码已经登记过，请勿重复登记；如需修改请编辑原档案",
                       errors=[FieldError("id_card", "该身份证号码已登记")], reason="duplicate_id_card",
                       existing_elder_id=str(existing.id) if visible else None)


def _set_contacts(session: AsyncSession, elder_id: uuid.UUID, contacts: list[dict], phones: dict[str, str],
                  rt: Runtime) -> list[EmergencyContactRow]:
    rows = [EmergencyContactRow(id=uuid.uuid4(), elder_id=elder_id, position=i, name=c["name"].strip(),
                                relation=c["relation"].strip(),
                                phone_cipher=rt.cipher.encrypt(phones[f"{records.CONTACT_PHONES}.{i}"]))
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


async def register_elder(session: AsyncSession, *, principal: Principal, fields: dict[str, Any],
                         rt: Runtime) -> dict[str, Any]:
    require_role(principal, *records.REGISTRARS)
    contacts = fields.get("emergency_contacts") or []
    normal = _validated(records.RecordFacts(
        name=fields["name"], gender=fields["gender"], birth_date=fields["birth_date"], id_card=fields["id_card"],
        phone=fields.get("phone"), district_code=fields["district_code"], lat=fields.get("lat"),
        lon=fields.get("lon"), status=fields.get("status", "active"), status_date=fields.get("status_date"),
        contact_phones=tuple(c["phone"] for c in contacts)), rt)
    if not records.can_register_in(principal, fields["district_code"]):
        raise Forbidden("只能登记本辖区的老人", errors=[FieldError("district_code", "不是您负责的区县")])
    index = rt.cipher.blind_index(normal[records.ID_CARD])
    await _refuse_duplicate_id_card(session, principal, index)
    phone = normal.get(records.PHONE)
    elder = ElderRow(id=uuid.uuid4(), **{k: fields.get(k) for k in PLAIN_FIELDS if k != "status"},
                     status=fields.get("status", "active"), id_card_cipher=rt.cipher.encrypt(normal[records.ID_CARD]),
                     id_card_index=index, phone_cipher=rt.cipher.encrypt(phone),
                     phone_index=rt.cipher.blind_index(phone) if phone else None, grade=None, last_finalised_at=None,
                     created_by=principal.user_id, created_at=rt.now, updated_at=rt.now)
    elder.name, elder.address = elder.name.strip(), elder.address.strip()
    refresh_hardship(elder)
    session.add(elder)
    await _flush_or_duplicate(session)
    rows = _set_contacts(session, elder.id, contacts, normal, rt)
    if principal.role == "assessor":
        await ensure_assignment(session, elder_id=elder.id, assessor_id=principal.user_id, source="assessment",
                                assigned_by=principal.user_id, now=rt.now)
    add_event(session, make_event(ElderRegistered(**elder_facts(elder)), source=rt.source))
    return elder_view(elder, rows, rt)  # masked: the answer is also kept by the idempotency table


async def read_elder(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID, rt: Runtime,
                     route: str) -> dict[str, Any]:
    elder = await elder_for(session, principal, elder_id)
    assigned = principal.role == "assessor" and await is_assigned(session, elder.id, principal.user_id)
    reveal = records.unmasked_fields(principal, district_code=elder.district_code, assigned=assigned)
    view = elder_view(elder, (await _contacts(session, [elder.id]))[elder.id], rt, reveal)
    if view["unmasked"]:
        session.add(AccessLogRow(id=uuid.uuid4(), at=rt.now, user_id=principal.user_id, role=principal.role,
                                 elder_id=elder.id, fields=",".join(view["unmasked"]), route=route,
                                 request_id=current_request_id()))
    return view


async def update_elder(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID,
                       changes: dict[str, Any], rt: Runtime) -> dict[str, Any]:
    elder = await elder_for(session, principal, elder_id, for_update=True)
    if not records.can_register_in(principal, elder.district_code):
        raise Forbidden("当前账号不能修改老人档案")
    nulls = [FieldError(k, "不能为空") for k in REQUIRED_FIELDS if k in changes and changes[k] is None]
    records.raise_if_invalid(nulls)
    if changes.get("district_code", elder.district_code) != elder.district_code and principal.role not in records.STAFF_ALL:
        raise Forbidden("跨区县迁移请由市级民政部门办理", errors=[FieldError("district_code", "不能改到其他区县")])
    current_contacts = (await _contacts(session, [elder.id]))[elder.id]
    new_contacts = changes.get("emergency_contacts")
    merged = {k: changes.get(k, getattr(elder, k)) for k in PLAIN_FIELDS}
    merged["name"], merged["address"] = merged["name"].strip(), merged["address"].strip()
    if merged["status"] == "active" and "status" in changes and "status_date" not in changes:
        merged["status_date"] = None  # back on the register: the old departure date no longer applies
    id_card = changes.get("id_card") or rt.cipher.decrypt(elder.id_card_cipher)
    phone = changes["phone"] if "phone" in changes else rt.cipher.decrypt(elder.phone_cipher)
    contact_phones = [c["phone"] for c in new_contacts] if new_contacts is not None else []
    normal = _validated(records.RecordFacts(
        name=merged["name"], gender=merged["gender"], birth_date=merged["birth_date"], id_card=id_card, phone=phone,
        district_code=merged["district_code"], lat=merged["lat"], lon=merged["lon"], status=merged["status"],
        status_date=merged["status_date"], contact_phones=tuple(contact_phones)), rt)
    changed = [k for k in PLAIN_FIELDS if merged[k] != getattr(elder, k)]
    for key in changed:
        setattr(elder, key, merged[key])
    index = rt.cipher.blind_index(normal[records.ID_CARD])
    if index != elder.id_card_index:
        await _refuse_duplicate_id_card(session, principal, index, exclude=elder.id)
        elder.id_card_cipher, elder.id_card_index = rt.cipher.encrypt(normal[records.ID_CARD]), index
        changed.append("id_card")
    phone_index = rt.cipher.blind_index(normal[records.PHONE]) if normal.get(records.PHONE) else None
    if phone_index != elder.phone_index:
        elder.phone_cipher, elder.phone_index = rt.cipher.encrypt(normal.get(records.PHONE)), phone_index
        changed.append("phone")
    contacts = current_contacts
    if new_contacts is not None and _contacts_differ(current_contacts, new_contacts, normal, rt):
        for row in current_contacts:
            await session.delete(row)
        contacts = _set_contacts(session, elder.id, new_contacts, normal, rt)
        changed.append("emergency_contacts")
    was_hardship = elder.special_hardship
    refresh_hardship(elder)
    if elder.special_hardship != was_hardship:
        changed.append("special_hardship")
    if changed:
        elder.updated_at = rt.now
        await _flush_or_duplicate(session)
        publish_elder_updated(session, elder, rt, changed)
    return elder_view(elder, contacts, rt)


def _contacts_differ(rows: list[EmergencyContactRow], wanted: list[dict], phones: dict[str, str], rt: Runtime) -> bool:
    old = [(r.name, r.relation, rt.cipher.decrypt(r.phone_cipher)) for r in rows]
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


async def list_elders(session: AsyncSession, *, principal: Principal, rt: Runtime, district_code: str | None,
                      street: str | None, special_hardship: bool | None, q: str | None, page: int,
                      page_size: int) -> dict[str, Any]:
    require_role(principal, *records.READERS)
    where = [readable_by(principal)]
    if district_code:
        where.append(ElderRow.district_code == district_code)
    if street:
        where.append(ElderRow.street == street)
    if special_hardship is not None:
        where.append(ElderRow.special_hardship.is_(special_hardship))
    if q and q.strip():
        where.append(_search(q, rt.cipher))
    total = (await session.execute(sa.select(sa.func.count()).select_from(ElderRow).where(*where))).scalar_one()
    elders = list((await session.execute(sa.select(ElderRow).where(*where)
                                         .order_by(ElderRow.created_at.desc(), ElderRow.id)
                                         .offset((page - 1) * page_size).limit(page_size))).scalars())
    contacts = await _contacts(session, [e.id for e in elders])
    # lists are for finding a record; they stay masked (no bulk disclosure, nothing to log)
    return {"items": [elder_view(e, contacts[e.id], rt) for e in elders], "total": total, "page": page,
            "page_size": page_size}


async def assign_assessor(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID, assessor_id: str,
                          rt: Runtime) -> dict[str, Any]:
    require_role(principal, "officer", "city_officer")
    elder = await elder_for(session, principal, elder_id)
    row = await ensure_assignment(session, elder_id=elder.id, assessor_id=assessor_id, source="officer",
                                  assigned_by=principal.user_id, now=rt.now)
    return assignment_view(row)


async def list_assignments(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID) -> list[dict]:
    require_role(principal, "officer", "city_officer", "assessor")
    elder = await elder_for(session, principal, elder_id)
    rows = await session.execute(sa.select(AssessorAssignmentRow).where(AssessorAssignmentRow.elder_id == elder.id)
                                 .order_by(AssessorAssignmentRow.assigned_at))
    return [assignment_view(r) for r in rows.scalars()]


def assignment_view(row: AssessorAssignmentRow) -> dict[str, Any]:
    return {"elder_id": row.elder_id, "assessor_id": row.assessor_id, "source": row.source,
            "assigned_by": row.assigned_by, "assigned_at": row.assigned_at}


async def access_log(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID | None,
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
    items = [{"id": r.id, "at": r.at, "user_id": r.user_id, "role": r.role, "elder_id": r.elder_id,
              "fields": r.fields.split(","), "route": r.route, "request_id": r.request_id} for r in rows.scalars()]
    return {"items": items, "total": total, "page": page, "page_size": page_size}

