"""The orders service over real HTTP on a real database, events through a real broker, with
contract doubles of providers, vouchers and assessment: placing with the voucher split, access,
sequential and grab dispatch, geo-checked check-in, completion, settlement, cancellation."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from services.orders.models import ElderRow, OfferRow, OrderRow, ServiceRecordRow
from shared.kernel_models import DeadLetterRow, IdempotencyRow, InboxRow, OutboxRow
from tests.integration.orders_doubles import GAOGANG, HAILING, HOME, north_of, orders_env, shanghai, wait_for
from youfu.broker import free_port

__all__ = ["orders_env"]  # the module fixture, imported for pytest


def window(hours_ahead: float = 3, length_h: float = 1) -> dict:
    start = datetime.now(timezone.utc) + timedelta(hours=hours_ahead)
    return {"window_start": shanghai(start), "window_end": shanghai(start + timedelta(hours=length_h))}


def order_body(elder: str, code: str, payment: str = "community", **extra) -> dict:
    return {"elder_id": elder, "service_code": code, "payment": payment, "notes": "少盐", **window(), **extra}


async def place(env, elder: str, code: str, *, role: str = "family", key: str | None = None, **extra) -> dict:
    async with env.client(role, elder_ids=(elder,)) as c:
        r = await c.post("/orders", json=order_body(elder, code, **extra),
                         headers={"Idempotency-Key": key or str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    return r.json()


async def offers_of(env, order_id: str) -> list[OfferRow]:
    async with env.db.sessions() as s:
        return list((await s.execute(sa.select(OfferRow).where(OfferRow.order_id == uuid.UUID(order_id))
                                     .order_by(OfferRow.offered_at, OfferRow.rank))).scalars())


async def wait_offered(env, order_id: str, count: int = 1, outcome: str = "pending") -> list[OfferRow]:
    async def ready():
        rows = await offers_of(env, order_id)
        return rows if sum(r.outcome == outcome for r in rows) >= count else None

    return await wait_for(ready, what=f"{count} {outcome} offer(s) for {order_id}")


async def state_of(env, order_id: str) -> str:
    return await env.scalar(sa.select(OrderRow.state).where(OrderRow.id == uuid.UUID(order_id)))


async def accepted_order(env, *, payment: str = "community") -> tuple[dict, dict, str]:
    """An order accepted by its only candidate: (order, candidate, elder)."""
    code = env.providers.add_item()
    candidate = env.providers.add_candidate(code)
    elder = env.new_elder()
    order = await place(env, elder, code, payment=payment)
    await wait_offered(env, order["order_id"])
    async with env.client("caregiver", provider_id=candidate["provider_id"],
                          caregiver_id=candidate["caregiver_id"]) as cg:
        r = await cg.post(f"/orders/{order['order_id']}/accept", json={})
    assert r.status_code == 200 and r.json()["state"] == "accepted", r.text
    return r.json(), candidate, elder


def caregiver(env, candidate: dict):
    return env.client("caregiver", provider_id=candidate["provider_id"], caregiver_id=candidate["caregiver_id"])


# ---- placing ----------------------------------------------------------------------------------


async def test_place_prices_from_the_catalogue_holds_the_voucher_share_and_replays(orders_env):
    env = orders_env
    code = env.providers.add_item(price_fen=6000)
    elder = env.new_elder(share_bp=9000)
    key = str(uuid.uuid4())
    body = order_body(elder, code)
    async with env.client("family", elder_ids=(elder,)) as c:
        r = await c.post("/orders", json=body, headers={"Idempotency-Key": key})
        assert r.status_code == 201, r.text
        order = r.json()
        assert (order["price_fen"], order["voucher_fen"], order["elder_fen"]) == (6000, 5400, 600)
        assert order["summary"] == "代金券支付 54 元，自付 6 元"
        assert order["state"] == "placed" and order["payment"] == "community" and order["hold_id"]
        assert order["window_start"].endswith("+08:00") and order["address"].startswith("海陵区城东")
        assert (order["lat"], order["lon"]) == HOME  # the elder's home by default
        # the same request again: the first answer, no second hold
        again = await c.post("/orders", json=body, headers={"Idempotency-Key": key})
        assert again.status_code == 201 and again.json()["order_id"] == order["order_id"]
        other = await c.post("/orders", json=body | {"notes": "多放辣"}, headers={"Idempotency-Key": key})
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    holds = [b for m, p, b in env.vouchers.calls if p == "/holds" and b["order_id"] == order["order_id"]]
    assert len(holds) == 1 and holds[0]["price_fen"] == 6000 and holds[0]["kind"] == "community"
    assert holds[0]["idempotency_key"] == order["order_id"]
    # the elder copy was fetched once from assessment and kept
    assert env.assessment.count("GET", f"/elders/{elder}") == 1
    assert await env.scalar(sa.select(ElderRow.source).where(ElderRow.elder_id == uuid.UUID(elder))) == "fetched"
    placed = [e for e in await env.outbox("youfu.order.placed.v1") if e["order_id"] == order["order_id"]]
    assert placed == [placed[0]] and placed[0]["voucher_fen"] == 5400 and placed[0]["district_code"] == HAILING
    # self-pay: no hold at all
    self_paid = await place(env, elder, code, payment="self_pay")
    assert self_paid["summary"] == "自费支付 60 元" and self_paid["hold_id"] is None
    assert not [1 for _, p, b in env.vouchers.calls if p == "/holds" and b["order_id"] == self_paid["order_id"]]


async def test_vouchers_down_answers_503_and_writes_nothing(orders_env):
    env = orders_env
    code = env.providers.add_item()
    elder = env.new_elder()

    async def counts():
        return (await env.scalar(sa.select(sa.func.count()).select_from(OrderRow)),
                await env.scalar(sa.select(sa.func.count()).select_from(OutboxRow)),
                await env.scalar(sa.select(sa.func.count()).select_from(IdempotencyRow)))

    before = await counts()
    client = env.rt.client("vouchers")
    real_url, client.base_url = client.base_url, f"http://127.0.0.1:{free_port()}"  # nobody listens
    try:
        async with env.client("elder", elder_ids=(elder,)) as c:
            r = await c.post("/orders", json=order_body(elder, code), headers={"Idempotency-Key": "down-1"})
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "养老服务券服务" in r.json()["detail"]
    finally:
        client.base_url = real_url
    assert await counts() == before
    # no voucher of that kind this month: vouchers' 409 and its message, nothing written
    poor = env.new_elder(share_bp=None)
    async with env.client("elder", elder_ids=(poor,)) as c:
        r = await c.post("/orders", json=order_body(poor, code), headers={"Idempotency-Key": "no-voucher"})
    assert r.status_code == 409 and "自费" in r.json()["detail"], r.text
    assert await counts() == before


async def test_bad_input_is_refused_with_reasons(orders_env):
    env = orders_env
    code = env.providers.add_item(voucher_kinds=("community",))
    elder = env.new_elder()
    async with env.client("elder", elder_ids=(elder,)) as c:
        past = order_body(elder, code) | {"window_start": "2020-01-01T09:00:00", "window_end": "2020-01-01T10:00:00"}
        r = await c.post("/orders", json=past)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "window_start"
        w = window()
        reversed_ = order_body(elder, code) | {"window_start": w["window_end"], "window_end": w["window_start"]}
        assert (await c.post("/orders", json=reversed_)).json()["errors"][0]["field"] == "window_end"
        r = await c.post("/orders", json=order_body(elder, "no-such-item"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "service_code"
        r = await c.post("/orders", json=order_body(elder, code, payment="mutual_aid"))
        assert r.status_code == 422 and "邻里互助券" in r.json()["detail"]
        r = await c.post("/orders", json=order_body(str(uuid.uuid4()), code))
        assert r.status_code == 403  # not their elder (checked before any lookup)


async def test_who_may_order_and_see_what(orders_env):
    env = orders_env
    code = env.providers.add_item()
    elder, stranger = env.new_elder(), env.new_elder()
    gaogang_elder = env.new_elder(district=GAOGANG)
    # a family member orders only for linked elders: 403, and nothing is looked up or written
    async with env.client("family", elder_ids=(elder,)) as family:
        r = await family.post("/orders", json=order_body(stranger, code))
        assert r.status_code == 403 and "绑定" in r.json()["detail"]
    assert env.assessment.count("GET", f"/elders/{stranger}") == 0
    mine = await place(env, elder, code)
    theirs = await place(env, stranger, code)
    async with env.client("family", elder_ids=(elder,)) as family:
        assert (await family.get(f"/orders/{theirs['order_id']}")).status_code == 404
        assert (await family.get(f"/orders/{mine['order_id']}")).status_code == 200
        listed = (await family.get("/orders")).json()
        assert {o["elder_id"] for o in listed} == {elder}
    # an officer orders on behalf within the district only
    async with env.client("officer", district=HAILING) as officer:
        r = await officer.post("/orders", json=order_body(elder, code, payment="self_pay"))
        assert r.status_code == 201, r.text
        r = await officer.post("/orders", json=order_body(gaogang_elder, code, payment="self_pay"))
        assert r.status_code == 403
        assert (await officer.get(f"/orders/{theirs['order_id']}")).status_code == 200
    async with env.client("officer", district=GAOGANG) as officer:
        assert (await officer.get(f"/orders/{theirs['order_id']}")).status_code == 404
    # the 12349 desk orders like an officer of its scope: a district's desk its district, a city desk anyone;
    # standing (recurring) orders are not the desk's
    async with env.client("operator", district=HAILING) as desk:
        r = await desk.post("/orders", json=order_body(elder, code, payment="self_pay"))
        assert r.status_code == 201 and r.json()["elder_id"] == elder, r.text
        assert (await desk.post("/orders", json=order_body(gaogang_elder, code, payment="self_pay"))).status_code == 403
        assert (await desk.get(f"/orders/{theirs['order_id']}")).status_code == 200
        assert {o["district_code"] for o in (await desk.get("/orders")).json()} == {HAILING}
        standing = {"elder_id": elder, "service_code": code, "weekdays": [1], "time": "11:00", "weeks": 1,
                    "start_date": (datetime.now(timezone.utc) + timedelta(days=2)).date().isoformat(), "payment": "self_pay"}
        assert (await desk.post("/recurring-orders", json=standing)).status_code == 403
    async with env.client("operator", district=GAOGANG) as desk:
        assert (await desk.get(f"/orders/{theirs['order_id']}")).status_code == 404
    async with env.client("operator") as city_desk:
        r = await city_desk.post("/orders", json=order_body(gaogang_elder, code, payment="self_pay"))
        assert r.status_code == 201, r.text
        assert (await city_desk.get(f"/orders/{theirs['order_id']}")).status_code == 200
    # a provider that was never offered the order does not see it
    async with env.client("provider_admin", provider_id=str(uuid.uuid4())) as provider:
        assert (await provider.get(f"/orders/{mine['order_id']}")).status_code == 404
        assert (await provider.get("/orders")).json() == []
    async with env.client("assessor") as assessor:
        assert (await assessor.get(f"/orders/{mine['order_id']}")).status_code == 404


# ---- dispatch ---------------------------------------------------------------------------------


async def test_sequential_dispatch_moves_on_after_a_decline_and_a_timeout(orders_env):
    env = orders_env
    code = env.providers.add_item(mode="sequential")
    first, second, third = (env.providers.add_candidate(code) for _ in range(3))
    elder = env.new_elder()
    order = await place(env, elder, code)
    oid = order["order_id"]
    rows = await wait_offered(env, oid)
    assert [str(r.provider_id) for r in rows] == [first["provider_id"]]
    assert await state_of(env, oid) == "offered"
    with env.offer_timeout(1):
        async with env.client("provider_admin", provider_id=first["provider_id"]) as p1:
            r = await p1.post(f"/orders/{oid}/decline", json={"reason": "该时段人手已满"})
            assert r.status_code == 200 and r.json()["outcome"] == "declined", r.text
            # declining twice, or accepting after declining, is refused with the reason
            again = await p1.post(f"/orders/{oid}/accept", json={"caregiver_id": first["caregiver_id"]})
            assert again.status_code == 409 and again.json()["reason"] == "declined"
        await wait_for(lambda: _offered_to(env, oid, second["provider_id"]), what="offer to the second")
    # the second lets its 1 s offer lapse; the third gets it (with the normal timeout again)
    rows = await wait_offered(env, oid, outcome="expired")
    third_offer = await wait_for(lambda: _offered_to(env, oid, third["provider_id"]), what="offer to the third")
    assert (third_offer.deadline - third_offer.offered_at).total_seconds() == 30
    outcomes = {str(r.provider_id): r.outcome for r in await offers_of(env, oid)}
    assert outcomes == {first["provider_id"]: "declined", second["provider_id"]: "expired",
                        third["provider_id"]: "pending"}
    excluded = [c["exclude_providers"] for m, p, c in env.providers.calls
                if p == "/candidates" and c["service_code"] == code]
    assert excluded[:3] == ["", first["provider_id"], ",".join(sorted([first["provider_id"], second["provider_id"]]))]
    # the second cannot take it any more; the third sees its open offer with the time left
    async with env.client("provider_admin", provider_id=second["provider_id"]) as p2:
        r = await p2.post(f"/orders/{oid}/accept", json={"caregiver_id": second["caregiver_id"]})
        assert r.status_code == 409 and "过期" in r.json()["detail"]
    async with caregiver(env, third) as cg3:
        offers = (await cg3.get("/offers")).json()
        mine = [o for o in offers if o["order_id"] == oid]
        assert len(mine) == 1 and 0 < mine[0]["seconds_left"] <= 30 and mine[0]["deadline"].endswith("+08:00")
        assert mine[0]["order"]["service_code"] == code and "elder_id" not in mine[0]["order"]
        r = await cg3.post(f"/orders/{oid}/accept", json={})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "accepted" and r.json()["caregiver_id"] == third["caregiver_id"]
        assert oid not in [o["order_id"] for o in (await cg3.get("/offers")).json()]
    accepted = [e for e in await env.outbox("youfu.order.accepted.v1") if e["order_id"] == oid]
    assert accepted[0]["provider_id"] == third["provider_id"] and accepted[0]["caregiver_id"] == third["caregiver_id"]


async def _offered_to(env, order_id: str, provider_id: str) -> OfferRow | None:
    rows = await offers_of(env, order_id)
    return next((r for r in rows if str(r.provider_id) == provider_id and r.outcome == "pending"), None)


async def test_grab_mode_has_exactly_one_winner_among_30_concurrent_accepts(orders_env):
    env = orders_env
    code = env.providers.add_item(mode="grab", grab_size=5)
    providers = [env.providers.add_candidate(code) for _ in range(6)]
    elder = env.new_elder()
    order = await place(env, elder, code)
    oid = order["order_id"]
    rows = await wait_offered(env, oid, count=5)
    offered = {str(r.provider_id) for r in rows}
    assert offered == {p["provider_id"] for p in providers[:5]}  # the top five at once

    # 30 clients with their connections open, so that the accepts really arrive together
    clients = [(env.client("provider_admin", provider_id=p["provider_id"]), p) for p in providers[:5] * 6]
    await asyncio.gather(*(c.get("/health") for c, _ in clients))

    async def accept(client, candidate: dict) -> tuple[int, dict]:
        r = await client.post(f"/orders/{oid}/accept", json={"caregiver_id": candidate["caregiver_id"]})
        return r.status_code, r.json()

    try:
        results = await asyncio.gather(*(accept(c, p) for c, p in clients))
    finally:
        await asyncio.gather(*(c.aclose() for c, _ in clients))
    winners = [body for status, body in results if status == 200]
    losers = [body for status, body in results if status != 200]
    assert len(winners) == 1, [s for s, _ in results]
    assert all(b["status"] == 409 for b in losers)
    assert {b.get("reason") for b in losers} <= {"taken", "already_accepted"}
    rows = await offers_of(env, oid)
    assert sorted(r.outcome for r in rows) == ["accepted", "revoked", "revoked", "revoked", "revoked"]
    winner = next(r for r in rows if r.outcome == "accepted")
    assert await env.scalar(sa.select(OrderRow.provider_id).where(OrderRow.id == uuid.UUID(oid))) == winner.provider_id
    assert len([e for e in await env.outbox("youfu.order.accepted.v1") if e["order_id"] == oid]) == 1
    # a loser's list no longer shows the offer
    loser = next(p for p in providers[:5] if p["provider_id"] != str(winner.provider_id))
    async with env.client("provider_admin", provider_id=loser["provider_id"]) as c:
        assert [o for o in (await c.get("/offers")).json() if o["order_id"] == oid] == []


async def test_a_caregiver_named_at_accept_must_be_the_providers_own_on_duty_skilled_and_not_full(orders_env):
    env = orders_env
    code = env.providers.add_item()
    candidate = env.providers.add_candidate(code)
    pid = candidate["provider_id"]
    stranger = env.providers.add_candidate(code)["caregiver_id"]  # another provider's caregiver
    on_leave = env.providers.add_caregiver(str(uuid.uuid4()), provider_id=pid, skills=[code], status="on_leave")["id"]
    unskilled = env.providers.add_caregiver(str(uuid.uuid4()), provider_id=pid, skills=["bath"])["id"]
    full = env.providers.add_caregiver(str(uuid.uuid4()), provider_id=pid, skills=[code], today_load=8)["id"]
    colleague = env.providers.add_caregiver(str(uuid.uuid4()), provider_id=pid, skills=[code], today_load=3)["id"]
    order = await place(env, env.new_elder(), code)
    oid = order["order_id"]
    await wait_offered(env, oid)
    async with env.client("provider_admin", provider_id=pid) as admin:
        refused = {}
        for name, cid in (("unknown", str(uuid.uuid4())), ("stranger", stranger), ("on_leave", on_leave),
                          ("unskilled", unskilled), ("full", full)):
            r = await admin.post(f"/orders/{oid}/accept", json={"caregiver_id": cid})
            refused[name] = (r.status_code, r.json())
        assert {n: s for n, (s, _) in refused.items()} == {"unknown": 422, "stranger": 422, "on_leave": 422,
                                                            "unskilled": 422, "full": 409}, refused
        assert refused["stranger"][1]["errors"] == [{"field": "caregiver_id", "reason": "该护理员不属于您的机构"}]
        assert "休假" in refused["on_leave"][1]["errors"][0]["reason"]
        assert refused["full"][1]["reason"] == "caregiver_full" and "上限 8 单" in refused["full"][1]["detail"]
        assert await state_of(env, oid) == "offered"  # nothing written by the refusals
        r = await admin.post(f"/orders/{oid}/accept", json={"caregiver_id": colleague})
        assert r.status_code == 200 and r.json()["caregiver_id"] == colleague, r.text
    # accepting with the matched caregiver asks providers nothing
    asked = [p for m, p, _ in env.providers.calls if p.startswith("/caregivers/")]
    assert candidate["caregiver_id"] not in " ".join(asked)


async def test_unmatched_orders_wait_for_officers_and_are_retried(orders_env):
    env = orders_env
    code = env.providers.add_item()
    elder = env.new_elder()
    order = await place(env, elder, code)
    oid = order["order_id"]
    await wait_for(lambda: _state_is(env, oid, "unmatched"), what="unmatched")
    async with env.client("officer", district=HAILING) as officer:
        listed = (await officer.get("/unmatched")).json()
        assert oid in [o["order_id"] for o in listed]
        assert (await officer.get("/unmatched", params={"district_code": GAOGANG})).status_code == 403
    async with env.client("family", elder_ids=(elder,)) as family:
        assert (await family.get("/unmatched")).status_code == 403
    # a provider joins; the retry (every second here) finds it
    candidate = env.providers.add_candidate(code)
    await wait_for(lambda: _offered_to(env, oid, candidate["provider_id"]), what="offer after retry")
    assert await state_of(env, oid) == "offered"
    # the provider accepts, then gives the order back: dispatched again, not to them
    async with env.client("provider_admin", provider_id=candidate["provider_id"]) as p:
        r = await p.post(f"/orders/{oid}/accept", json={"caregiver_id": candidate["caregiver_id"]})
        assert r.status_code == 200, r.text
        r = await p.post(f"/orders/{oid}/cancel", json={"reason": "护理员生病"})
        assert r.status_code == 200 and r.json()["state"] in ("placed", "offered", "unmatched"), r.text
    outcomes = [r.outcome for r in await offers_of(env, oid)]
    assert outcomes == ["withdrawn"]
    await wait_for(lambda: _state_is(env, oid, "unmatched"), what="unmatched again")
    assert not [e for e in await env.outbox("youfu.order.cancelled.v1") if e["order_id"] == oid]
    returned = [e for e in await env.outbox("youfu.order.returned.v1") if e["order_id"] == oid]
    assert returned[0]["provider_id"] == candidate["provider_id"] and returned[0]["reason"] == "护理员生病"


async def _state_is(env, order_id: str, state: str) -> bool:
    return await state_of(env, order_id) == state


# ---- delivery ---------------------------------------------------------------------------------


async def test_check_in_within_200_m_refused_at_350_m_unless_a_reason_is_given(orders_env):
    env = orders_env
    order, candidate, elder = await accepted_order(env)
    oid = order["order_id"]
    near, far = north_of(HOME, 150), north_of(HOME, 350)
    async with env.client("caregiver", provider_id=candidate["provider_id"], caregiver_id=str(uuid.uuid4())) as other:
        r = await other.post(f"/orders/{oid}/check-in", json={"lat": near[0], "lon": near[1]})
        assert r.status_code == 403  # a colleague who was not assigned
    async with caregiver(env, candidate) as cg:
        r = await cg.post(f"/orders/{oid}/check-in", json={"lat": far[0], "lon": far[1]})
        assert r.status_code == 422, r.text
        assert "350 米" in r.json()["detail"] and r.json()["distance_m"] == 350 and r.json()["limit_m"] == 200
        assert await state_of(env, oid) == "accepted"
        assert await env.scalar(sa.select(sa.func.count()).select_from(ServiceRecordRow)
                                .where(ServiceRecordRow.order_id == uuid.UUID(oid))) == 0
        r = await cg.post(f"/orders/{oid}/check-in", json={"lat": near[0], "lon": near[1]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["state"] == "in_service" and body["check_in"]["distance_m"] == 150
        assert body["check_in"]["outcome"] == "accepted" and "150 米" in body["message"]
        again = await cg.post(f"/orders/{oid}/check-in", json={"lat": near[0], "lon": near[1]})
        assert again.status_code == 409 and again.json()["current_state"] == "in_service"
    # too far with a reason: recorded as an exception
    order2, candidate2, _ = await accepted_order(env)
    async with caregiver(env, candidate2) as cg2:
        r = await cg2.post(f"/orders/{order2['order_id']}/check-in",
                           json={"lat": far[0], "lon": far[1], "reason": "小区封路，在北门等候老人"})
        assert r.status_code == 200, r.text
        check_in = r.json()["check_in"]
        assert check_in == {"at": check_in["at"], "distance_m": 350, "limit_m": 200, "outcome": "exception",
                            "exception_reason": "小区封路，在北门等候老人"}


async def test_after_check_in_no_cancel_check_out_completes_then_review_and_settlement(orders_env):
    env = orders_env
    order, candidate, elder = await accepted_order(env)
    oid = order["order_id"]
    async with env.client("family", elder_ids=(elder,)) as family:
        early = await family.post(f"/orders/{oid}/review", json={"rating": 5})
        assert early.status_code == 409 and early.json()["current_state"] == "accepted"
    async with caregiver(env, candidate) as cg:
        r = await cg.post(f"/orders/{oid}/check-out", json={"record": "送餐"})
        assert r.status_code == 409 and r.json()["current_state"] == "accepted"  # not checked in yet
        near = north_of(HOME, 20)
        assert (await cg.post(f"/orders/{oid}/check-in", json={"lat": near[0], "lon": near[1]})).status_code == 200
    async with env.client("family", elder_ids=(elder,)) as family:
        r = await family.post(f"/orders/{oid}/cancel", json={"reason": "不需要了"})
        assert r.status_code == 409, r.text
        assert r.json()["current_state"] == "in_service" and "服务中" in r.json()["detail"]
    async with caregiver(env, candidate) as cg:
        r = await cg.post(f"/orders/{oid}/check-out", json={"record": "送餐一份，协助用餐", "duration_min": 45,
                                                              "unconfirmed_reason": "老人没有手机"})
        assert r.status_code == 200 and r.json()["state"] == "completed", r.text
        assert r.json()["check_out"]["duration_min"] == 45
    completed = [e for e in await env.outbox("youfu.order.completed.v1") if e["order_id"] == oid]
    assert len(completed) == 1
    event = completed[0]
    assert event["hold_id"] == order["hold_id"] and event["provider_id"] == candidate["provider_id"]
    assert (event["amount_fen"], event["voucher_fen"], event["duration_min"]) == (6000, 5400, 45)
    assert event["service_code"] == order["service_code"] and event["checkin_distance_m"] == 20.0
    assert event["caregiver_id"] == candidate["caregiver_id"] and event["district_code"] == HAILING
    assert event["elder_id"] == elder and datetime.fromisoformat(event["completed_at"]).tzinfo is not None
    # the elder's side rates once
    async with env.client("family", elder_ids=(elder,)) as family:
        r = await family.post(f"/orders/{oid}/review", json={"rating": 5, "comment": "准时，态度好"})
        assert r.status_code == 200 and r.json()["review"]["rating"] == 5, r.text
        again = await family.post(f"/orders/{oid}/review", json={"rating": 1})
        assert again.status_code == 409 and again.json()["reason"] == "already_reviewed"
        assert (await family.post(f"/orders/{oid}/review", json={"rating": 6})).status_code == 422
    reviewed = [e for e in await env.outbox("youfu.order.reviewed.v1") if e["order_id"] == oid]
    assert reviewed[0]["rating"] == 5 and reviewed[0]["provider_id"] == candidate["provider_id"]
    # vouchers captured: voucher.redeemed through the broker settles the order, once
    redeemed = {"elder_id": elder, "order_id": oid, "hold_id": order["hold_id"], "amount_fen": 5400,
                "provider_id": candidate["provider_id"]}
    first = await env.publish("youfu.vouchers", "youfu.voucher.redeemed.v1", elder, redeemed)
    await wait_for(lambda: _state_is(env, oid, "settled"), timeout_s=30, what="settled")
    settled_at = await env.scalar(sa.select(OrderRow.settled_at).where(OrderRow.id == uuid.UUID(oid)))
    await env.publish("youfu.vouchers", "youfu.voucher.redeemed.v1", elder, redeemed, event_id=first.id)  # redelivered
    second = await env.publish("youfu.vouchers", "youfu.voucher.redeemed.v1", elder, redeemed)  # a second copy

    async def both_seen():
        return await env.scalar(sa.select(sa.func.count()).select_from(InboxRow).where(
            InboxRow.event_id.in_([first.id, second.id]))) == 2

    await wait_for(both_seen, what="the copies consumed")
    assert await env.scalar(sa.select(OrderRow.settled_at).where(OrderRow.id == uuid.UUID(oid))) == settled_at
    assert await env.scalar(sa.select(OrderRow.captured_fen).where(OrderRow.id == uuid.UUID(oid))) == 5400
    assert await env.scalar(sa.select(sa.func.count()).select_from(DeadLetterRow)) == 0
    async with env.client("elder", elder_ids=(elder,)) as own:
        body = (await own.get(f"/orders/{oid}")).json()
        assert body["state"] == "settled" and body["state_label"] == "已结算" and body["review"]["rating"] == 5


async def test_cancel_before_check_in_publishes_and_voids_the_hold(orders_env):
    env = orders_env
    order, candidate, elder = await accepted_order(env)
    oid = order["order_id"]
    async with env.client("family", elder_ids=(elder,)) as family:
        r = await family.post(f"/orders/{oid}/cancel", json={"reason": "老人临时住院"})
        assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
        again = await family.post(f"/orders/{oid}/cancel", json={"reason": "再取消一次"})
        assert again.status_code == 409 and again.json()["current_state"] == "cancelled"
    cancelled = [e for e in await env.outbox("youfu.order.cancelled.v1") if e["order_id"] == oid]
    assert cancelled == [cancelled[0]] and cancelled[0]["hold_id"] == order["hold_id"]
    assert cancelled[0]["reason"] == "老人临时住院" and cancelled[0]["cancelled_by"] == "family"
    assert env.vouchers.holds[oid]["status"] == "released"
    async with caregiver(env, candidate) as cg:
        near = north_of(HOME, 10)
        r = await cg.post(f"/orders/{oid}/check-in", json={"lat": near[0], "lon": near[1]})
        assert r.status_code == 409 and r.json()["current_state"] == "cancelled"


async def test_an_order_far_ahead_is_dispatched_only_from_the_lead_time(orders_env):
    env = orders_env
    code = env.providers.add_item()
    env.providers.add_candidate(code)
    elder = env.new_elder()
    lead, env.rt.settings.dispatch_lead_h = env.rt.settings.dispatch_lead_h, 48
    try:
        order = await place(env, elder, code, **window(hours_ahead=24 * 5))
    finally:
        env.rt.settings.dispatch_lead_h = lead
    await asyncio.sleep(0.5)  # a few dispatcher ticks
    assert await state_of(env, order["order_id"]) == "placed" and await offers_of(env, order["order_id"]) == []
    starts = datetime.fromisoformat(order["window_start"])
    assert datetime.fromisoformat(order["next_dispatch_at"]) == starts - timedelta(hours=48)


async def test_an_order_placed_for_later_is_dispatched_when_due_though_the_dispatcher_sleeps_long(orders_env):
    # placing an order for later does not make the dispatcher read the table; it is told the
    # order's dispatch time, and looks then (D71)
    env = orders_env
    code = env.providers.add_item()
    env.providers.add_candidate(code)
    elder = env.new_elder()
    tick, lead = env.rt.settings.dispatch_tick_s, env.rt.settings.dispatch_lead_h
    env.rt.settings.dispatch_tick_s = 60.0
    try:
        await asyncio.sleep(1.5)  # the dispatcher's last short sleep ends: it now sleeps a minute
        env.rt.settings.dispatch_lead_h = 24 * 5 - 3 / 3600  # due three seconds after placing
        order = await place(env, elder, code, **window(hours_ahead=24 * 5))
        env.rt.settings.dispatch_lead_h = lead
        assert await state_of(env, order["order_id"]) == "placed"
        due = datetime.fromisoformat(order["next_dispatch_at"])
        assert timedelta(seconds=1) < due - datetime.now(timezone.utc) < timedelta(seconds=4)
        offers = await wait_offered(env, order["order_id"])
        assert offers and offers[0].offered_at >= due
        assert offers[0].offered_at - due < timedelta(seconds=3)
    finally:
        env.rt.settings.dispatch_tick_s, env.rt.settings.dispatch_lead_h = tick, lead


async def test_disputes_are_resolved_by_officers(orders_env):
    env = orders_env
    near = north_of(HOME, 40)
    upheld, candidate, elder = await accepted_order(env)
    voided, candidate2, elder2 = await accepted_order(env)
    for order, cand in ((upheld, candidate), (voided, candidate2)):
        async with caregiver(env, cand) as cg:
            r = await cg.post(f"/orders/{order['order_id']}/check-in", json={"lat": near[0], "lon": near[1]})
            assert r.status_code == 200, r.text
    async with caregiver(env, candidate) as cg:
        r = await cg.post(f"/orders/{upheld['order_id']}/dispute", json={"reason": "x"})
        assert r.status_code == 403  # providers do not open disputes
    async with env.client("family", elder_ids=(elder, elder2)) as family:
        for order in (upheld, voided):
            r = await family.post(f"/orders/{order['order_id']}/dispute", json={"reason": "护理员提前离开"})
            assert r.status_code == 200 and r.json()["state"] == "disputed", r.text
        r = await family.post(f"/orders/{upheld['order_id']}/resolve", json={"resolution": "upheld"})
        assert r.status_code == 403
    async with env.client("officer", district=HAILING) as officer:
        r = await officer.post(f"/orders/{upheld['order_id']}/resolve", json={"resolution": "upheld", "note": "核实"})
        assert r.status_code == 200 and r.json()["state"] == "completed", r.text
        r = await officer.post(f"/orders/{voided['order_id']}/resolve", json={"resolution": "voided", "note": "未服务"})
        assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
        again = await officer.post(f"/orders/{voided['order_id']}/resolve", json={"resolution": "upheld"})
        assert again.status_code == 409 and again.json()["current_state"] == "cancelled"
    completed = [e for e in await env.outbox("youfu.order.completed.v1") if e["order_id"] == upheld["order_id"]]
    assert len(completed) == 1 and completed[0]["duration_min"] >= 1  # never checked out: timed to the ruling
    cancelled = [e for e in await env.outbox("youfu.order.cancelled.v1") if e["order_id"] == voided["order_id"]]
    assert len(cancelled) == 1 and env.vouchers.holds[voided["order_id"]]["status"] == "released"
