"""Supervision at the door (issue 24) on the orders service over real HTTP and PostgreSQL: 出发,
the confirmation code at check-out (wrong tries counted, the lock, concurrent tries), the family's
remote confirmation, 老人不在家 after the wait, repeated no-shows for the officer, and photos
(size limit, type by magic bytes, EXIF/GPS stripped, served only within the order's scope)."""
from __future__ import annotations

import asyncio
import io
import uuid
from datetime import timedelta

import sqlalchemy as sa
from PIL import Image

from services.orders.models import DoorRecordRow, OrderRow, ServiceRecordRow
from services.orders.rules.door import confirmation_code
from shared.clock import system_clock
from tests.integration.orders_doubles import GAOGANG, HAILING, HOME, north_of, orders_env, wait_for
from tests.integration.test_orders_service import accepted_order, caregiver, place, wait_offered

__all__ = ["orders_env"]  # the module fixture, imported for pytest
NEAR = north_of(HOME, 20)
RECORD = "送餐一份，协助用餐"


def code_of(env, order_id: str) -> str:
    return confirmation_code(env.rt.door_code_key, uuid.UUID(order_id), 4)


async def checked_in(env) -> tuple[dict, dict, str]:
    order, candidate, elder = await accepted_order(env)
    async with caregiver(env, candidate) as cg:
        r = await cg.post(f"/orders/{order['order_id']}/check-in", json={"lat": NEAR[0], "lon": NEAR[1]})
        assert r.status_code == 200, r.text
    return order, candidate, elder


async def door_row(env, order_id: str) -> DoorRecordRow | None:
    async with env.db.sessions() as s:
        return await s.get(DoorRecordRow, uuid.UUID(order_id))


async def arrived_minutes_ago(env, order_id: str, minutes: float) -> None:
    async with env.db.transaction() as s:
        await s.execute(sa.update(ServiceRecordRow).where(ServiceRecordRow.order_id == uuid.UUID(order_id))
                        .values(checkin_at=system_clock() - timedelta(minutes=minutes)))


async def test_en_route_code_shown_to_the_household_wrong_code_counted_right_code_confirms(orders_env):
    env = orders_env
    order, candidate, elder = await accepted_order(env)
    oid = order["order_id"]
    async with env.client("family", elder_ids=(elder,)) as family:
        r = await family.get(f"/orders/{oid}/door-code")
        assert r.status_code == 200, r.text
        code = r.json()["code"]
        assert code == code_of(env, oid) and len(code) == 4 and code.isdigit()
        assert r.json()["state"] == "accepted" and r.json()["family_confirmed"] is False
    async with env.client("family", elder_ids=(env.new_elder(),)) as stranger:
        assert (await stranger.get(f"/orders/{oid}/door-code")).status_code == 404  # another household's order
    async with caregiver(env, candidate) as cg:
        assert (await cg.get(f"/orders/{oid}/door-code")).status_code == 403  # the caregiver must be told it
        for _ in range(2):  # tapping 出发 twice: one event
            r = await cg.post(f"/orders/{oid}/en-route")
            assert r.status_code == 200 and r.json()["door"]["en_route_at"].endswith("+08:00"), r.text
        r = await cg.post(f"/orders/{oid}/check-in", json={"lat": NEAR[0], "lon": NEAR[1]})
        assert r.status_code == 200
        assert (await cg.post(f"/orders/{oid}/en-route")).status_code == 409  # already there
        nothing = await cg.post(f"/orders/{oid}/check-out", json={"record": RECORD})
        assert nothing.status_code == 422, nothing.text
        assert {e["field"] for e in nothing.json()["errors"]} == {"confirmation_code", "unconfirmed_reason"}
        wrong = str((int(code) + 1) % 10000).zfill(4)
        r = await cg.post(f"/orders/{oid}/check-out", json={"record": RECORD, "confirmation_code": wrong})
        assert r.status_code == 422 and r.json()["attempts_left"] == 4 and "还可以再试 4 次" in r.json()["detail"]
        assert (await door_row(env, oid)).code_attempts == 1  # the refused try was stored
        r = await cg.post(f"/orders/{oid}/check-out", json={"record": RECORD, "confirmation_code": f" {code} "})
        assert r.status_code == 200 and r.json()["state"] == "completed", r.text
        assert r.json()["door"]["confirmation"] == "code" and r.json()["door"]["confirmation_label"] == "老人确认码确认"
    en_route = [e for e in await env.outbox("youfu.order.en_route.v1") if e["order_id"] == oid]
    assert len(en_route) == 1 and en_route[0]["caregiver_id"] == candidate["caregiver_id"]
    [arrived] = [e for e in await env.outbox("youfu.order.checked_in.v1") if e["order_id"] == oid]
    assert arrived["distance_m"] == 20 and arrived["district_code"] == HAILING
    [completed] = [e for e in await env.outbox("youfu.order.completed.v1") if e["order_id"] == oid]
    assert (completed["confirmation"], completed["unconfirmed_reason"]) == ("code", None)
    offered = [e for e in await env.outbox("youfu.order.offered.v1") if e["order_id"] == oid]
    assert [e["provider_id"] for e in offered] == [candidate["provider_id"]] and offered[0]["offer_deadline"]


