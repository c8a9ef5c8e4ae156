"""Raising an alarm, telling the emergency contacts, and the escalation pass.

A press is prepared outside any transaction (`prepare_press`: the elder copy, the elder's own
providers from this service's orders and care plans, then providers' nearest on-duty search, as
dispatch asks it), then `raise_alarm` runs in the caller's one transaction: it joins the elder's
open alarm, or inserts a new one under a savepoint. The partial unique index "one open alarm per
elder" decides concurrent presses: the loser's insert fails, its savepoint is rolled back and it
joins the winner's alarm, so two presses at once make one alarm.

Escalation (`escalation_pass`, the PeriodicTask `orders-alarm-escalation`): the alarms still
`raised` past their `ack_deadline` are read with SKIP LOCKED and each is moved by a conditional
update (`WHERE state = 'raised'`); only the update that changed the row publishes
`alarm.escalated`, so two replicas escalate an alarm once.
"""
from __future__ import annotations

import functools
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import require_alarm_district, require_alarm_raiser
from services.orders.elders import ensure_elder
from services.orders.events import AlarmEscalated, AlarmRaised, publish
from services.orders.models import AlarmAlertRow, AlarmDeviceRow, AlarmRow, ElderRow, OrderRow, RecurringRuleRow
from services.orders.rules.alarms import (
    AlarmPolicy,
    AlarmState,
    ack_deadline,
    check_location,
    choose_responders,
    escalation_due,
    escalation_reason,
    policy_from,
    policy_on,
    press_renews,
    token_hash,
)
from services.orders.runtime import OrdersRuntime, runtime_of
from services.orders.views import alarm_answer
from shared.app import ServiceContext
from shared.auth import Principal
from shared.city import CITY_TZ, local_day
from shared.errors import Forbidden, Unauthorized

log = logging.getLogger("youfu.orders.alarms")
POLICY_FILE = Path(__file__).parent.parent / "alarm_policy.json"
EMERGENCY_ITEM = "emergency"  # the catalogue's 助急: the skill asked of the nearest search
SERVED_STATES = ("accepted", "in_service", "completed", "settled", "disputed")


@functools.cache
def alarm_policies() -> tuple[AlarmPolicy, ...]:
    """The versions of the alarm policy data, read once per process."""
    return tuple(policy_from(json.loads(POLICY_FILE.read_text(encoding="utf-8"))))


def alarm_policy(now: datetime) -> AlarmPolicy:
    return policy_on(alarm_policies(), local_day(now))


@dataclass
class Press:
    """One press, with what was read before the transaction."""

    elder: ElderRow | SimpleNamespace
    source: str  # button | device | operator
    raised_by: str
    lat: float | None
    lon: float | None
    location_source: str  # device | address | none
    policy: AlarmPolicy
    responders: list[dict] = field(default_factory=list)
    own_providers: set[str] = field(default_factory=set)
    device_id: uuid.UUID | None = None


async def own_providers(session: AsyncSession, *, elder_id: uuid.UUID, now: datetime,
                        policy: AlarmPolicy) -> tuple[set[str], set[str]]:
    """The elder's providers (those that served the elder within the lookback, and the providers
    of the elder's active care-plan and recurring rules) and the caregivers who served the elder."""
    since = now - timedelta(days=policy.served_lookback_days)
    served = (await session.execute(
        sa.select(OrderRow.provider_id, OrderRow.caregiver_id)
        .where(OrderRow.elder_id == elder_id, OrderRow.provider_id.is_not(None), OrderRow.state.in_(SERVED_STATES),
               OrderRow.window_start >= since)
        .order_by(OrderRow.window_start.desc()).limit(200))).all()
    planned = (await session.execute(
        sa.select(RecurringRuleRow.preferred_provider_id)
        .where(RecurringRuleRow.elder_id == elder_id, RecurringRuleRow.status == "active",
               RecurringRuleRow.preferred_provider_id.is_not(None)))).scalars().all()
    providers = {str(p) for p, _ in served} | {str(p) for p in planned}
    caregivers = {str(c) for _, c in served if c is not None}
    return providers, caregivers


async def find_responders(rt: OrdersRuntime, press: Press, *, now: datetime) -> None:
    """Providers' nearest qualified caregivers on duty now (GET /candidates, the search dispatch
    uses: the 助急 skill, working hours at `at`, no voucher kind since an alarm is not paid for),
    the elder's own providers' first. Providers unreachable → nobody alerted: the alarm then
    escalates at once, it is never lost."""
    async with rt.db.sessions() as s:
        providers, caregivers = await own_providers(s, elder_id=press.elder.elder_id, now=now, policy=press.policy)
    press.own_providers = providers
    if press.lat is None:
        return
    params = {"service_code": EMERGENCY_ITEM, "lat": press.lat, "lon": press.lon, "k": press.policy.search_k,
              "at": now.astimezone(CITY_TZ).isoformat()}
    if caregivers:
        params["previous_caregivers"] = ",".join(sorted(caregivers)[:50])
    try:
        found = await rt.client("providers").get("/candidates", params=params)
    except Exception as exc:  # an alarm is raised whatever providers answers
        log.warning("alarm candidates for elder %s unavailable: %s", press.elder.elder_id, getattr(exc, "detail", exc))
        return
    press.responders = choose_responders(list((found or {}).get("candidates") or []), providers,
                                         press.policy.alert_count)


