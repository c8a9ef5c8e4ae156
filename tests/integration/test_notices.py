"""Live notices in the gateway (gateway/notices.py, gateway/consumers.py, gateway/api/notices.py) on
real PostgreSQL: two replicas' consumers write each notice once and each pushes only to the
accounts connected to it; the inbox shows the last 50 and the gateway's periodic pass prunes the
rest; the routes answer only the caller's own. The fast handler and the prune on both backends:
tests/integration/test_notices_inbox.py."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from gateway import accounts, notices
from gateway.consumers import subscriptions
from gateway.main import create_app as create_gateway
from gateway.models import Notice
from gateway.notices import INBOX_SIZE, InboxPrune, NoticeHub
from shared.db import Database
from shared.events import CloudEvent
from shared.inbox import handle_event
from shared.migrations import upgrade
from shared.pii import PiiCipher
from shared.settings import Settings
from tests.support.waiting import wait_for
from youfu.broker import free_port

ELDER_A, ELDER_B, PROVIDER, CAREGIVER = (str(uuid.uuid4()) for _ in range(4))
T0 = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
async def world(databases):
    """A gateway database with two households (elder A + family A, family B of elder B), a provider desk
    and a caregiver."""
    url = databases.new_url("notices")
    await asyncio.to_thread(upgrade, "gateway", url)
    pii = Fernet.generate_key().decode()
    db = Database(url)
    pw = accounts.hash_password("notices-pass-1")
    now = datetime.now(timezone.utc)
    users = {}
    async with db.transaction() as s:
        for i, (name, role, fields) in enumerate([
            ("elder_a", "elder", {"elder_id": ELDER_A}), ("family_a", "family", {}), ("family_b", "family", {}),
            ("desk", "provider_admin", {"provider_id": PROVIDER}),
            ("caregiver", "caregiver", {"provider_id": PROVIDER, "caregiver_id": CAREGIVER}),
        ]):
            users[name] = await accounts.create_user(s, cipher=PiiCipher(pii), phone=f"1391111{i:04d}", password="notices-pass-1",
                                                     role=role, display_name={"caregiver": "李红"}.get(name, name), now=now,
                                                     password_hash=pw, **fields)
        for who, elder in (("family_a", ELDER_A), ("family_b", ELDER_B)):
            await accounts.add_family_link(s, user=users[who], elder_id=elder, relation="子女", consent_by="老人",
                                           consent_method="in_person", recorded_by="test", now=now)
    yield SimpleNamespace(url=url, db=db, pii=pii, ids={k: str(u.id) for k, u in users.items()})
    await db.dispose()


def replica(name: str, now: datetime = T0):
    """What a gateway replica's consumer is: its subscription (its own inbox scope) and its hub."""
    hub = NoticeHub()
    ctx = SimpleNamespace(runtime=SimpleNamespace(hub=hub), now=lambda: now,
                          settings=Settings(instance_id=name, kafka_bootstrap="", log_json=False))
    return subscriptions(ctx)[0], hub


def event(kind: str, data: dict, at: datetime = T0) -> CloudEvent:
    return CloudEvent(source="/youfu/orders", type=f"youfu.order.{kind}.v1", subject=data.get("order_id", "x"), time=at,
                      data={"order_id": str(uuid.uuid4()), "provider_id": PROVIDER, "district_code": "321202", **data})


async def rows(db: Database, **where) -> list[Notice]:
    async with db.sessions() as s:
        q = sa.select(Notice).filter_by(**where).order_by(Notice.seq)
        return list((await s.execute(q)).scalars())


async def test_two_replicas_write_each_notice_once_and_push_only_to_their_own_clients(world):
    (sub1, hub1), (sub2, hub2) = replica("one"), replica("two")
    assert sub1.name != sub2.name  # each replica its own inbox scope (and consumer group)
    q_family_a = hub1.subscribe(world.ids["family_a"])  # family A's page is on replica 1
    q_elder_a = hub2.subscribe(world.ids["elder_a"])  # the elder's on replica 2
    q_family_b = hub2.subscribe(world.ids["family_b"])  # another family, on replica 2
    checked_in = event("checked_in", {"elder_id": ELDER_A, "caregiver_id": CAREGIVER, "at": T0.isoformat(), "distance_m": 8})
    outcomes = await asyncio.gather(handle_event(world.db, sub1, checked_in), handle_event(world.db, sub2, checked_in))
    assert outcomes == ["applied", "applied"]
    written = await rows(world.db, event_id=checked_in.id)
    assert sorted(str(r.user_id) for r in written) == sorted([world.ids["elder_a"], world.ids["family_a"]])
    assert {r.title for r in written} == {"护理员已到达"} and all("李红" in r.body for r in written)
    got_a, got_elder = q_family_a.get_nowait(), q_elder_a.get_nowait()
    assert got_a["id"] == f"{checked_in.id}:{world.ids['family_a']}" and got_a["kind"] == "order.checked_in"
    assert got_elder["id"] == f"{checked_in.id}:{world.ids['elder_a']}"
    assert q_family_a.empty() and q_elder_a.empty() and q_family_b.empty()  # B hears nothing of A
    # a redelivery to either replica changes nothing and pushes nothing
    assert await handle_event(world.db, sub1, checked_in) == "duplicate"
    assert len(await rows(world.db, event_id=checked_in.id)) == 2 and q_family_a.empty()
    # the provider desk hears of a new offer; the households do not
    offered = event("offered", {"elder_id": ELDER_A, "service_code": "bath", "window_start": T0.isoformat(),
                                "offer_deadline": T0.isoformat()})
    await handle_event(world.db, sub1, offered)
    assert [str(r.user_id) for r in await rows(world.db, event_id=offered.id)] == [world.ids["desk"]]


