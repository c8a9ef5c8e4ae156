"""Use cases of 家庭养老床位 (home beds): set one up (a bed `preparing` with its `home_bed` plan),
record devices, waive the adaptation order, open (409 listing what is missing), close, list;
and what the consumer keeps: the completed 适老化改造 orders. Each runs inside its caller's
transaction. Eligibility and prerequisites are the pure rules of `rules/home_beds.py`, from the
versioned policy data `home_beds.json`.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.assessment import access
from services.assessment.care_plans import DEPARTURE_REASONS, departed_elders, end_for_departures, new_plan
from services.assessment.elders import elder_for
from services.assessment.events import HomeBedClosed, HomeBedOpened
from services.assessment.instruments import home_bed_policy
from services.assessment.models import ElderRow, HomeAdaptationRow, HomeBedDeviceRow, HomeBedRow
from services.assessment.rules import home_beds as rules
from services.assessment.rules.elders import age_on
from services.assessment.runtime import AssessmentRuntime
from services.assessment.views import bed_view
from shared.auth import Principal, require_role
from shared.city import local_day
from shared.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from shared.events import make_event
from shared.outbox import add_event

ADAPTATION_CODE = "home_adaptation"


def _missing_bed() -> NotFound:
    return NotFound("没有找到这张家庭养老床位，请核对编号", resource="home_bed")


async def _devices(session: AsyncSession, bed_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[HomeBedDeviceRow]]:
    out: dict[uuid.UUID, list[HomeBedDeviceRow]] = {i: [] for i in bed_ids}
    if bed_ids:
        rows = await session.execute(sa.select(HomeBedDeviceRow).where(HomeBedDeviceRow.bed_id.in_(bed_ids))
                                     .order_by(HomeBedDeviceRow.recorded_at))
        for row in rows.scalars():
            out[row.bed_id].append(row)
    return out


async def _adapted(session: AsyncSession, elder_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    if not elder_ids:
        return set()
    rows = await session.execute(sa.select(HomeAdaptationRow.elder_id).where(HomeAdaptationRow.elder_id.in_(elder_ids)))
    return set(rows.scalars())


def _eligibility(elder: ElderRow, today: date) -> rules.Eligibility:
    return rules.eligibility(home_bed_policy(), grade=elder.grade, living_situation=elder.living_situation,
                             age=age_on(elder.birth_date, today))


def _missing(bed: HomeBedRow, elder: ElderRow, devices: int, adapted: bool, today: date,
             anchor_ok: bool) -> list[dict]:
    return rules.missing_prerequisites(adaptation_done=adapted, waived=bed.waiver_reason is not None, devices=devices,
                                       eligible=_eligibility(elder, today).eligible, anchor_ok=anchor_ok)


async def _view(session: AsyncSession, bed: HomeBedRow, elder: ElderRow, now: datetime) -> dict[str, Any]:
    devices = (await _devices(session, [bed.id]))[bed.id]
    missing = None
    if bed.state == "preparing":
        # the anchor is checked against providers when opening; listed here as it was when set up
        missing = _missing(bed, elder, len(devices), bool(await _adapted(session, [elder.id])), local_day(now),
                           anchor_ok=bool(bed.package.get("anchor_ok", True)))
    return bed_view(bed, devices, missing=missing, district_code=elder.district_code)


async def _anchor_ok(runtime: AssessmentRuntime, provider_id: str) -> bool | None:
    """Whether the provider may anchor a home bed (an approved institution or home-care centre);
    None when providers does not know it."""
    provider = await runtime.provider(provider_id)
    if provider is None:
        return None
    return rules.anchor_ok(home_bed_policy(), kind=provider.get("kind"), status=provider.get("status"))


async def create_bed(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal,
                     elder_id: uuid.UUID, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`fields`: a `HomeBedIn`, dumped. The bed starts `preparing` with a `home_bed` plan drafted
    like any plan (explicit items, or the policy table's for the grade with the anchoring provider)."""
    require_role(principal, *access.PLAN_AUTHORS)  # before asking providers anything
    rules.raise_if_invalid(rules.package_errors(fields["package"]))
    provider_id = str(fields["provider_id"])
    anchor = await _anchor_ok(runtime, provider_id)
    if anchor is None:
        raise Invalid("家庭养老床位信息填写有误", errors=[FieldError("provider_id", "没有这家服务商")])
    plan_fields = {"items": fields.get("items"), "start_date": fields.get("start_date"),
                   "providers": fields.get("providers"), "default_provider": provider_id}
    plan = await new_plan(session, runtime=runtime, principal=principal, elder_id=elder_id, fields=plan_fields,
                          now=now, kind="home_bed")
    if (await session.execute(sa.select(HomeBedRow.id).where(HomeBedRow.elder_id == plan.elder_id,
                                                             HomeBedRow.state.in_(("preparing", "open"))))).first():
        raise Conflict("这位老人已有一张筹备中或已开的家庭养老床位", reason="bed_exists")
    elder = await session.get(ElderRow, plan.elder_id)
    package = {"visits_per_week": fields["package"]["visits_per_week"],
               "remote_monitoring": fields["package"]["remote_monitoring"], "anchor_ok": anchor}
    bed = HomeBedRow(id=uuid.uuid4(), elder_id=plan.elder_id, plan_id=plan.id, provider_id=uuid.UUID(provider_id),
                     state="preparing", package=package, created_by=principal.user_id, created_at=now)
    session.add(bed)
    await session.flush()
    return await _view(session, bed, elder, now)


