"""Institutional stays (issue 22): applications, admission into a reserved bed, leave and return,
transfer, discharge; the end of a stay at the elder's death is in `departure.py`.

Beds are the providers service's. This flow asks it synchronously (`ServiceClient`), because the
last free bed must go to exactly one applicant and only the bed's owner can decide that at once:
`POST /beds/{id}/reserve {application_id}` on accepting (409 when not free; idempotent per
application), `GET /providers/{id}/bed-rates` at admission and transfer (the daily rate carried in
the events, so vouchers prices bed days without asking), `POST /beds/{id}/occupy {stay_id}`,
`POST /beds/{id}/release {application_id | stay_id}`.

**The remote call happens inside the use case, before the local write**, like the voucher hold in
placement: the use case's transaction is open and the application or stay row locked, providers
answers, then the row is written. If the local write then fails (a constraint, a lost
connection, a bed that does not fit the application), the bed is given back (`in_transaction`
runs the compensations) before the error goes out. Releases that follow a committed end
(discharge, decline, the bed left by a transfer) run once the transaction has committed, best
effort (`OrdersRuntime.release_bed` logs what to release by hand).

Use cases take the session and a `Beds` (the providers calls with their compensations);
`in_transaction` opens the one transaction around them for the routes.
"""
from __future__ import annotations

import functools
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import (
    application_scope,
    load_application,
    load_stay,
    require_desk,
    require_elder_access,
    require_elder_district,
    require_stay_reader,
    stay_scope,
)
from services.orders.elders import ensure_elder
from services.orders.events import StayAdmitted, StayEnded, StayLeft, StayReturned, StayTransferred, publish
from services.orders.models import ElderRow, StayApplicationRow, StayMovementRow, StayRow
from services.orders.rules.stays import (
    APPLICATION_NAMES,
    CARE_LEVELS,
    StayCommand,
    StayDates,
    StayPolicy,
    StayStatus,
    check_application,
    check_leave,
    check_move,
    check_return,
    next_status,
    policy_from,
    policy_on,
)
from services.orders.runtime import OrdersRuntime
from services.orders.views import application_answer, stay_answer
from shared.auth import Principal
from shared.errors import Conflict, Invalid, invalid_field

log = logging.getLogger("youfu.orders.stays")
POLICY_FILE = Path(__file__).with_name("stay_policy.json")
T = TypeVar("T")


@functools.cache
def stay_policies() -> tuple[StayPolicy, ...]:
    """The versions of the stay policy data, read once per process."""
    return tuple(policy_from(json.loads(POLICY_FILE.read_text(encoding="utf-8"))))


def stay_policy(day: date) -> StayPolicy:
    return policy_on(list(stay_policies()), day)


# ---- the providers calls and their compensations ---------------------------------------------


@dataclass
class Beds:
    """The bed calls of one use case: what to give back if its transaction does not commit
    (`undo`), and what to release once it has (`after`)."""

    rt: OrdersRuntime
    undo: list[tuple[uuid.UUID, dict[str, uuid.UUID]]] = field(default_factory=list)
    after: list[tuple[uuid.UUID, dict[str, uuid.UUID]]] = field(default_factory=list)

    async def reserve(self, bed_id: uuid.UUID, application_id: uuid.UUID) -> dict:
        answer = await self.rt.client("providers").post(
            f"/beds/{bed_id}/reserve", json={"application_id": str(application_id)},
            idempotency_key=f"reserve:{bed_id}:{application_id}")
        self.undo.append((bed_id, {"application_id": application_id}))
        return answer or {}

    async def occupy(self, bed_id: uuid.UUID, stay_id: uuid.UUID, application_id: uuid.UUID | None = None) -> dict:
        body = {"stay_id": str(stay_id)} | ({"application_id": str(application_id)} if application_id else {})
        answer = await self.rt.client("providers").post(
            f"/beds/{bed_id}/occupy", json=body, idempotency_key=f"occupy:{bed_id}:{stay_id}")
        self.undo.append((bed_id, {"stay_id": stay_id}))
        return answer or {}

    async def daily_rate(self, provider_id: uuid.UUID, care_level: str) -> int:
        rates = await self.rt.client("providers").get(f"/providers/{provider_id}/bed-rates")
        if isinstance(rates, dict):
            rates = rates.get("rates") or []
        for rate in rates or []:
            if rate.get("care_level") == care_level:
                return int(rate["daily_rate_fen"])
        raise Conflict(f"该机构尚未设置「{CARE_LEVELS.get(care_level, care_level)}」床位的日收费标准，请先在床位管理中设置",
                       provider_id=str(provider_id), care_level=care_level)

    def release_after_commit(self, bed_id: uuid.UUID, **holder: uuid.UUID) -> None:
        self.after.append((bed_id, holder))


