"""The 12349 desk's call log and caller lookup: the gateway on real PostgreSQL in front of a real
assessment service (the elders and their districts), signed in as operators and officers."""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from gateway import accounts
from gateway.main import create_app as create_gateway
from gateway.models import HotlineCall
from shared.clock import system_clock
from shared.db import Database
from shared.migrations import upgrade
from shared.pii import PiiCipher
from shared.settings import Settings
from tests.conftest import RunningApp
from tests.integration.assessment_harness import GAOGANG, HAILING, assessment, elder_body, new_phone  # noqa: F401
from youfu.broker import free_port

PASSWORD = "desk-pass-1"
ACCOUNTS = {  # name → (phone, role, district)
    "city_desk": ("13911110001", "operator", None),
    "hailing_desk": ("13911110002", "operator", HAILING),
    "gaogang_desk": ("13911110003", "operator", GAOGANG),
    "hailing_officer": ("13911110004", "officer", HAILING),
    "city_officer": ("13911110005", "city_officer", None),
    "family": ("13911110006", "family", None),
}


@dataclass
class Desk:
    url: str
    db_url: str
    cipher: PiiCipher
    heads: dict[str, dict[str, str]]
    hailing_elder: dict
    gaogang_elder: dict
    hailing_elder_phone: str

    def client(self, who: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=self.heads[who], timeout=30)


@pytest.fixture(scope="module")
async def desk(assessment, databases, keypair, tmp_path_factory):  # noqa: F811 - the harness's fixture
    gw_url = databases.new_url("gw_hotline")
    await asyncio.to_thread(upgrade, "gateway", gw_url)
    pii = Fernet.generate_key().decode()
    cipher = PiiCipher(pii)
    hailing_elder_phone = new_phone()
    hailing_elder = await assessment.register(elder_body(HAILING, phone=hailing_elder_phone), district=HAILING)
    gaogang_elder = await assessment.register(elder_body(GAOGANG), district=GAOGANG)
    db = Database(gw_url)
    async with db.transaction() as s:
        for name, (phone, role, district) in ACCOUNTS.items():
            user = await accounts.create_user(s, cipher=cipher, phone=phone, password=PASSWORD, role=role,
                                              display_name=name, now=system_clock(), district_code=district)
            if role == "family":  # the daughter of the 高港区 elder
                await accounts.add_family_link(s, user=user, elder_id=str(gaogang_elder["id"]), relation="女儿",
                                               consent_by="老人本人", consent_method="in_person", recorded_by="test",
                                               now=system_clock())
    await db.dispose()
    settings = Settings(var_dir=tmp_path_factory.mktemp("gw_hotline"), jwt_private_key=keypair[0],
                        jwt_public_key=keypair[1], pii_key=pii, kafka_bootstrap="", log_json=False,
                        database_urls={"gateway": gw_url}, writes_per_minute=10_000,
                        service_urls={"assessment": assessment.url, "orders": f"http://127.0.0.1:{free_port()}",
                                      "vouchers": f"http://127.0.0.1:{free_port()}",
                                      "providers": f"http://127.0.0.1:{free_port()}"})
    running = await RunningApp(create_gateway(settings), free_port()).start()
    heads = {}
    async with httpx.AsyncClient(base_url=running.url, timeout=30) as c:
        for name, (phone, _, _) in ACCOUNTS.items():
            r = await c.post("/api/auth/login", json={"phone": phone, "password": PASSWORD})
            assert r.status_code == 200, r.text
            heads[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    yield Desk(running.url, gw_url, cipher, heads, hailing_elder, gaogang_elder, hailing_elder_phone)
    await running.stop()


def a_call(phone: str, elder_id=None, **over) -> dict:
    end = datetime.now(timezone.utc) - timedelta(seconds=5)
    return {"caller_phone": phone, "elder_id": str(elder_id) if elder_id else None, "reason": "consult",
            "outcome": "answered", "started_at": (end - timedelta(seconds=185)).isoformat(), "ended_at": end.isoformat(),
            "note": "询问服务时间"} | over


async def test_the_number_is_encrypted_at_rest_and_found_by_its_blind_index(desk):
    phone = new_phone()
    async with desk.client("hailing_desk") as c:
        r = await c.post("/api/hotline/calls", json=a_call(f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}",
                                                             desk.hailing_elder["id"]))
        assert r.status_code == 201, r.text
        saved = r.json()
        assert saved["duration_s"] == 185 and saved["district_code"] == HAILING
        assert saved["elder_name"] == desk.hailing_elder["name"] and "*" in saved["caller_phone"]
        await c.post("/api/hotline/calls", json=a_call(new_phone()))  # another caller, same desk
        found = (await c.get("/api/hotline/calls", params={"caller_phone": phone})).json()
    assert [x["id"] for x in found["items"]] == [saved["id"]]
    assert found["items"][0]["caller_phone"] == phone  # the operator who took it sees it in full
    db = Database(desk.db_url)
    try:
        async with db.sessions() as s:
            row = (await s.execute(sa.select(HotlineCall).where(HotlineCall.id == uuid.UUID(saved["id"])))).scalar_one()
            raw = (await s.execute(sa.text("SELECT * FROM hotline_calls WHERE id = :id"),
                                   {"id": uuid.UUID(saved["id"])})).mappings().one()
    finally:
        await db.dispose()
    assert all(phone not in str(v) for v in raw.values())  # the plain number is in no column
    assert desk.cipher.decrypt(row.caller_phone_enc) == phone
    assert row.caller_phone_index == desk.cipher.blind_index(phone) and row.caller_phone_masked == phone[:3] + "****" + phone[-4:]