async def test_the_inbox_shows_the_last_50_the_prune_keeps_them_and_old_replays_neither_displace_nor_go_live(world):
    sub, hub = replica("prune", now=T0 + timedelta(days=1))
    family_b = uuid.UUID(world.ids["family_b"])
    queue = hub.subscribe(world.ids["family_b"])
    events = [event("en_route", {"elder_id": ELDER_B, "caregiver_id": CAREGIVER}, at=T0 + timedelta(minutes=i))
              for i in range(INBOX_SIZE + 5)]
    for e in events:
        await handle_event(world.db, sub, e)
    # the event's path only writes; until the periodic pass the inbox holds more, and shows the newest 50
    assert len(await rows(world.db, user_id=family_b)) == INBOX_SIZE + 5
    async with world.db.sessions() as s:
        shown = await notices.list_notices(s, user_id=world.ids["family_b"])
    assert [n["id"] for n in shown["items"]] == [f"{e.id}:{family_b}" for e in reversed(events[5:])]
    assert shown["unread"] == INBOX_SIZE
    assert queue.qsize() == INBOX_SIZE + 5  # each went live when it was written
    while not queue.empty():
        queue.get_nowait()
    assert await InboxPrune().run(world.db) == 5
    kept = await rows(world.db, user_id=family_b)
    assert {r.event_id for r in kept} == {e.id for e in events[5:]}  # the newest 50 by the event's time
    # a new replica reading from the earliest offset meets the oldest event again: older than the 50
    # kept, it is not written again, and never pushed
    late, late_hub = replica("late", now=T0 + timedelta(days=2))
    late_queue = late_hub.subscribe(world.ids["family_b"])
    assert await handle_event(world.db, late, events[0]) == "applied"
    assert await handle_event(world.db, late, events[-1]) == "applied"
    assert {r.event_id for r in await rows(world.db, user_id=family_b)} == {e.id for e in events[5:]}
    assert late_queue.empty()  # history, not news


@pytest.fixture(scope="module")
async def gateway(world, keypair):
    from tests.conftest import RunningApp

    settings = Settings(var_dir="var", jwt_public_key=keypair[1], jwt_private_key=keypair[0], pii_key=world.pii,
                        kafka_bootstrap="", log_json=False, database_urls={"gateway": world.url}, instance_id="http",
                        notices_heartbeat_s=0.2, notices_prune_s=0.2, service_urls={s: f"http://127.0.0.1:{free_port()}"
                                                               for s in ("orders", "vouchers", "assessment", "providers")})
    app = create_gateway(settings)
    running = await RunningApp(app, free_port()).start()
    yield SimpleNamespace(url=running.url, app=app)
    await running.stop()