async def in_transaction(rt: OrdersRuntime, work: Callable[[AsyncSession, Beds], Awaitable[T]]) -> T:
    """The one transaction of a bed-calling use case: on failure the beds it took are given back
    (the compensation), after the commit the beds it left are released."""
    beds = Beds(rt)
    try:
        async with rt.db.transaction() as session:
            result = await work(session, beds)
    except BaseException:
        for bed_id, holder in reversed(beds.undo):
            await rt.release_bed(bed_id, **holder)
        raise
    for bed_id, holder in beds.after:
        await rt.release_bed(bed_id, **holder)
    return result


def _check_bed(bed: dict, *, provider_id: uuid.UUID | None, care_level: str | None) -> None:
    """The reserved bed fits: the institution's own (when it must be), of the care level asked."""
    if provider_id is not None and bed.get("provider_id") and bed["provider_id"] != str(provider_id):
        raise invalid_field("bed_id", "该床位不属于本机构")
    if care_level is not None and bed.get("care_level") and bed["care_level"] != care_level:
        raise invalid_field("bed_id", "床位的照护等级与申请不符",
                            f"该床位为「{CARE_LEVELS.get(bed['care_level'], bed['care_level'])}」，"
                            f"申请的是「{CARE_LEVELS.get(care_level, care_level)}」")


# ---- applications -----------------------------------------------------------------------------


async def apply_for_stay(session: AsyncSession, *, rt: OrdersRuntime, principal: Principal, elder_id: uuid.UUID,
                         provider_id: uuid.UUID, care_level: str, kind: str, planned_start: date,
                         planned_end: date | None, note: str, now: datetime) -> dict:
    require_elder_access(principal, elder_id)
    elder = await ensure_elder(rt, elder_id)
    require_elder_district(principal, elder)
    if elder.status != "active":
        raise Invalid(f"该老人的档案状态为「{elder.status}」，不能申请入住", elder_status=elder.status)
    check_application(kind, care_level, planned_start, planned_end, stay_policy(planned_start))
    row = StayApplicationRow(id=uuid.uuid4(), elder_id=elder_id, district_code=elder.district_code,
                             provider_id=provider_id, care_level=care_level, kind=kind, planned_start=planned_start,
                             planned_end=planned_end, note=note, status="submitted", applied_by=principal.user_id,
                             applied_by_role=principal.role, created_at=now, updated_at=now)
    session.add(row)
    return application_answer(row)


def _application_status(row: StayApplicationRow, *allowed: str) -> None:
    if row.status not in allowed:
        raise Conflict(f"入住申请状态为「{APPLICATION_NAMES.get(row.status, row.status)}」，不能办理",
                       application_status=row.status)


async def accept_application(session: AsyncSession, *, beds: Beds, principal: Principal,
                             application_id: uuid.UUID, bed_id: uuid.UUID, now: datetime) -> dict:
    """The desk accepts with a bed: providers reserves it for the application (409 when it is not
    free), then the application is written. Accepting again moves the reservation."""
    require_desk(principal)
    row = await load_application(session, principal, application_id, lock=True)
    _application_status(row, "submitted", "accepted")
    bed = await beds.reserve(bed_id, row.id)
    _check_bed(bed, provider_id=row.provider_id, care_level=row.care_level)
    if row.bed_id is not None and row.bed_id != bed_id:
        beds.release_after_commit(row.bed_id, application_id=row.id)
    row.status, row.bed_id, row.updated_at = "accepted", bed_id, now
    await session.flush()
    return application_answer(row)


async def decline_application(session: AsyncSession, *, beds: Beds, principal: Principal,
                              application_id: uuid.UUID, reason: str, now: datetime) -> dict:
    require_desk(principal)
    row = await load_application(session, principal, application_id, lock=True)
    _application_status(row, "submitted", "accepted")
    if row.bed_id is not None:
        beds.release_after_commit(row.bed_id, application_id=row.id)
    row.status, row.decline_reason, row.updated_at = "declined", reason, now
    return application_answer(row)


async def _elder_name(session: AsyncSession, elder_id: uuid.UUID) -> str | None:
    # the desk hands over a bed to a person: the name from this service's elder copy
    return (await session.execute(sa.select(ElderRow.name).where(ElderRow.elder_id == elder_id))).scalar_one_or_none()


async def read_application(session: AsyncSession, *, principal: Principal, application_id: uuid.UUID) -> dict:
    row = await load_application(session, principal, application_id)
    return application_answer(row, elder_name=await _elder_name(session, row.elder_id))