async def prepare_press(rt: OrdersRuntime, *, principal: Principal | None, elder_id: uuid.UUID,
                        lat: float | None, lon: float | None, now: datetime,
                        device: AlarmDeviceRow | None = None) -> Press:
    """Access (a device is already bound to `elder_id`), the elder, the location (the device's, or
    the elder's home), the responders. Reads only."""
    check_location(lat, lon)
    if device is None:
        assert principal is not None
        require_alarm_raiser(principal, elder_id)
    elder = await ensure_elder(rt, elder_id)
    if device is None:
        require_alarm_district(principal, elder)
    if lat is not None:
        location = "device"
    else:
        lat, lon = elder.lat, elder.lon
        location = "address" if lat is not None else "none"
    if device is not None:
        source, raised_by = "device", f"device:{device.id}"
    elif principal.role in ("elder", "family"):
        source, raised_by = "button", principal.user_id
    else:
        source, raised_by = "operator", principal.user_id
    press = Press(elder=elder, source=source, raised_by=raised_by, lat=lat, lon=lon, location_source=location,
                  policy=alarm_policy(now), device_id=device.id if device is not None else None)
    await find_responders(rt, press, now=now)
    return press


async def device_of(rt: OrdersRuntime, *, token: str | None, elder_id: uuid.UUID | None) -> AlarmDeviceRow:
    """The active device holding `token`: unknown or revoked → 401; bound to another elder than the
    one named → 403 (a token raises alarms only for its own elder)."""
    if not token:
        raise Unauthorized("缺少设备令牌（X-Device-Token）")
    async with rt.db.sessions() as s:
        device = (await s.execute(sa.select(AlarmDeviceRow).where(AlarmDeviceRow.token_hash == token_hash(token),
                                                                  AlarmDeviceRow.revoked_at.is_(None)))).scalar_one_or_none()
    if device is None:
        raise Unauthorized("设备令牌无效或已停用")
    if elder_id is not None and elder_id != device.elder_id:
        raise Forbidden("该设备只能为绑定的老人发起紧急呼叫", elder_id=str(elder_id))
    return device