async def test_one_call_per_idempotency_key_and_bad_records_are_refused_by_field(desk):
    phone, key = new_phone(), str(uuid.uuid4())
    async with desk.client("city_desk") as c:
        first = await c.post("/api/hotline/calls", json=a_call(phone), headers={"Idempotency-Key": key})
        again = await c.post("/api/hotline/calls", json=a_call(phone) | {"started_at": first.json()["started_at"],
                                                                            "ended_at": first.json()["ended_at"]},
                             headers={"Idempotency-Key": key})
        assert first.status_code == 201 and again.status_code == 201 and again.json()["id"] == first.json()["id"]
        assert (await c.get("/api/hotline/calls", params={"caller_phone": phone})).json()["total"] == 1
        # a double click: the same call sent twice at once under one key is one record
        raced, key = new_phone(), str(uuid.uuid4())
        body = a_call(raced)
        both = await asyncio.gather(*(c.post("/api/hotline/calls", json=body, headers={"Idempotency-Key": key})
                                      for _ in range(2)))
        assert [r.status_code for r in both] == [201, 201] and both[0].json()["id"] == both[1].json()["id"]
        assert (await c.get("/api/hotline/calls", params={"caller_phone": raced})).json()["total"] == 1
        end = datetime.now(timezone.utc)
        r = await c.post("/api/hotline/calls", json=a_call(phone, reason="chat", outcome="done",
                                                           started_at=end.isoformat(),
                                                           ended_at=(end - timedelta(minutes=1)).isoformat()))
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        assert {e["field"] for e in r.json()["errors"]} >= {"reason", "outcome", "ended_at"}
        r = await c.post("/api/hotline/calls", json=a_call("12345"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "caller_phone"


async def test_each_desk_and_officer_sees_its_own_scope(desk):
    hailing_phone, gaogang_phone = new_phone(), new_phone()
    async with desk.client("hailing_desk") as hailing, desk.client("gaogang_desk") as gaogang, \
            desk.client("city_desk") as city, desk.client("hailing_officer") as officer, \
            desk.client("city_officer") as bureau, desk.client("family") as family:
        # an elder of another district is not there for a district's desk: 404, nothing written
        r = await hailing.post("/api/hotline/calls", json=a_call(gaogang_phone, desk.gaogang_elder["id"]))
        assert r.status_code == 404, r.text
        assert (await hailing.post("/api/hotline/calls", json=a_call(hailing_phone, desk.hailing_elder["id"]))
                ).status_code == 201
        assert (await city.post("/api/hotline/calls", json=a_call(gaogang_phone, desk.gaogang_elder["id"]))
                ).status_code == 201
        districts = {x["district_code"] for x in (await officer.get("/api/hotline/calls")).json()["items"]}
        assert districts == {HAILING}
        assert (await officer.get("/api/hotline/calls", params={"district_code": GAOGANG})).status_code == 403
        assert {x["district_code"] for x in (await gaogang.get("/api/hotline/calls")).json()["items"]} <= {GAOGANG}
        everything = (await bureau.get("/api/hotline/calls")).json()["items"]
        assert {HAILING, GAOGANG} <= {x["district_code"] for x in everything}
        only = (await bureau.get("/api/hotline/calls", params={"district_code": GAOGANG, "reason": "consult"})).json()
        assert only["items"] and {x["district_code"] for x in only["items"]} == {GAOGANG}
        # a district officer reads the log masked; the city's officer in full
        mine = (await officer.get("/api/hotline/calls", params={"caller_phone": hailing_phone})).json()["items"]
        assert mine and "*" in mine[0]["caller_phone"]
        assert (await bureau.get("/api/hotline/calls", params={"caller_phone": hailing_phone})).json()[
            "items"][0]["caller_phone"] == hailing_phone
        assert (await family.get("/api/hotline/calls")).status_code == 403
        assert (await officer.post("/api/hotline/lookups", json={"phone": hailing_phone})).status_code == 403
        # the lookup: by the elder's own number (assessment's blind index) and by a family account's
        spaced = desk.hailing_elder_phone[:3] + "-" + desk.hailing_elder_phone[3:]
        for who in (hailing, city):
            own = (await who.post("/api/hotline/lookups", json={"phone": spaced})).json()
            assert own["caller"]["kind"] == "elder" and [e["id"] for e in own["elders"]] == [str(desk.hailing_elder["id"])]
            assert "*" in own["elders"][0]["phone"]  # the cards are masked; the profile is read after
        assert (await gaogang.post("/api/hotline/lookups", json={"phone": spaced})).json()["elders"] == []
        by_family = (await city.post("/api/hotline/lookups", json={"phone": ACCOUNTS["family"][0]})).json()
        assert by_family["caller"]["kind"] == "family" and by_family["caller"]["name"] == "family"
        assert [e["id"] for e in by_family["elders"]] == [str(desk.gaogang_elder["id"])]
        assert by_family["elders"][0]["relation"] == "女儿"
        hidden = (await hailing.post("/api/hotline/lookups", json={"phone": ACCOUNTS["family"][0]})).json()
        assert hidden["elders"] == [] and hidden["caller"]["name"] is None  # another district's family: nobody
