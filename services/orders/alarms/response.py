"""Responding to an alarm: "我去", at the door, closed with an outcome, an order made from it; the
alarms read back (by role, `access.alarm_scope`) and the month's figures by district.

"我去" is a conditional update (`WHERE state IN ('raised', 'escalated')`): of two caregivers
acknowledging at once exactly one changes the row; the other reads who went and gets a 409
"已由张三前往". Closing is conditional on `closed_at IS NULL` in the same way.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders.access import (
    OPERATORS,
    alarm_scope,
    load_alarm,
    parse_uuid,
    require_alarm_closer,
    require_alarm_reader,
)
from services.orders.events import AlarmAcknowledged, AlarmClosed, publish
from services.orders.models import AlarmAlertRow, AlarmRow
from services.orders.placement import PlaceRequest, place
from services.orders.queries import LINK_ALARM
from services.orders.rules.alarms import (
    AlarmFacts,
    AlarmState,
    check_acknowledge,
    check_arrive,
    check_close,
    district_summary,
)
from services.orders.runtime import OrdersRuntime
from services.orders.views import alarm_answer
from shared.auth import Principal, require_role
from shared.city import CITY_TZ, district_name
from shared.errors import Conflict, Forbidden, invalid_field

ACKNOWLEDGEABLE = (AlarmState.RAISED.value, AlarmState.ESCALATED.value)


async def _alerts(session: AsyncSession, alarm_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[AlarmAlertRow]]:
    out: dict[uuid.UUID, list[AlarmAlertRow]] = {i: [] for i in alarm_ids}
    if alarm_ids:
        rows = await session.execute(sa.select(AlarmAlertRow).where(AlarmAlertRow.alarm_id.in_(alarm_ids)))
        for row in rows.scalars():
            out[row.alarm_id].append(row)
    return out


async def _answer(session: AsyncSession, alarm: AlarmRow, now: datetime) -> dict:
    return alarm_answer(alarm, (await _alerts(session, [alarm.id]))[alarm.id], now=now)


def _at(now: datetime) -> str:
    return now.astimezone(CITY_TZ).isoformat()


async def acknowledge_alarm(session: AsyncSession, *, principal: Principal, alarm_id: uuid.UUID,
                            now: datetime) -> dict:
    """"我去" by an alerted caregiver: the first wins; the others get 409 naming who went."""
    require_role(principal, "caregiver")
    alarm = await load_alarm(session, principal, alarm_id)
    caregiver = parse_uuid(principal.caregiver_id)
    alert = (await session.execute(sa.select(AlarmAlertRow).where(
        AlarmAlertRow.alarm_id == alarm_id, AlarmAlertRow.caregiver_id == caregiver))).scalar_one_or_none()
    check_acknowledge(state=alarm.state, acknowledged_by_name=alarm.acknowledged_by_name, alerted=alert is not None)
    changed = await session.execute(
        sa.update(AlarmRow).where(AlarmRow.id == alarm_id, AlarmRow.state.in_(ACKNOWLEDGEABLE))
        .values(state=AlarmState.ACKNOWLEDGED.value, acknowledged_at=now, acknowledged_by=caregiver,
                acknowledged_by_name=alert.caregiver_name, acknowledged_provider_id=alert.provider_id))
    await session.refresh(alarm)
    if changed.rowcount != 1:  # another caregiver's update came first
        check_acknowledge(state=alarm.state, acknowledged_by_name=alarm.acknowledged_by_name, alerted=True)
    publish(session, AlarmAcknowledged(alarm_id=alarm.id, elder_id=alarm.elder_id, district_code=alarm.district_code,
                                       caregiver_id=caregiver, caregiver_name=alert.caregiver_name,
                                       provider_id=alert.provider_id, at=_at(now)))
    return await _answer(session, alarm, now)


async def arrive_at_alarm(session: AsyncSession, *, principal: Principal, alarm_id: uuid.UUID, now: datetime) -> dict:
    """The caregiver who went is at the door (the 30-minute target)."""
    require_role(principal, "caregiver")
    alarm = await load_alarm(session, principal, alarm_id, lock=True)
    check_arrive(state=alarm.state, is_responder=parse_uuid(principal.caregiver_id) == alarm.acknowledged_by,
                 arrived_at=alarm.arrived_at)
    alarm.arrived_at = now
    await session.flush()
    return await _answer(session, alarm, now)


async def close_alarm(session: AsyncSession, *, principal: Principal, alarm_id: uuid.UUID, outcome: str,
                      note: str | None, now: datetime) -> dict:
    """Closed with an outcome by the caregiver who went, an operator, an officer or the city."""
    alarm = await load_alarm(session, principal, alarm_id, lock=True)
    require_alarm_closer(principal, alarm)
    check_close(state=alarm.state, outcome=outcome)
    changed = await session.execute(
        sa.update(AlarmRow).where(AlarmRow.id == alarm_id, AlarmRow.closed_at.is_(None))
        .values(state=AlarmState.CLOSED.value, closed_at=now, closed_by=principal.user_id,
                closed_by_role=principal.role, outcome=outcome, note=note))
    await session.refresh(alarm)
    if changed.rowcount != 1:
        raise Conflict("该呼叫已结束", state=alarm.state)
    publish(session, AlarmClosed(alarm_id=alarm.id, elder_id=alarm.elder_id, district_code=alarm.district_code,
                                 outcome=outcome, at=_at(now), order_id=alarm.order_id))
    return await _answer(session, alarm, now)


async def order_from_alarm(rt: OrdersRuntime, *, principal: Principal, alarm_id: uuid.UUID, service_code: str,
                           payment: str, notes: str, now: datetime) -> dict:
    """An ordinary order for the elder, placed through placement as the platform on the alarm's
    behalf (the caregiver who went may ask for it too), starting now at the alarm's location, and
    linked to the alarm in the order's transaction; one per alarm (a retry answers the same order)."""
    async with rt.db.sessions() as s:
        alarm = await load_alarm(s, principal, alarm_id)
    require_alarm_closer(principal, alarm)
    if alarm.order_id is not None:
        raise Conflict("该呼叫已生成订单", order_id=str(alarm.order_id))
    if alarm.lat is None:
        raise invalid_field("alarm_id", "该呼叫没有位置，请直接为老人下单")
    request = PlaceRequest(elder_id=alarm.elder_id, service_code=service_code, window_start=now,
                           window_end=now + timedelta(hours=2), payment=payment, address=alarm.address,
                           lat=alarm.lat, lon=alarm.lon, notes=(notes or f"由紧急呼叫转来（{principal.user_id}）")[:500])

    async def link(tx, order) -> None:
        if await tx.run(LINK_ALARM, alarm_key=alarm_id, order_id=order.id) != 1:
            raise Conflict("该呼叫已生成订单")

    platform = Principal(user_id=f"alarm:{alarm_id}", role="service")
    _, answer, _ = await place(rt, principal=platform, request=request, idempotency_key=f"alarm:{alarm_id}",
                               scope="alarm-order", now=now, also=link)
    return answer