async def _open_alarm(session: AsyncSession, elder_id: uuid.UUID) -> AlarmRow | None:
    query = sa.select(AlarmRow).where(AlarmRow.elder_id == elder_id, AlarmRow.closed_at.is_(None)).with_for_update()
    return (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()


async def _alerts(session: AsyncSession, alarm_id: uuid.UUID) -> list[AlarmAlertRow]:
    return list((await session.execute(sa.select(AlarmAlertRow).where(AlarmAlertRow.alarm_id == alarm_id))).scalars())


def _raised_event(alarm: AlarmRow, alerts: list[AlarmAlertRow], *, renewed: bool) -> AlarmRaised:
    return AlarmRaised(alarm_id=alarm.id, elder_id=alarm.elder_id, district_code=alarm.district_code,
                       provider_ids=sorted({a.provider_id for a in alerts}, key=str),
                       caregiver_ids=[a.caregiver_id for a in sorted(alerts, key=lambda a: a.rank)],
                       lat=alarm.lat, lng=alarm.lon, raised_at=alarm.raised_at.astimezone(CITY_TZ).isoformat(),
                       source=alarm.source, renewed=renewed)


@dataclass
class Raised:
    answer: dict
    created: bool  # a new alarm (the contacts are told once it is committed)
    alarm_id: uuid.UUID


async def _join(session: AsyncSession, alarm: AlarmRow, press: Press, now: datetime) -> Raised:
    renew = press_renews(last_press_at=alarm.last_press_at, now=now, policy=press.policy)
    alarm.press_count += 1
    alarm.last_press_at = now
    alerts = await _alerts(session, alarm.id)
    if renew and alarm.state == AlarmState.RAISED and alerts:
        publish(session, _raised_event(alarm, alerts, renewed=True))
    await session.flush()
    return Raised(alarm_answer(alarm, alerts, now=now) | {"joined": True}, False, alarm.id)


async def raise_alarm(session: AsyncSession, *, press: Press, now: datetime) -> Raised:
    """The press in the caller's transaction: join the elder's open alarm, or open one (alerting
    the responders, `alarm.raised`)."""
    if press.device_id is not None:
        await session.execute(sa.update(AlarmDeviceRow).where(AlarmDeviceRow.id == press.device_id)
                              .values(last_used_at=now))
    elder_id = press.elder.elder_id
    existing = await _open_alarm(session, elder_id)
    if existing is not None:
        return await _join(session, existing, press, now)
    policy, alerted = press.policy, len(press.responders)
    alarm = AlarmRow(id=uuid.uuid4(), elder_id=elder_id, elder_name=press.elder.name,
                     district_code=press.elder.district_code, street=press.elder.street,
                     address=press.elder.address, lat=press.lat, lon=press.lon, location_source=press.location_source,
                     source=press.source, device_id=press.device_id, raised_by=press.raised_by, raised_at=now,
                     last_press_at=now, press_count=1, policy_version=policy.version,
                     ack_target_s=policy.ack_target_s, arrive_target_min=policy.arrive_target_min,
                     alerted_count=alerted, ack_deadline=ack_deadline(raised_at=now, alerted=alerted, policy=policy),
                     state=AlarmState.RAISED.value)
    try:
        async with session.begin_nested():
            session.add(alarm)
            await session.flush()
    except IntegrityError:  # another press of this elder opened one meanwhile: join it
        existing = await _open_alarm(session, elder_id)
        if existing is None:
            raise
        return await _join(session, existing, press, now)
    alerts = [AlarmAlertRow(alarm_id=alarm.id, caregiver_id=uuid.UUID(str(c["caregiver_id"])),
                            caregiver_name=c.get("caregiver_name"), provider_id=uuid.UUID(str(c["provider_id"])),
                            provider_name=c.get("provider_name"), distance_m=c.get("distance_m"), rank=rank,
                            alerted_at=now)
              for rank, c in enumerate(press.responders)]
    session.add_all(alerts)
    publish(session, _raised_event(alarm, alerts, renewed=False))
    await session.flush()
    return Raised(alarm_answer(alarm, alerts, now=now) | {"joined": False}, True, alarm.id)


# ---- the emergency contacts -------------------------------------------------------------------


def contact_text(*, elder_name: str | None, address: str | None, raised_at: datetime) -> str:
    at = raised_at.astimezone(CITY_TZ).strftime("%H:%M")
    return (f"【有福养老】{elder_name or '您的家人'}于{at}发起紧急呼叫（{address or '住址未登记'}），"
            "平台已通知附近护理员前往。如需协助请拨打 12349。")


async def tell_contacts(rt: OrdersRuntime, *, elder_id: uuid.UUID, elder_name: str | None, address: str | None,
                        raised_at: datetime) -> int:
    """After a new alarm is committed: an SMS to each of the elder's emergency contacts (their
    phones are assessment's, asked for by this service alone). Best effort: a failure is logged
    and never undoes the alarm. Returns how many were sent."""
    try:
        found = await rt.client("assessment").get(f"/elders/{elder_id}/emergency-contacts")
    except Exception as exc:
        log.warning("emergency contacts of elder %s unavailable: %s", elder_id, getattr(exc, "detail", exc))
        return 0
    text = contact_text(elder_name=elder_name, address=address, raised_at=raised_at)
    sent = 0
    for contact in (found or {}).get("contacts") or []:
        phone = contact.get("phone")
        if not phone:
            continue
        try:
            await rt.sms.send(phone, text)
            sent += 1
        except Exception as exc:
            log.warning("sms to a contact of elder %s failed: %s", elder_id, exc)
    return sent


# ---- escalation -------------------------------------------------------------------------------


async def escalate_due(session: AsyncSession, *, now: datetime, limit: int = 100) -> list[uuid.UUID]:
    """Escalate the alarms nobody acknowledged by their deadline, in the caller's transaction;
    returns the ids this call escalated (another replica's pass gets the others)."""
    due = (await session.execute(
        sa.select(AlarmRow.id, AlarmRow.state, AlarmRow.raised_at, AlarmRow.alerted_count, AlarmRow.ack_deadline,
                  AlarmRow.policy_version, AlarmRow.elder_id, AlarmRow.district_code)
        .where(AlarmRow.state == AlarmState.RAISED.value, AlarmRow.ack_deadline <= now)
        .order_by(AlarmRow.ack_deadline).limit(limit).with_for_update(skip_locked=True))).all()
    escalated = []
    versions = {p.version: p for p in alarm_policies()}
    for row in due:
        policy = versions.get(row.policy_version) or alarm_policy(row.raised_at)
        if not escalation_due(state=row.state, raised_at=row.raised_at, alerted=row.alerted_count, now=now,
                              policy=policy):
            continue
        reason = escalation_reason(row.alerted_count)
        changed = await session.execute(
            sa.update(AlarmRow).where(AlarmRow.id == row.id, AlarmRow.state == AlarmState.RAISED.value)
            .values(state=AlarmState.ESCALATED.value, escalated_at=now, escalation_reason=reason))
        if changed.rowcount == 1:
            publish(session, AlarmEscalated(alarm_id=row.id, elder_id=row.elder_id, district_code=row.district_code,
                                            at=now.astimezone(CITY_TZ).isoformat(), reason=reason))
            escalated.append(row.id)
    return escalated


async def escalation_pass(ctx: ServiceContext) -> None:
    """The periodic task: one transaction per pass."""
    rt = runtime_of(ctx)
    async with rt.db.transaction() as s:
        done = await escalate_due(s, now=ctx.now())
    if done:
        log.info("escalated %d alarm(s)", len(done))