async def test_concurrent_wrong_codes_lock_after_five_then_only_a_reason_checks_out(orders_env):
    env = orders_env
    order, candidate, _ = await checked_in(env)
    oid, code = order["order_id"], code_of(env, order["order_id"])
    wrong = str((int(code) + 7) % 10000).zfill(4)
    async with caregiver(env, candidate) as cg:
        answers = await asyncio.gather(*(cg.post(f"/orders/{oid}/check-out", json={"record": RECORD,
                                                                                     "confirmation_code": wrong})
                                         for _ in range(7)))
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [409, 409, 409, 422, 422, 422, 422], [r.text for r in answers]  # 4 tries left, then locked
        assert {r.json().get("reason") for r in answers if r.status_code == 409} == {"code_locked"}
        row = await door_row(env, oid)
        assert row.code_attempts == 5 and row.code_locked_at is not None
        r = await cg.post(f"/orders/{oid}/check-out", json={"record": RECORD, "confirmation_code": code})
        assert r.status_code == 409 and "已锁定" in r.json()["detail"]  # a lock is a lock
        r = await cg.post(f"/orders/{oid}/check-out", json={"record": RECORD, "unconfirmed_reason": "老人记不清确认码"})
        assert r.status_code == 200 and r.json()["door"]["confirmation"] == "unconfirmed", r.text
        assert r.json()["door"]["code_locked"] is True
    [completed] = [e for e in await env.outbox("youfu.order.completed.v1") if e["order_id"] == oid]
    assert (completed["confirmation"], completed["unconfirmed_reason"]) == ("unconfirmed", "老人记不清确认码")


async def test_family_confirms_remotely_with_one_tap(orders_env):
    env = orders_env
    order, candidate, elder = await accepted_order(env)
    oid = order["order_id"]
    async with env.client("family", elder_ids=(elder,)) as family:
        early = await family.post(f"/orders/{oid}/family-confirm")
        assert early.status_code == 409 and "签到后" in early.json()["detail"]
    async with caregiver(env, candidate) as cg:
        assert (await cg.post(f"/orders/{oid}/check-in", json={"lat": NEAR[0], "lon": NEAR[1]})).status_code == 200
        assert (await cg.post(f"/orders/{oid}/family-confirm")).status_code == 403
    async with env.client("elder", elder_ids=(elder,)) as himself:
        assert (await himself.post(f"/orders/{oid}/family-confirm")).status_code == 403  # the elder shows the code
    async with env.client("family", elder_ids=(env.new_elder(),)) as stranger:
        assert (await stranger.post(f"/orders/{oid}/family-confirm")).status_code == 404
    async with env.client("family", elder_ids=(elder,)) as family:
        for _ in range(2):
            r = await family.post(f"/orders/{oid}/family-confirm")
            assert r.status_code == 200 and r.json()["door"]["family_confirmed_at"], r.text
        assert (await family.get(f"/orders/{oid}/door-code")).json()["family_confirmed"] is True
    async with caregiver(env, candidate) as cg:
        r = await cg.post(f"/orders/{oid}/check-out", json={"record": RECORD})
        assert r.status_code == 200 and r.json()["door"]["confirmation"] == "family", r.text
    [completed] = [e for e in await env.outbox("youfu.order.completed.v1") if e["order_id"] == oid]
    assert completed["confirmation"] == "family"