async def read_alarm(session: AsyncSession, *, principal: Principal, alarm_id: uuid.UUID, now: datetime) -> dict:
    require_alarm_reader(principal)
    return await _answer(session, await load_alarm(session, principal, alarm_id), now)


async def list_alarms(session: AsyncSession, *, principal: Principal, state: str | None, open_only: bool,
                      elder_id: uuid.UUID | None, limit: int, offset: int, now: datetime) -> list[dict]:
    """The caller's alarms, newest first; `state=escalated` is the desk's queue (escalated, nobody
    has gone yet)."""
    require_alarm_reader(principal)
    query = sa.select(AlarmRow).where(alarm_scope(principal))
    if state:
        query = query.where(AlarmRow.state == state)
    if open_only:
        query = query.where(AlarmRow.closed_at.is_(None))
    if elder_id is not None:
        query = query.where(AlarmRow.elder_id == elder_id)
    rows = list((await session.execute(query.order_by(AlarmRow.raised_at.desc()).limit(limit).offset(offset))).scalars())
    alerts = await _alerts(session, [r.id for r in rows])
    return [alarm_answer(r, alerts[r.id], now=now) for r in rows]


def report_district(principal: Principal, requested: str | None) -> str | None:
    """The district a report covers: officers and district operators their own (another → 403)."""
    if principal.role == "officer" or (principal.role in OPERATORS and principal.district):
        if requested and requested != principal.district:
            raise Forbidden("只能查看本辖区的数据", district_code=requested)
        return principal.district
    if principal.role in OPERATORS | {"city_officer", "admin", "service"}:
        return requested
    raise Forbidden("当前账号不能查看紧急呼叫统计")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise invalid_field("month", "月份格式应为 YYYY-MM") from None
    after = (first + timedelta(days=32)).replace(day=1)
    return (datetime.combine(first, time(), tzinfo=CITY_TZ), datetime.combine(after, time(), tzinfo=CITY_TZ))


async def alarm_report(session: AsyncSession, *, principal: Principal, month: str, district_code: str | None) -> dict:
    """Counts and response times by district for a month (local), with each alarm's own targets."""
    district = report_district(principal, district_code)
    start, end = month_bounds(month)
    query = sa.select(AlarmRow.district_code, AlarmRow.raised_at, AlarmRow.acknowledged_at, AlarmRow.arrived_at,
                      AlarmRow.escalated_at, AlarmRow.outcome, AlarmRow.ack_target_s, AlarmRow.arrive_target_min
                      ).where(AlarmRow.raised_at >= start, AlarmRow.raised_at < end)
    if district:
        query = query.where(AlarmRow.district_code == district)
    facts = [AlarmFacts(district_code=r.district_code, raised_at=r.raised_at, acknowledged_at=r.acknowledged_at,
                        arrived_at=r.arrived_at, escalated=r.escalated_at is not None, outcome=r.outcome,
                        ack_target_s=r.ack_target_s, arrive_target_min=r.arrive_target_min)
             for r in (await session.execute(query)).all()]
    rows = district_summary(facts)
    for row in rows:
        row["district_name"] = district_name(row["district_code"]) if row["district_code"] else "未知辖区"
    return {"month": month, "district_code": district, "districts": rows,
            "total": sum(r["alarms"] for r in rows)}