async def login(c: httpx.AsyncClient, index: int) -> dict:
    r = await c.post("/api/auth/login", json={"phone": f"1391111{index:04d}", "password": "notices-pass-1"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def read_frames(response: httpx.Response, count: int) -> list[dict]:
    frames, current = [], {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in current:
                frames.append(current)
                if len(frames) == count:
                    return frames
            current = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(": ")
            current[field] = value
    return frames


async def test_inbox_read_and_stream_answer_only_the_callers_own(world, gateway):
    ctx = gateway.app.state.ctx
    sub = ctx.subscriptions[0]
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as c:
        family_a, family_b = await login(c, 1), await login(c, 2)
        inbox_a = (await c.get("/api/notices", headers=family_a)).json()
        inbox_b = (await c.get("/api/notices", headers=family_b, params={"limit": 50})).json()
        assert inbox_a["items"] and all(n["title"] == "护理员已到达" for n in inbox_a["items"])
        assert {n["id"] for n in inbox_a["items"]}.isdisjoint({n["id"] for n in inbox_b["items"]})
        assert all(n["id"].endswith(world.ids["family_b"]) for n in inbox_b["items"])
        # marking read: one's own by id; another's ids match nothing
        r = await c.post("/api/notices/read", headers=family_b, json={"ids": [inbox_a["items"][0]["id"]]})
        assert r.json() == {"marked": 0}
        r = await c.post("/api/notices/read", headers=family_a, json={"ids": [inbox_a["items"][0]["id"]]})
        assert r.json() == {"marked": 1}
        assert (await c.get("/api/notices", headers=family_a)).json()["unread"] == inbox_a["unread"] - 1
        assert (await c.get("/api/notices/stream", headers=family_a)).status_code == 406  # not a stream reader
        assert (await c.get("/api/notices/stream", headers={"Accept": "text/event-stream"})).status_code == 401
        assert (await c.get("/api/notices?limit=51", headers=family_a)).status_code == 422
        # live: family A's stream gets A's notice as it is written, B's stream only B's
        last_seq = max(n["seq"] for n in inbox_a["items"])
        stream = {"Accept": "text/event-stream"}
        async with c.stream("GET", "/api/notices/stream", headers={**family_a, **stream}) as ra, \
                c.stream("GET", "/api/notices/stream", headers={**family_b, **stream}) as rb:
            assert ra.status_code == 200 and ra.headers["content-type"].startswith("text/event-stream")
            async def both_connected() -> bool:
                return {world.ids["family_a"], world.ids["family_b"]} <= ctx.runtime.hub.connected()

            await wait_for(both_connected, 10, "both streams open")
            now = ctx.now()
            for elder, kind in ((ELDER_A, "checked_in"), (ELDER_B, "completed")):
                await handle_event(ctx.db, sub, event(kind, {"elder_id": elder, "caregiver_id": CAREGIVER, "at": now.isoformat(),
                                                             "service_code": "bath", "amount_fen": 1, "voucher_fen": 1,
                                                             "duration_min": 30, "completed_at": now.isoformat()}, at=now))
            (fa,), (fb,) = await asyncio.wait_for(asyncio.gather(read_frames(ra, 1), read_frames(rb, 1)), 10)
        assert fa["event"] == "order.checked_in" and json.loads(fa["data"])["title"] == "护理员已到达"
        assert fb["event"] == "order.completed" and json.loads(fb["data"])["id"].endswith(world.ids["family_b"])
        # resuming from a Last-Event-ID replays what arrived after it, from the inbox
        async with c.stream("GET", "/api/notices/stream", headers={**family_a, **stream, "Last-Event-ID": str(last_seq)}) as r:
            (again,) = await asyncio.wait_for(read_frames(r, 1), 10)
        assert again["id"] == fa["id"] and again["event"] == "order.checked_in"
        # the browser's EventSource sends no header: a ticket opens the stream, and nothing else
        issued = (await c.post("/api/notices/ticket", headers=family_a)).json()
        assert issued["expires_in"] == 60 and "order.checked_in" in issued["kinds"]
        params = {"ticket": issued["ticket"], "last_event_id": str(last_seq)}
        async with c.stream("GET", "/api/notices/stream", headers=stream, params=params) as r:
            assert r.status_code == 200
            (by_ticket,) = await asyncio.wait_for(read_frames(r, 1), 10)
        assert by_ticket["id"] == fa["id"]
        assert (await c.get("/api/notices", headers={"Authorization": f"Bearer {issued['ticket']}"})).status_code == 401
        bad = {"ticket": issued["ticket"][:-4] + "AAAA"}
        assert (await c.get("/api/notices/stream", headers=stream, params=bad)).status_code == 401
        # signing out ends the session the ticket came from: the ticket opens nothing any more
        assert (await c.post("/api/auth/logout", headers=family_a, json={})).status_code == 204
        ctx.runtime.sessions.forget_all()
        assert (await c.get("/api/notices/stream", headers=stream, params={"ticket": issued["ticket"]})).status_code == 401


async def test_the_gateway_prunes_inboxes_by_itself(world, gateway):
    """The periodic task `gateway-inbox-prune` (every `notices_prune_s`) cuts an inbox that grew
    past 50 between passes."""
    desk = uuid.UUID(world.ids["desk"])
    async with world.db.transaction() as s:
        for i in range(INBOX_SIZE + 3):
            s.add(Notice(event_id=f"pruned-{i}", user_id=desk, kind="order.offered", title="新的服务邀约", body="",
                         link=None, at=T0 - timedelta(days=1, minutes=i), created_at=T0, read_at=None))

    async def pruned() -> bool:
        return len(await rows(world.db, user_id=desk)) == INBOX_SIZE

    await wait_for(pruned, 10, "the desk's inbox cut to 50")
