"""One-key emergency alarms in the orders service (issue 25), on its real database, against the
providers double's nearest search and the assessment double's emergency contacts over real HTTP:
a press alerts the nearest on-duty caregivers and texts the contacts; concurrent presses make one
alarm; two caregivers saying "我去" at once → one wins, the other is told who went; escalation with
the test clock at 2:59 / 3:00, once even with two passes at once; a device token only for its
own elder; closing with an outcome and an order made from the alarm; who sees which alarm."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from services.orders.alarms.raising import escalation_pass
from services.orders.models import AlarmRow, OrderRow
from tests.integration.orders_doubles import GAOGANG, HAILING, orders_env
from tests.support.clock import Clock

__all__ = ["orders_env"]  # the module fixture, imported for pytest

T0 = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)  # 09:00 in the city


class RecordingSms:
    """The only mock the suite allows: the SMS gateway is outside the machine."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))


@pytest.fixture
def env(orders_env):
    """The module's orders service with a fresh responder list, a recording SMS sender and a test
    clock (put back afterwards)."""
    ctx = orders_env.app.state.ctx
    before = ctx.clock
    ctx.clock = Clock(T0)
    orders_env.rt._sms = RecordingSms()
    orders_env.providers.add_item(code="emergency", name="助急", price_fen=5000, mode="grab", grab_size=5)
    orders_env.providers.candidates["emergency"] = []
    yield orders_env
    ctx.clock = before


def responders(env, n: int, provider: str | None = None) -> list[dict]:
    return [env.providers.add_candidate("emergency", provider_id=provider) for _ in range(n)]


def press(env, elder: str):
    """The elder's own client (the page's 紧急呼叫 button posts with it)."""
    return env.client("elder", elder_ids=(elder,), user_id=f"elder-{elder}")


async def post(client_cm, path: str, **kw):
    async with client_cm as c:
        return await c.post(path, **kw)


async def get(client_cm, path: str, **kw):
    async with client_cm as c:
        return await c.get(path, **kw)


def caregiver(env, c: dict):
    return env.client("caregiver", caregiver_id=c["caregiver_id"], provider_id=c["provider_id"],
                      user_id=f"cg-{c['caregiver_id']}")


async def alarms_of(env, elder: str) -> list[AlarmRow]:
    async with env.db.sessions() as s:
        return list((await s.execute(sa.select(AlarmRow).where(AlarmRow.elder_id == uuid.UUID(elder)))).scalars())


async def test_a_press_alerts_the_nearest_on_duty_caregivers_and_texts_the_contacts(env):
    elder = env.new_elder()
    env.assessment.contacts[elder] = [{"name": "王小红", "relation": "女儿", "phone": "13912345678"}]
    cands = responders(env, 4)
    async with press(env, elder) as c:
        r = await c.post(f"/elders/{elder}/alarms", json={})
    assert r.status_code == 201, r.text
    alarm = r.json()
    assert alarm["state"] == "raised" and alarm["source"] == "button" and alarm["location_source"] == "address"
    assert [a["caregiver_id"] for a in alarm["alerted"]] == [c["caregiver_id"] for c in cands[:3]]  # policy: 3
    assert alarm["targets"]["ack_target_s"] == 180 and alarm["targets"]["arrive_target_min"] == 30
    search = [p for m, path, p in env.providers.calls if path == "/candidates" and p["service_code"] == "emergency"]
    assert search and search[-1]["voucher_kind"] is None  # an alarm is not paid for
    raised = [e for e in await env.outbox("youfu.alarm.raised.v1") if e["alarm_id"] == alarm["id"]]
    assert len(raised) == 1 and raised[0]["caregiver_ids"] == [c["caregiver_id"] for c in cands[:3]]
    assert raised[0]["lat"] == alarm["lat"] and raised[0]["source"] == "button"
    await env_wait(lambda: env.rt.sms.sent)
    phone, text = env.rt.sms.sent[0]
    assert phone == "13912345678" and "紧急呼叫" in text and "张桂兰" in text


async def env_wait(predicate, timeout_s: float = 10.0):
    from tests.support.waiting import wait_for

    async def check():
        return predicate()
    return await wait_for(check, timeout_s=timeout_s, what="the contacts' SMS")


