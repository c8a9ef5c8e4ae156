"""Live notices through two gateway replicas (issue 24): a second gateway process on the same
database, with its own consumer group, next to the platform's. A family whose page is on replica 1
and another on replica 2 each get their own notice live, once in the inbox, and never the other's.

The order events are sent to the topic as the orders service's relay would (same type and shape,
docs/architecture.md §4): the ownership question is the gateway's, and a real order would cost
the suite seconds of dispatch for nothing this test looks at."""
from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import uuid
from datetime import datetime, timezone

import httpx
import pytest

from shared.events import CloudEvent
from tests.support.clients import login
from tests.support.events import send_event
from youfu.broker import free_port, stop_process
from youfu.keys import mint_service_token
from youfu.launcher import wait_ready

pytestmark = pytest.mark.slow
STREAM = {"Accept": "text/event-stream"}


@pytest.fixture(scope="module")
def replica2(platform, repo_root):
    port = free_port()
    private = (platform.var_dir / "keys" / "jwt_private.pem").read_text()
    env = dict(platform.env, YOUFU_GATEWAY_PORT=str(port), YOUFU_INSTANCE_ID="e2e-replica-2",
               YOUFU_SERVICE_TOKEN=mint_service_token(private, "gateway"))
    with open(platform.var_dir / "logs" / "gateway-replica-2.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "youfu", "serve", "gateway"], cwd=repo_root, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, 60)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        stop_process(proc)


def family(platform, phone: str, name: str, elder_id: str) -> dict:
    admin = login(platform, "admin")
    with httpx.Client(base_url=platform.url, headers=admin, timeout=30) as c:
        r = c.post("/api/admin/users", json={"phone": phone, "password": "family-pass-1", "display_name": name, "role": "family"})
        assert r.status_code == 201, r.text
        r = c.post("/api/family-links", json={"user_id": r.json()["id"], "elder_id": elder_id, "relation": "女儿",
                                              "consent_by": "老人本人", "consent_method": "in_person"})
        assert r.status_code == 201, r.text
        r = c.post("/api/auth/login", json={"phone": phone, "password": "family-pass-1"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def checked_in(elder_id: str) -> CloudEvent:
    order_id = str(uuid.uuid4())
    return CloudEvent(source="/youfu/orders", type="youfu.order.checked_in.v1", subject=order_id,
                      data={"order_id": order_id, "elder_id": elder_id, "provider_id": str(uuid.uuid4()),
                            "district_code": "321202", "caregiver_id": str(uuid.uuid4()),
                            "at": datetime.now(timezone.utc).isoformat(), "distance_m": 12.0})


async def opened(lines) -> None:
    """The stream's first frame (its retry and a comment): from here on the replica pushes to it."""
    async for line in lines:
        if line == "":
            return


async def first_notice(lines) -> dict:
    event, data = None, None
    async for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = json.loads(line[6:])
        elif line == "" and data is not None:
            return {"event": event, **data}
    raise AssertionError("stream ended without a notice")


async def test_each_family_gets_its_own_notice_on_its_own_replica_and_never_the_others(platform, broker, replica2):
    elder_a, elder_b = str(uuid.uuid4()), str(uuid.uuid4())
    family_a = family(platform, "13762400001", "家属甲", elder_a)
    family_b = family(platform, "13762400002", "家属乙", elder_b)
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as one, \
            httpx.AsyncClient(base_url=replica2, timeout=30) as two:
        async with one.stream("GET", "/api/notices/stream", headers={**family_a, **STREAM}) as ra, \
                two.stream("GET", "/api/notices/stream", headers={**family_b, **STREAM}) as rb:
            assert ra.status_code == 200 and rb.status_code == 200
            la, lb = ra.aiter_lines(), rb.aiter_lines()
            await asyncio.wait_for(asyncio.gather(opened(la), opened(lb)), 10)
            event_a, event_b = checked_in(elder_a), checked_in(elder_b)
            # B's first: if B's notice could reach A, A's stream would show it before its own
            await send_event(broker.bootstrap, "youfu.orders", event_b.subject, event_b)
            await send_event(broker.bootstrap, "youfu.orders", event_a.subject, event_a)
            got_a, got_b = await asyncio.wait_for(asyncio.gather(first_notice(la), first_notice(lb)), 30)
        assert got_a["event"] == "order.checked_in" and got_a["title"] == "护理员已到达"
        assert got_a["id"].startswith(event_a.id) and got_b["id"].startswith(event_b.id)
        # each inbox holds its own notice once, whichever replica is asked; never the other family's
        for client in (one, two):
            inbox_a = (await client.get("/api/notices", headers=family_a)).json()["items"]
            inbox_b = (await client.get("/api/notices", headers=family_b)).json()["items"]
            assert [n["id"] for n in inbox_a] == [got_a["id"]]
            assert [n["id"] for n in inbox_b] == [got_b["id"]]