async def list_applications(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID | None,
                            provider_id: uuid.UUID | None, status: str | None, limit: int, offset: int) -> list[dict]:
    require_stay_reader(principal)
    query = (sa.select(StayApplicationRow, ElderRow.name)
             .outerjoin(ElderRow, ElderRow.elder_id == StayApplicationRow.elder_id).where(application_scope(principal)))
    for column, value in ((StayApplicationRow.elder_id, elder_id), (StayApplicationRow.provider_id, provider_id),
                          (StayApplicationRow.status, status)):
        if value is not None:
            query = query.where(column == value)
    query = query.order_by(StayApplicationRow.created_at.desc(), StayApplicationRow.id).limit(limit).offset(offset)
    return [application_answer(r, elder_name=name) for r, name in (await session.execute(query)).all()]


# ---- stays ------------------------------------------------------------------------------------


def stay_dates(row: StayRow) -> StayDates:
    return StayDates(admitted_on=row.admitted_on, since=row.since, planned_end=row.planned_end)


def stay_ref(row: StayRow, on: date) -> dict:
    """The fields every stay event carries (`events.StayRef`)."""
    return {"stay_id": row.id, "elder_id": row.elder_id, "application_id": row.application_id,
            "provider_id": row.provider_id, "bed_id": row.bed_id, "care_level": row.care_level,
            "daily_rate_fen": row.daily_rate_fen, "kind": row.kind, "district_code": row.district_code,
            "on": on.isoformat()}


def _movement(row: StayRow, kind: str, on: date, principal_id: str, now: datetime, **extra) -> StayMovementRow:
    return StayMovementRow(id=uuid.uuid4(), stay_id=row.id, kind=kind, on=on, provider_id=row.provider_id,
                           bed_id=row.bed_id, daily_rate_fen=row.daily_rate_fen, recorded_by=principal_id,
                           created_at=now, **extra)


async def open_stay_of(session: AsyncSession, elder_id: uuid.UUID, *, lock: bool = False) -> StayRow | None:
    query = sa.select(StayRow).where(StayRow.elder_id == elder_id, StayRow.ended_on.is_(None))
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def _already_staying(stay: StayRow) -> Conflict:
    return Conflict(f"该老人已有未结束的入住（入住记录 {stay.id}，{stay.admitted_on} 起），请先办理出院",
                    stay_id=str(stay.id))


async def admit(session: AsyncSession, *, beds: Beds, principal: Principal, application_id: uuid.UUID,
                admitted_on: date, now: datetime) -> dict:
    """The elder moves into the bed reserved for the application: the daily rate and the
    occupation from providers (409 when the bed is occupied), then the stay. One open stay per
    elder: checked first, and held by the unique partial index when two admissions race."""
    require_desk(principal)
    app = await load_application(session, principal, application_id, lock=True)
    _application_status(app, "accepted")
    if app.planned_end is not None and admitted_on > app.planned_end:
        raise invalid_field("admitted_on", "入住日期晚于短期喘息的计划结束日期")
    current = await open_stay_of(session, app.elder_id)
    if current is not None:
        raise _already_staying(current)
    rate = await beds.daily_rate(app.provider_id, app.care_level)
    stay_id = uuid.uuid4()
    bed = await beds.occupy(app.bed_id, stay_id, app.id)
    row = StayRow(id=stay_id, application_id=app.id, elder_id=app.elder_id, district_code=app.district_code,
                  provider_id=app.provider_id, provider_name=bed.get("provider_name"), bed_id=app.bed_id,
                  care_level=app.care_level, kind=app.kind, daily_rate_fen=rate, status=StayStatus.ADMITTED.value,
                  admitted_on=admitted_on, planned_end=app.planned_end, since=admitted_on, created_at=now,
                  updated_at=now)
    app.status, app.updated_at = "admitted", now
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent admission of the same elder won
        raise Conflict("该老人已有未结束的入住，请先办理出院", elder_id=str(app.elder_id)) from None
    session.add(_movement(row, "admitted", admitted_on, principal.user_id, now))
    publish(session, StayAdmitted(**stay_ref(row, admitted_on),
                                  planned_end=row.planned_end.isoformat() if row.planned_end else None))
    return stay_answer(row)


async def _desk_stay(session: AsyncSession, principal: Principal, stay_id: uuid.UUID) -> StayRow:
    require_desk(principal)
    return await load_stay(session, principal, stay_id, lock=True)


async def leave(session: AsyncSession, *, principal: Principal, stay_id: uuid.UUID, kind: str, leave_from: date,
                leave_to: date, now: datetime) -> dict:
    row = await _desk_stay(session, principal, stay_id)
    status = next_status(row.status, StayCommand.LEAVE)
    check_leave(stay_dates(row), leave_from, leave_to)
    row.status, row.leave_kind, row.leave_from, row.leave_to, row.updated_at = (
        status.value, kind, leave_from, leave_to, now)
    session.add(_movement(row, "left", leave_from, principal.user_id, now, leave_kind=kind, leave_to=leave_to))
    publish(session, StayLeft(**stay_ref(row, leave_from), leave_from=leave_from.isoformat(),
                              leave_to=leave_to.isoformat(), leave_kind=kind))
    return stay_answer(row)