async def test_no_show_after_the_wait_releases_the_hold_and_repeats_are_flagged(orders_env):
    env = orders_env
    first, candidate, elder = await checked_in(env)
    oid = first["order_id"]
    async with caregiver(env, candidate) as cg:
        await arrived_minutes_ago(env, oid, 14)
        r = await cg.post(f"/orders/{oid}/no-show")
        assert r.status_code == 409 and r.json()["minutes_left"] == 1 and "还需等待 1 分钟" in r.json()["detail"], r.text
        await arrived_minutes_ago(env, oid, 15.1)
        key = {"Idempotency-Key": str(uuid.uuid4())}
        r = await cg.post(f"/orders/{oid}/no-show", headers=key)
        assert r.status_code == 200 and r.json()["state"] == "no_show" and r.json()["state_label"] == "老人不在家"
        again = await cg.post(f"/orders/{oid}/no-show", headers=key)  # the answer was lost: resent
        assert again.status_code == 200 and again.json() == r.json()
        assert (await cg.post(f"/orders/{oid}/no-show")).status_code == 409  # ended
        assert (await cg.post(f"/orders/{oid}/check-out", json={"record": RECORD, "unconfirmed_reason": "x"})
                ).status_code == 409
    [event] = [e for e in await env.outbox("youfu.order.no_show.v1") if e["order_id"] == oid]
    assert event["hold_id"] == first["hold_id"] and event["caregiver_id"] == candidate["caregiver_id"]
    assert ("POST", f"/holds/{first['hold_id']}/void", {}) in env.vouchers.calls
    assert not [e for e in await env.outbox("youfu.order.completed.v1") if e["order_id"] == oid]
    async with env.client("officer", district=HAILING) as officer:
        listed = (await officer.get("/no-show-elders")).json()
        assert elder not in [x["elder_id"] for x in listed["elders"]]  # once is not yet repeated
    # a second no-show of the same elder within 30 days: flagged to the officer of the district
    code = first["service_code"]
    async with env.client("family", elder_ids=(elder,)) as family:
        r = await family.post("/orders", json={**{k: first[k] for k in ("elder_id", "window_start", "window_end")},
                                               "service_code": code, "payment": "community"},
                              headers={"Idempotency-Key": str(uuid.uuid4())})
        assert r.status_code == 201, r.text
    second = r.json()["order_id"]
    await wait_offered(env, second)
    async with caregiver(env, candidate) as cg:
        assert (await cg.post(f"/orders/{second}/accept", json={})).status_code == 200
        assert (await cg.post(f"/orders/{second}/check-in", json={"lat": NEAR[0], "lon": NEAR[1]})).status_code == 200
        await arrived_minutes_ago(env, second, 15)
        assert (await cg.post(f"/orders/{second}/no-show")).status_code == 200
        assert (await cg.get("/no-show-elders")).status_code == 403
    async with env.client("officer", district=HAILING) as officer:
        listed = (await officer.get("/no-show-elders")).json()
        [flagged] = [x for x in listed["elders"] if x["elder_id"] == elder]
        assert flagged["no_shows"] == 2 and flagged["district_code"] == HAILING and listed["threshold"] == 2
        assert (await officer.get("/no-show-elders", params={"district_code": GAOGANG})).status_code == 403
    async with env.client("officer", district=GAOGANG) as other:
        assert elder not in [x["elder_id"] for x in (await other.get("/no-show-elders")).json()["elders"]]
    # the first no-show falls out of the 30-day window: no longer flagged
    async with env.db.transaction() as s:
        await s.execute(sa.update(DoorRecordRow).where(DoorRecordRow.order_id == uuid.UUID(oid))
                        .values(no_show_at=system_clock() - timedelta(days=30, minutes=1)))
    async with env.client("city_officer") as city:
        assert elder not in [x["elder_id"] for x in (await city.get("/no-show-elders")).json()["elders"]]


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (64, 48), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "YoufuCam"  # Make
    exif[0x0131] = "SecretSoftware"  # Software
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (32.0, 29.0, 40.0), 3: "E", 4: (119.0, 55.0, 20.0)})
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