async def bed_for(session: AsyncSession, principal: Principal, bed_id: uuid.UUID, *,
                  for_update: bool = False) -> tuple[HomeBedRow, ElderRow]:
    query = sa.select(HomeBedRow).where(HomeBedRow.id == bed_id)
    bed = (await session.execute(query.with_for_update() if for_update else query)).scalar_one_or_none()
    if bed is None:
        raise _missing_bed()
    if principal.role == "provider_admin":
        if principal.provider_id != str(bed.provider_id):
            raise _missing_bed()
        elder = await session.get(ElderRow, bed.elder_id)
        return bed, elder
    try:
        elder = await elder_for(session, principal, bed.elder_id, for_update=for_update)
    except NotFound:
        raise _missing_bed() from None
    return bed, elder


def _require_officer(principal: Principal, elder: ElderRow, what: str) -> None:
    if not access.is_plan_officer(principal, district_code=elder.district_code):
        raise Forbidden(f"只有所在区县的民政工作人员或市级民政可以{what}")


async def read_bed(session: AsyncSession, *, principal: Principal, bed_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    bed, elder = await bed_for(session, principal, bed_id)
    return await _view(session, bed, elder, now)


async def add_device(session: AsyncSession, *, principal: Principal, bed_id: uuid.UUID, fields: dict[str, Any],
                     now: datetime) -> dict[str, Any]:
    """`fields`: a `DeviceIn`, dumped."""
    require_role(principal, "provider_admin", *access.PLAN_OFFICERS)
    bed, elder = await bed_for(session, principal, bed_id, for_update=True)
    if principal.role != "provider_admin":
        _require_officer(principal, elder, "登记床位设备")
    rules.raise_if_invalid(rules.device_errors(home_bed_policy(), fields["kind"]))
    if bed.state == "closed":
        rules.require_state(bed.state, "preparing", "登记设备")
    if fields["installed_on"] > local_day(now):
        raise Invalid("家庭养老床位信息填写有误", errors=[FieldError("installed_on", "安装日期不能晚于今天")])
    exists = (await session.execute(sa.select(HomeBedDeviceRow.id).where(
        HomeBedDeviceRow.bed_id == bed.id, HomeBedDeviceRow.kind == fields["kind"],
        HomeBedDeviceRow.serial == fields["serial"]))).first()
    if exists is None:
        session.add(HomeBedDeviceRow(id=uuid.uuid4(), bed_id=bed.id, kind=fields["kind"], serial=fields["serial"],
                                     installed_on=fields["installed_on"], installed_by=fields["installed_by"],
                                     recorded_by=principal.user_id, recorded_at=now))
        await session.flush()
    return await _view(session, bed, elder, now)


async def waive_adaptation(session: AsyncSession, *, principal: Principal, bed_id: uuid.UUID, reason: str,
                           now: datetime) -> dict[str, Any]:
    require_role(principal, *access.PLAN_OFFICERS)
    bed, elder = await bed_for(session, principal, bed_id, for_update=True)
    _require_officer(principal, elder, "登记免于适老化改造")
    rules.require_state(bed.state, "preparing", "登记免于改造")
    bed.waiver_reason, bed.waived_by, bed.waived_at = reason, principal.user_id, now
    await session.flush()
    return await _view(session, bed, elder, now)


async def open_bed(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal, bed_id: uuid.UUID,
                   now: datetime) -> dict[str, Any]:
    """preparing → open, when every prerequisite holds; otherwise 409 listing what is missing."""
    require_role(principal, *access.PLAN_OFFICERS)
    bed, elder = await bed_for(session, principal, bed_id, for_update=True)
    _require_officer(principal, elder, "开设家庭养老床位")
    rules.require_state(bed.state, "preparing", "开床")
    today = local_day(now)
    anchor = bool(await _anchor_ok(runtime, str(bed.provider_id)))
    devices = (await _devices(session, [bed.id]))[bed.id]
    missing = _missing(bed, elder, len(devices), bool(await _adapted(session, [elder.id])), today, anchor_ok=anchor)
    if missing:
        raise Conflict("家庭养老床位还不能开设：" + "；".join(m["reason"] for m in missing), missing=missing,
                       reason="prerequisites_missing")
    bed.state, bed.opened_on, bed.opened_by = "open", today, principal.user_id
    bed.policy_version = _eligibility(elder, today).policy_version
    add_event(session, make_event(HomeBedOpened(
        bed_id=bed.id, elder_id=elder.id, plan_id=bed.plan_id, provider_id=bed.provider_id, opened_on=today,
        package={"visits_per_week": bed.package["visits_per_week"],
                 "remote_monitoring": bed.package["remote_monitoring"]}), source=runtime.source))
    await session.flush()
    return await _view(session, bed, elder, now)


def _close(session: AsyncSession, bed: HomeBedRow, *, reason: str, closed_on: date, source: str) -> None:
    was_open = bed.state == "open"
    bed.state, bed.closed_on, bed.close_reason = "closed", closed_on, reason
    if was_open:  # a bed that never opened had nothing for vouchers' audit to follow
        add_event(session, make_event(HomeBedClosed(bed_id=bed.id, elder_id=bed.elder_id, closed_on=closed_on,
                                                    reason=reason), source=source))


async def close_bed(session: AsyncSession, *, runtime: AssessmentRuntime, principal: Principal, bed_id: uuid.UUID,
                    reason: str, now: datetime) -> dict[str, Any]:
    require_role(principal, *access.PLAN_OFFICERS)
    bed, elder = await bed_for(session, principal, bed_id, for_update=True)
    _require_officer(principal, elder, "撤销家庭养老床位")
    if bed.state == "closed":
        rules.require_state(bed.state, "open", "撤床")
    _close(session, bed, reason=reason, closed_on=local_day(now), source=runtime.source)
    await session.flush()
    return await _view(session, bed, elder, now)


async def close_for_departures(session: AsyncSession, *, departed: sa.Select, reasons: dict[str, str], source: str,
                               now: datetime) -> None:
    """Close the beds of elders who left the register (`departed`: a select of their ids)."""
    query = (sa.select(HomeBedRow, ElderRow.status, ElderRow.status_date).join(ElderRow, ElderRow.id == HomeBedRow.elder_id)
             .where(HomeBedRow.state.in_(("preparing", "open")), HomeBedRow.elder_id.in_(departed))
             .with_for_update(of=HomeBedRow))
    for bed, status, status_date in (await session.execute(query)).all():
        _close(session, bed, reason=reasons[status], closed_on=status_date or local_day(now), source=source)


async def list_beds(session: AsyncSession, *, principal: Principal, district_code: str | None, state: str | None,
                    page: int, page_size: int, now: datetime) -> dict[str, Any]:
    require_role(principal, *access.REVIEW_LIST_READERS)
    district = access.district_scope(principal, district_code)
    if state is not None and state not in rules.STATE_NAMES:
        raise Invalid("查询条件有误", errors=[FieldError("state", "状态应为 " + "、".join(rules.STATE_NAMES))])
    where = [access.readable_by(principal)]
    if state:
        where.append(HomeBedRow.state == state)
    if district:
        where.append(ElderRow.district_code == district)
    base = sa.select(HomeBedRow, ElderRow).join(ElderRow, ElderRow.id == HomeBedRow.elder_id).where(*where)
    total = (await session.execute(sa.select(sa.func.count()).select_from(
        sa.select(HomeBedRow.id).join(ElderRow, ElderRow.id == HomeBedRow.elder_id).where(*where).subquery()))).scalar_one()
    rows = (await session.execute(base.order_by(HomeBedRow.created_at, HomeBedRow.id)
                                  .offset((page - 1) * page_size).limit(page_size))).all()
    devices = await _devices(session, [bed.id for bed, _ in rows])
    adapted = await _adapted(session, [elder.id for _, elder in rows])
    today = local_day(now)
    items = []
    for bed, elder in rows:
        missing = (_missing(bed, elder, len(devices[bed.id]), elder.id in adapted, today,
                            anchor_ok=bool(bed.package.get("anchor_ok", True))) if bed.state == "preparing" else None)
        items.append(bed_view(bed, devices[bed.id], missing=missing, district_code=elder.district_code))
    return {"items": items, "total": total, "page": page, "page_size": page_size}


async def record_adaptation(session: AsyncSession, *, data: dict, now: datetime) -> None:
    """From `youfu.order.completed.v1`: keep a completed 适老化改造 order of an elder (once per order)."""
    if data.get("service_code") != ADAPTATION_CODE:
        return
    order_id = uuid.UUID(str(data["order_id"]))
    if await session.get(HomeAdaptationRow, order_id) is not None:
        return
    provider = data.get("provider_id")
    session.add(HomeAdaptationRow(order_id=order_id, elder_id=uuid.UUID(str(data["elder_id"])),
                                  provider_id=uuid.UUID(str(provider)) if provider else None,
                                  completed_at=str(data.get("completed_at") or now.isoformat())[:40], recorded_at=now))



async def end_plans_and_beds(session: AsyncSession, *, source: str, now: datetime,
                             elder_ids: list[uuid.UUID] | None = None) -> None:
    """A death or a move (an elder record's status, or a status list): the elder's plans end
    (careplan.ended.v1, reason 老人已故 / 老人已迁出) and the bed closes (homebed.closed.v1)."""
    await end_for_departures(session, source=source, now=now, elder_ids=elder_ids)
    await close_for_departures(session, departed=departed_elders(elder_ids), reasons=DEPARTURE_REASONS,
                               source=source, now=now)