async def return_from_leave(session: AsyncSession, *, principal: Principal, stay_id: uuid.UUID, on: date,
                            now: datetime) -> dict:
    row = await _desk_stay(session, principal, stay_id)
    status = next_status(row.status, StayCommand.RETURN)
    check_return(row.leave_from, on)
    row.status, row.since, row.updated_at = status.value, on, now
    row.leave_kind = row.leave_from = row.leave_to = None
    session.add(_movement(row, "returned", on, principal.user_id, now))
    publish(session, StayReturned(**stay_ref(row, on)))
    return stay_answer(row)


async def transfer(session: AsyncSession, *, beds: Beds, principal: Principal, stay_id: uuid.UUID,
                   bed_id: uuid.UUID, on: date, now: datetime) -> dict:
    """To another bed of this or another institution: providers reserves and occupies the new bed
    (the new institution's rate for the bed's care level), the stay moves, and the bed left is
    released once committed."""
    row = await _desk_stay(session, principal, stay_id)
    status = next_status(row.status, StayCommand.TRANSFER)
    check_move(stay_dates(row), on, "转床")
    if bed_id == row.bed_id:
        raise invalid_field("bed_id", "老人已在该床位")
    bed = await beds.reserve(bed_id, row.application_id)
    if not bed.get("provider_id"):
        raise invalid_field("bed_id", "服务商服务未返回床位所属机构")
    provider_id, care_level = uuid.UUID(bed["provider_id"]), bed.get("care_level") or row.care_level
    rate = await beds.daily_rate(provider_id, care_level)
    occupied = await beds.occupy(bed_id, row.id, row.application_id)
    left = {"from_provider_id": row.provider_id, "from_bed_id": row.bed_id, "from_daily_rate_fen": row.daily_rate_fen}
    beds.release_after_commit(row.bed_id, stay_id=row.id)
    row.provider_id, row.bed_id, row.care_level, row.daily_rate_fen = provider_id, bed_id, care_level, rate
    row.provider_name = occupied.get("provider_name") or bed.get("provider_name") or row.provider_name
    row.status, row.since, row.updated_at = status.value, on, now
    session.add(_movement(row, "transferred", on, principal.user_id, now))
    publish(session, StayTransferred(**stay_ref(row, on), **left))
    await session.flush()
    return stay_answer(row)


def end_stay(session: AsyncSession, row: StayRow, *, status: StayStatus, on: date, reason: str, by: str,
             now: datetime) -> None:
    """Close an open stay (discharge or death): the end, its movement, `stay.ended`."""
    row.status, row.ended_on, row.end_reason, row.updated_at = status.value, on, reason, now
    row.leave_kind = row.leave_from = row.leave_to = None
    session.add(_movement(row, "ended", on, by, now, reason=reason))
    publish(session, StayEnded(**stay_ref(row, on), reason=reason, status=status.value))


async def discharge(session: AsyncSession, *, beds: Beds, principal: Principal, stay_id: uuid.UUID, on: date,
                    reason: str, now: datetime) -> dict:
    row = await _desk_stay(session, principal, stay_id)
    status = next_status(row.status, StayCommand.DISCHARGE)
    check_move(stay_dates(row), on, "出院")
    end_stay(session, row, status=status, on=on, reason=reason, by=principal.user_id, now=now)
    beds.release_after_commit(row.bed_id, stay_id=row.id)
    return stay_answer(row)


async def read_stay(session: AsyncSession, *, principal: Principal, stay_id: uuid.UUID) -> dict:
    row = await load_stay(session, principal, stay_id)
    movements = list((await session.execute(sa.select(StayMovementRow).where(StayMovementRow.stay_id == row.id)
                                            .order_by(StayMovementRow.created_at))).scalars())
    return stay_answer(row, movements, elder_name=await _elder_name(session, row.elder_id))


async def list_stays(session: AsyncSession, *, principal: Principal, elder_id: uuid.UUID | None,
                     provider_id: uuid.UUID | None, status: str | None, open_only: bool, limit: int,
                     offset: int) -> list[dict]:
    require_stay_reader(principal)
    query = sa.select(StayRow, ElderRow.name).outerjoin(ElderRow, ElderRow.elder_id == StayRow.elder_id).where(
        stay_scope(principal))
    for column, value in ((StayRow.elder_id, elder_id), (StayRow.provider_id, provider_id), (StayRow.status, status)):
        if value is not None:
            query = query.where(column == value)
    if open_only:
        query = query.where(StayRow.ended_on.is_(None))
    query = query.order_by(StayRow.admitted_on.desc(), StayRow.id).limit(limit).offset(offset)
    return [stay_answer(r, elder_name=name) for r, name in (await session.execute(query)).all()]