async def test_photos_are_stripped_limited_by_size_and_type_and_served_within_scope(orders_env):
    env = orders_env
    order, candidate, elder = await checked_in(env)
    oid = order["order_id"]
    original = jpeg_with_gps()
    assert b"SecretSoftware" in original and Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    png = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 255, 128)).save(png, format="PNG")
    async with caregiver(env, candidate) as cg:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        r = await cg.post(f"/orders/{oid}/photos", data={"stage": "checkin"},
                          files={"photo": ("door.jpg", original, "image/jpeg")}, headers=key)
        assert r.status_code == 201, r.text
        photo = r.json()
        again = await cg.post(f"/orders/{oid}/photos", data={"stage": "checkin"},
                              files={"photo": ("door.jpg", original, "image/jpeg")}, headers=key)
        assert again.status_code == 201 and again.json()["photo_id"] == photo["photo_id"]  # one photo, not two
        assert (photo["stage"], photo["content_type"], photo["width"], photo["height"]) == ("checkin", "image/jpeg", 64, 48)
        r = await cg.post(f"/orders/{oid}/photos", data={"stage": "checkout"},
                          files={"photo": ("x.bin", png.getvalue(), "application/octet-stream")})  # sniffed: PNG
        assert r.status_code == 201 and r.json()["content_type"] == "image/png", r.text
        too_big = b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024)
        r = await cg.post(f"/orders/{oid}/photos", data={"stage": "checkin"}, files={"photo": ("big.jpg", too_big, "image/jpeg")})
        assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"][0]["field"] == "photo"
        r = await cg.post(f"/orders/{oid}/photos", data={"stage": "checkin"},
                          files={"photo": ("fake.jpg", b"GIF89a" + b"\0" * 100, "image/jpeg")})
        assert r.status_code == 422 and "JPEG 或 PNG" in r.json()["detail"]
        r = await cg.post(f"/orders/{oid}/photos", data={"stage": "checkin"},
                          files={"photo": ("broken.jpg", b"\xff\xd8\xff\xe0" + b"\x13" * 50, "image/jpeg")})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "photo"
        r = await cg.post(f"/orders/{oid}/photos", data={"stage": "lunch"}, files={"photo": ("a.jpg", original, "image/jpeg")})
        assert r.status_code == 422
        listed = (await cg.get(f"/orders/{oid}")).json()["door"]["photos"]
        assert [p["stage"] for p in listed] == ["checkin", "checkout"]
    async with env.client("family", elder_ids=(elder,)) as family:
        r = await family.get(f"/orders/{oid}/photos/{photo['photo_id']}")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        served = r.content
    assert b"SecretSoftware" not in served and b"YoufuCam" not in served and b"Exif" not in served
    stripped = Image.open(io.BytesIO(served))
    assert len(stripped.getexif()) == 0 and stripped.size == (64, 48)
    async with env.client("family", elder_ids=(env.new_elder(),)) as stranger:
        assert (await stranger.get(f"/orders/{oid}/photos/{photo['photo_id']}")).status_code == 404
    async with env.client("caregiver", provider_id=str(uuid.uuid4()), caregiver_id=str(uuid.uuid4())) as other:
        assert (await other.get(f"/orders/{oid}/photos/{photo['photo_id']}")).status_code == 404
        r = await other.post(f"/orders/{oid}/photos", data={"stage": "checkin"},
                             files={"photo": ("door.jpg", original, "image/jpeg")})
        assert r.status_code == 404
    blobs = list((env.tmp_path / "blobs").rglob("*.*"))
    assert len([b for b in blobs if oid in str(b)]) == 2  # refused photos stored nothing


async def test_an_order_nobody_took_before_its_window_ended_is_announced_unmatched(orders_env):
    env = orders_env
    code = env.providers.add_item()  # no provider offers it
    elder = env.new_elder()
    order = await place(env, elder, code)
    oid = uuid.UUID(order["order_id"])
    await wait_for(lambda: state_is(env, oid, "unmatched"), what="the first round finding nobody")
    now = system_clock()
    async with env.db.transaction() as s:
        await s.execute(sa.update(OrderRow).where(OrderRow.id == oid).values(
            window_start=now - timedelta(hours=2), window_end=now - timedelta(hours=1), next_dispatch_at=now))
    env.rt.wake_dispatcher()
    await wait_for(lambda: state_is(env, oid, "cancelled"), what="the unmatched order cancelled")
    [unmatched] = [e for e in await env.outbox("youfu.order.unmatched.v1") if e["order_id"] == str(oid)]
    assert unmatched["elder_id"] == elder and unmatched["service_code"] == code and unmatched["district_code"] == HAILING
    [cancelled] = [e for e in await env.outbox("youfu.order.cancelled.v1") if e["order_id"] == str(oid)]
    assert cancelled["hold_id"] == order["hold_id"]  # the hold goes back as before


async def state_is(env, order_id: uuid.UUID, state: str) -> bool:
    return await env.scalar(sa.select(OrderRow.state).where(OrderRow.id == order_id)) == state