async def test_concurrent_presses_make_one_alarm_and_a_later_press_renews_the_alert(env):
    elder = env.new_elder()
    responders(env, 2)
    results = await asyncio.gather(*(post(press(env, elder), f"/elders/{elder}/alarms", json={}) for _ in range(8)))
    assert sorted(r.status_code for r in results) == [200] * 7 + [201], [r.text for r in results]
    rows = await alarms_of(env, elder)
    assert len(rows) == 1 and rows[0].press_count == 8
    assert {r.json()["id"] for r in results} == {str(rows[0].id)}
    events = [e for e in await env.outbox("youfu.alarm.raised.v1") if e["elder_id"] == elder]
    assert len(events) == 1  # presses within the join window add nothing
    env.app.state.ctx.clock.now = T0 + timedelta(seconds=61)  # past the join window, nobody has gone yet
    r = await post(press(env, elder), f"/elders/{elder}/alarms", json={"lat": 32.491, "lon": 119.921})
    assert r.status_code == 200 and r.json()["press_count"] == 9
    events = [e for e in await env.outbox("youfu.alarm.raised.v1") if e["elder_id"] == elder]
    assert len(events) == 2 and events[-1]["renewed"] is True and len(await alarms_of(env, elder)) == 1


async def test_two_caregivers_acknowledge_at_once_one_wins_the_other_is_told_who_went(env):
    elder = env.new_elder()
    cands = responders(env, 2)
    r = await post(press(env, elder), f"/elders/{elder}/alarms", json={})
    alarm_id = r.json()["id"]
    first, second = await asyncio.gather(*(post(caregiver(env, c), f"/alarms/{alarm_id}/acknowledge") for c in cands))
    assert sorted([first.status_code, second.status_code]) == [200, 409], (first.text, second.text)
    winner, loser = (first, second) if first.status_code == 200 else (second, first)
    name = winner.json()["acknowledged_by_name"]
    assert name in {c["caregiver_name"] for c in cands}
    assert loser.json()["detail"] == f"已由{name}前往"
    acks = [e for e in await env.outbox("youfu.alarm.acknowledged.v1") if e["alarm_id"] == alarm_id]
    assert len(acks) == 1 and acks[0]["caregiver_name"] == name
    # a caregiver who was not alerted does not see it at all
    stranger = {"caregiver_id": str(uuid.uuid4()), "provider_id": str(uuid.uuid4())}
    assert (await post(caregiver(env, stranger), f"/alarms/{alarm_id}/acknowledge")).status_code == 404
    # the one who went is at the door, then closes it
    who = next(c for c in cands if c["caregiver_name"] == name)
    other = next(c for c in cands if c is not who)
    assert (await post(caregiver(env, other), f"/alarms/{alarm_id}/arrive")).status_code == 403
    env.app.state.ctx.clock.now = T0 + timedelta(minutes=12)
    arrived = await post(caregiver(env, who), f"/alarms/{alarm_id}/arrive")
    assert arrived.status_code == 200 and arrived.json()["targets"]["arrive_met"] is True
    closed = await post(caregiver(env, who), f"/alarms/{alarm_id}/close", json={"outcome": "resolved_on_site"})
    assert closed.status_code == 200 and closed.json()["outcome_name"] == "现场已处置"
    again = await post(caregiver(env, who), f"/alarms/{alarm_id}/close", json={"outcome": "false_alarm"})
    assert again.status_code == 409
    bad = await post(env.client("officer", district=HAILING), f"/alarms/{alarm_id}/close", json={"outcome": "maybe"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].endswith("outcome")
    # after closing, a new press opens a new alarm
    assert (await post(press(env, elder), f"/elders/{elder}/alarms", json={})).status_code == 201


async def test_escalation_with_the_test_clock_happens_once_even_with_two_passes(env):
    elder = env.new_elder()
    responders(env, 1)
    r = await post(press(env, elder), f"/elders/{elder}/alarms", json={})
    alarm_id = r.json()["id"]
    ctx = env.app.state.ctx
    ctx.clock.now = T0 + timedelta(minutes=2, seconds=59)
    await escalation_pass(ctx)
    assert (await alarms_of(env, elder))[0].state == "raised"
    ctx.clock.now = T0 + timedelta(minutes=3)
    await asyncio.gather(escalation_pass(ctx), escalation_pass(ctx))  # two replicas at once
    await escalation_pass(ctx)
    row = (await alarms_of(env, elder))[0]
    assert row.state == "escalated" and row.escalation_reason == "not_acknowledged"
    events = [e for e in await env.outbox("youfu.alarm.escalated.v1") if e["alarm_id"] == alarm_id]
    assert len(events) == 1 and events[0]["district_code"] == HAILING
    # the desk's queue (scoped to the caller), and a caregiver may still go
    desk = await get(env.client("operator", district=HAILING), "/alarms", params={"state": "escalated"})
    assert desk.status_code == 200 and alarm_id in [a["id"] for a in desk.json()]
    other = await get(env.client("operator", district=GAOGANG), "/alarms", params={"state": "escalated"})
    assert alarm_id not in [a["id"] for a in other.json()]
    assert (await get(env.client("operator", district=GAOGANG), f"/alarms/{alarm_id}")).status_code == 404
    assert (await get(env.client("operator"), f"/alarms/{alarm_id}")).status_code == 200  # city desk
    late = await get(env.client("officer", district=HAILING), f"/alarms/{alarm_id}")
    assert late.json()["targets"]["ack_met"] is False


async def test_nobody_on_duty_escalates_at_once(env):
    elder = env.new_elder()
    r = await post(press(env, elder), f"/elders/{elder}/alarms", json={})
    assert r.status_code == 201 and r.json()["alerted"] == []
    await escalation_pass(env.app.state.ctx)
    row = (await alarms_of(env, elder))[0]
    assert row.state == "escalated" and row.escalation_reason == "no_caregiver"


async def test_a_device_token_raises_alarms_only_for_its_own_elder(env):
    elder, other = env.new_elder(), env.new_elder()
    responders(env, 1)
    await post(press(env, other), f"/elders/{other}/alarms", json={})  # puts the elders in the copy
    await post(press(env, elder), f"/elders/{elder}/alarms", json={})
    for e in (elder, other):
        for row in await alarms_of(env, e):
            await post(env.client("officer", district=HAILING), f"/alarms/{row.id}/close", json={"outcome": "false_alarm"})
    officer = env.client("officer", district=HAILING, user_id="officer-hl")
    issued = await post(officer, f"/elders/{elder}/alarm-devices", json={"label": "客厅呼叫器"})
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    assert token.startswith("yfd_")
    far = await post(env.client("officer", district=GAOGANG), f"/elders/{elder}/alarm-devices", json={"label": "x"})
    assert far.status_code == 403
    listed = await get(env.client("officer", district=HAILING), f"/elders/{elder}/alarm-devices")
    assert listed.json()[0]["token"] is None and listed.json()[0]["active"] is True
    async with env.client("admin") as c:  # no user token is needed: the header is the device's
        c.headers.pop("Authorization")
        mine = await c.post("/device/alarms", json={"elder_id": elder, "lat": 32.4911, "lon": 119.9212},
                            headers={"X-Device-Token": token})
        theirs = await c.post("/device/alarms", json={"elder_id": other}, headers={"X-Device-Token": token})
        unknown = await c.post("/device/alarms", json={}, headers={"X-Device-Token": "yfd_nope"})
    assert mine.status_code == 201 and mine.json()["source"] == "device" and mine.json()["location_source"] == "device"
    assert mine.json()["elder_id"] == elder and mine.json()["lat"] == 32.4911
    assert theirs.status_code == 403 and unknown.status_code == 401
    assert len([a for a in await alarms_of(env, other) if a.closed_at is None]) == 0
    revoked = await post(env.client("officer", district=HAILING), f"/alarm-devices/{issued.json()['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    async with env.client("admin") as c:
        c.headers.pop("Authorization")
        after = await c.post("/device/alarms", json={}, headers={"X-Device-Token": token})
    assert after.status_code == 401


async def test_an_order_made_from_an_alarm_and_who_sees_which_alarm(env):
    elder = env.new_elder()
    cands = responders(env, 2)
    alarm_id = (await post(press(env, elder), f"/elders/{elder}/alarms", json={})).json()["id"]
    # access: the household, the alerted caregivers and their provider, the district; nobody else
    allowed = [("family", {"elder_ids": (elder,)}),
               ("caregiver", {"caregiver_id": cands[0]["caregiver_id"], "provider_id": cands[0]["provider_id"]}),
               ("provider_admin", {"provider_id": cands[1]["provider_id"]}), ("officer", {"district": HAILING}),
               ("city_officer", {})]
    for role, fields in allowed:
        assert (await get(env.client(role, **fields), f"/alarms/{alarm_id}")).status_code == 200, role
        assert alarm_id in [a["id"] for a in (await get(env.client(role, **fields), "/alarms")).json()], role
    outsiders = [("family", {"elder_ids": (str(uuid.uuid4()),)}), ("provider_admin", {"provider_id": str(uuid.uuid4())}),
                 ("officer", {"district": GAOGANG}),
                 ("caregiver", {"caregiver_id": str(uuid.uuid4()), "provider_id": cands[0]["provider_id"]})]
    for role, fields in outsiders:
        assert (await get(env.client(role, **fields), f"/alarms/{alarm_id}")).status_code == 404, role
        assert alarm_id not in [a["id"] for a in (await get(env.client(role, **fields), "/alarms")).json()], role
    assert (await get(env.client("assessor", district=HAILING), "/alarms")).status_code == 403
    unlinked = await post(env.client("family", elder_ids=(str(uuid.uuid4()),)), f"/elders/{elder}/alarms", json={})
    assert unlinked.status_code == 403
    far = await post(env.client("operator", district=GAOGANG), f"/elders/{elder}/alarms", json={})
    assert far.status_code == 403
    # another district's desk neither closes it nor makes an order from it: 404, as if it did not exist
    for act, body in (("close", {"outcome": "false_alarm"}), ("orders", {})):
        far_desk = await post(env.client("operator", district=GAOGANG), f"/alarms/{alarm_id}/{act}", json=body)
        assert far_desk.status_code == 404, act
    # an order from it: an ordinary order for the elder (voucher hold and all), linked, once
    officer = env.client("officer", district=HAILING)
    made = await post(officer, f"/alarms/{alarm_id}/orders", json={"service_code": "emergency", "payment": "community"})
    assert made.status_code == 201, made.text
    order_id = made.json()["order_id"]
    assert (await get(env.client("officer", district=HAILING), f"/alarms/{alarm_id}")).json()["order_id"] == order_id
    assert await env.scalar(sa.select(OrderRow.elder_id).where(OrderRow.id == uuid.UUID(order_id))) == uuid.UUID(elder)
    twice = await post(env.client("officer", district=HAILING), f"/alarms/{alarm_id}/orders", json={})
    assert twice.status_code == 409
    closed = await post(env.client("operator", district=HAILING), f"/alarms/{alarm_id}/close",
                        json={"outcome": "called_120", "note": "已送医"})
    assert closed.status_code == 200
    ev = [e for e in await env.outbox("youfu.alarm.closed.v1") if e["alarm_id"] == alarm_id]
    assert ev == [ev[0]] and ev[0]["order_id"] == order_id and ev[0]["outcome"] == "called_120"
    # the desk raises one for a caller in its district (source operator); it closes as a false alarm
    desk = await post(env.client("operator", district=HAILING, user_id="desk-1"), f"/elders/{elder}/alarms", json={})
    assert desk.status_code == 201 and desk.json()["source"] == "operator" and desk.json()["source_name"] == "坐席代报"
    assert (await post(env.client("operator", district=HAILING), f"/alarms/{desk.json()['id']}/close",
                       json={"outcome": "false_alarm"})).status_code == 200
    # the month's figures: the district's counts, scoped
    report = await get(env.client("officer", district=HAILING), "/alarms/report", params={"month": "2026-12"})
    assert report.status_code == 200, report.text
    row = next(r for r in report.json()["districts"] if r["district_code"] == HAILING)
    assert row["alarms"] >= 1 and row["outcomes"]["called_120"] >= 1 and row["district_name"] == "海陵区"
    other = await get(env.client("officer", district=HAILING), "/alarms/report",
                      params={"month": "2026-12", "district_code": GAOGANG})
    assert other.status_code == 403
