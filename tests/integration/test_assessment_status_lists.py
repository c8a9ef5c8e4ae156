"""Status lists from other bureaus, through the assessment service's HTTP API on a real database:
upload (CSV, XLSX, JSON) and the dry run, the 422 naming missing columns, apply in one
transaction, a re-run that changes nothing, nothing half applied when an apply fails, who may
do it, and the elder page's explanation. Vouchers is a double answering `/recovery-estimates`."""
from __future__ import annotations

import asyncio
import io
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from openpyxl import Workbook

from services.assessment import status_lists as use_cases
from services.assessment.main import create_app
from shared.city import local_day
from shared.settings import Settings
from tests.conftest import RunningApp
from tests.integration.assessment_harness import GAOGANG, HAILING, elder_body
from tests.support.clients import SignedClients
from tests.support.clock import Clock
from tests.support.events import outbox_events
from tests.support.factories import id_card, new_id_card
from youfu.broker import free_port

UPDATED = "youfu.elder.updated.v1"


class FakeVouchers:
    """`POST /recovery-estimates` with amounts set by the test; `down` answers 503."""

    def __init__(self) -> None:
        self.amounts: dict[str, int] = {}
        self.asked: list[dict] = []
        self.down = False
        self.app = FastAPI()

        @self.app.post("/recovery-estimates")
        async def estimates(request: Request):
            if self.down or not request.headers.get("authorization", "").startswith("Bearer "):
                return JSONResponse({"status": 503, "detail": "down"}, status_code=503)
            body = await request.json()
            self.asked.append(body)
            return {"elders": [{"elder_id": e["elder_id"], "amount_fen": self.amounts[e["elder_id"]],
                                "providers": []} for e in body["elders"] if e["elder_id"] in self.amounts]}


class Env(SignedClients):
    def __init__(self, url, app, vouchers, make_token):
        self.url, self.app, self.vouchers, self.make_token, self.tokens = url, app, vouchers, make_token, {}

    @property
    def db(self):
        return self.app.state.ctx.db

    def city(self):
        return self.client("city_officer", user_id="city-officer-1")

    def today(self):
        return local_day(self.app.state.ctx.now())

    async def register(self, district: str = HAILING, **overrides) -> tuple[dict, str]:
        body = elder_body(district, **overrides)
        async with self.client("officer", user_id=f"officer-{district}", district=district) as officer:
            r = await officer.post("/elders", json=body)
            assert r.status_code == 201, r.text
            return r.json(), body["id_card"]

    async def elder(self, elder_id: str) -> dict:
        async with self.client("admin") as admin:
            return (await admin.get(f"/elders/{elder_id}")).json()

    async def scalar(self, sql: str, **params):
        if self.db.url.startswith("sqlite"):  # SQLAlchemy keeps a UUID as 32 hex digits there
            params = {k: v.hex if isinstance(v, uuid.UUID) else v for k, v in params.items()}
        async with self.db.sessions() as s:
            return (await s.execute(sa.text(sql), params)).scalar_one()


@pytest.fixture(scope="module")
async def env(databases, keypair, make_token, tmp_path_factory):
    vouchers = FakeVouchers()
    fake = await RunningApp(vouchers.app, free_port()).start()
    db_url = await asyncio.to_thread(databases.migrated_url, "assessment", "assessment_lists")
    settings = Settings(var_dir=tmp_path_factory.mktemp("assessment_lists"), jwt_public_key=keypair[1],
                        pii_key=Fernet.generate_key().decode(), kafka_bootstrap="", database_urls={"assessment": db_url},
                        service_urls={"vouchers": fake.url},
                        service_token=make_token("service", user_id="svc:assessment", ttl_s=3600), log_json=False)
    app = create_app(settings, clock=Clock(datetime.now(timezone.utc)))
    running = await RunningApp(app, free_port()).start()
    yield Env(running.url, app, vouchers, make_token)
    await running.stop()
    await fake.stop()


def csv_file(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def xlsx_file(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(client, kind: str, name: str, data: bytes, **headers):
    return await client.post("/status-lists", data={"kind": kind}, files={"file": (name, data)}, headers=headers)


def by_line(answer: dict) -> dict[int, dict]:
    return {row["line"]: row for row in answer["rows"]}


async def test_deaths_csv_dry_run_apply_and_rerun(env):
    today = env.today()
    died, last_week = (today - timedelta(days=7)).isoformat(), today - timedelta(days=7)
    a, a_id = await env.register()
    b, b_id = await env.register()
    c, c_id = await env.register(GAOGANG)
    wrong = new_id_card()
    wrong = wrong[:17] + ("1" if wrong[17] != "1" else "2")
    env.vouchers.amounts[a["id"]] = 12_000
    data = csv_file("序号,身份证号,姓名,死亡日期",
                    f"1,{a_id},王大爷,{died}",             # line 2: apply
                    f"2,{b_id},李四,{died}",               # line 3: name does not match
                    f"3,{new_id_card()},赵五,{died}",      # line 4: no such elder
                    f"4,{wrong},钱六,{died}",              # line 5: check digit
                    f"5,{c_id},王大爷,{(today + timedelta(days=1)).isoformat()}",  # line 6: tomorrow
                    f"6,{a_id},王大爷,{died}")             # line 7: the same row again
    async with env.city() as city:
        r = await upload(city, "deaths", "死亡名单-11月.csv", data, **{"Idempotency-Key": "deaths-1"})
        assert r.status_code == 201, r.text
        dry = r.json()
        again = await upload(city, "deaths", "死亡名单-11月.csv", data, **{"Idempotency-Key": "deaths-1"})
        assert again.json()["list_id"] == dry["list_id"]  # the same key: the same list, stored once
    assert dry["state"] == "dry_run" and dry["source"] == "死亡名单-11月.csv" and dry["uploaded_by"] == "city-officer-1"
    assert dry["counts"] == {"rows": 6, "matched": 3, "apply": 1, "unchanged": 1, "name_mismatch": 1, "unknown": 1,
                             "conflicting": 0, "invalid": 2}
    rows = by_line(dry)
    assert rows[2]["outcome"] == "apply" and rows[2]["elder_id"] == a["id"] and rows[2]["elder_name"] == "王**"
    assert rows[2]["change"] == {"field": "status", "from": "active", "to": "deceased", "effective_date": died}
    assert rows[2]["amount_fen"] == 12_000 and dry["money_at_stake_fen"] == 12_000
    assert rows[2]["id_card"] == a_id[:4] + "*" * 10 + a_id[-4:]
    assert [rows[n]["outcome"] for n in (3, 4, 5, 6, 7)] == ["name_mismatch", "unknown", "invalid", "invalid",
                                                             "unchanged"]
    assert "校验位" in rows[5]["reason"] and "晚于今天" in rows[6]["reason"] and "第 2 行" in rows[7]["reason"]
    assert env.vouchers.asked[-1] == {"elders": [{"elder_id": a["id"], "since": died}]}
    assert (await env.elder(a["id"]))["status"] == "active"  # a dry run changes nothing
    assert await env.scalar("SELECT count(*) FROM status_lists") == 1

    async with env.city() as city:
        r = await city.post(f"/status-lists/{dry['list_id']}/apply", headers={"Idempotency-Key": "apply-1"})
        assert r.status_code == 200, r.text
        applied = r.json()
        assert applied["applied"] == 1 and applied["state"] == "applied" and applied["applied_by"] == "city-officer-1"
        page = (await city.get(f"/status-lists/{dry['list_id']}", params={"offset": 4, "limit": 2})).json()
        assert [row["line"] for row in page["rows"]] == [6, 7] and page["counts"]["rows"] == 6
        listed = (await city.get("/status-lists")).json()
        assert listed["items"][0]["list_id"] == dry["list_id"] and listed["items"][0]["state"] == "applied"
    record = await env.elder(a["id"])
    assert record["status"] == "deceased" and record["status_date"] == last_week.isoformat()
    events = [e for e in await outbox_events(env.db, UPDATED) if e["data"]["elder_id"] == a["id"]]
    assert len(events) == 1
    data_ = events[0]["data"]
    assert data_["status"] == "deceased" and data_["status_date"] == died
    assert data_["changed_fields"] == ["status", "status_date"]
    assert data_["change_source"] == {"list_id": dry["list_id"], "kind": "deaths", "file": "死亡名单-11月.csv", "line": 2}
    async with env.client("family", elder_ids=[a["id"]]) as family:
        changes = (await family.get(f"/elders/{a['id']}/status-changes")).json()
    assert [(c["line"], c["file"], c["applied_by"], c["from"], c["to"]) for c in changes] == [
        (2, "死亡名单-11月.csv", "city-officer-1", "active", "deceased")]
    assert "已故" in changes[0]["explanation"]

    # re-running changes nothing: the same list again, or the same list uploaded again
    before = len(await outbox_events(env.db, UPDATED))
    async with env.city() as city:
        r = await city.post(f"/status-lists/{dry['list_id']}/apply")
        assert r.status_code == 200 and r.json()["applied"] == 0
        second = (await upload(city, "deaths", "死亡名单-11月.csv", data)).json()
        assert second["counts"]["apply"] == 0 and by_line(second)[2]["outcome"] == "unchanged"
        r = await city.post(f"/status-lists/{second['list_id']}/apply")
        assert r.json()["applied"] == 0
    assert len(await outbox_events(env.db, UPDATED)) == before
    assert await env.scalar("SELECT count(*) FROM elder_status_changes WHERE elder_id = :e", e=uuid.UUID(a["id"])) == 1


async def test_assistance_xlsx_apply_and_the_elder_page(env):
    a, a_id = await env.register(economic_status="dibao", living_situation="with_family")
    b, b_id = await env.register(economic_status="none", living_situation="alone")
    first = (env.today().replace(day=1) + timedelta(days=32)).replace(day=1).isoformat()
    data = xlsx_file([["身份证号", "姓名", "救助类别", "生效日期"], [a_id, "王大爷", "低保边缘", first],
                      [b_id, "王大爷", "特困", first]])
    async with env.city() as city:
        dry = (await upload(city, "assistance", "救助名单.xlsx", data)).json()
        assert dry["counts"]["apply"] == 2 and dry["money_at_stake_fen"] is None
        r = await city.post(f"/status-lists/{dry['list_id']}/apply")
        assert r.status_code == 200 and r.json()["applied"] == 2
    assert (await env.elder(a["id"]))["economic_status"] == "dibao_edge"
    record = await env.elder(b["id"])
    assert record["economic_status"] == "tekun" and record["special_hardship"] is True
    events = {e["data"]["elder_id"]: e["data"] for e in await outbox_events(env.db, UPDATED)}
    assert events[b["id"]]["changed_fields"] == ["economic_status", "special_hardship"]
    assert events[a["id"]]["change_source"]["kind"] == "assistance"
    async with env.client("officer", district=HAILING) as officer:
        changes = (await officer.get(f"/elders/{a['id']}/status-changes")).json()
    assert changes[0]["explanation"] == (f"根据民政救助名单（{first} 生效），您的救助类别由 低保 调整为 低保边缘；"
                                         f"下月起代金券按新类别发放。")


async def test_json_rows_from_another_system_with_a_service_token(env):
    a, a_id = await env.register()
    moved = (env.today() - timedelta(days=3)).isoformat()
    env.vouchers.down = True  # the dry run still answers, without the money
    try:
        async with env.client("service", user_id="svc:hukou") as system:
            r = await system.post("/status-lists", json={"kind": "moves", "source": "户籍系统",
                                                         "rows": [{"id_card": a_id, "date": moved},
                                                                  {"id_card": "9" * 300, "date": moved}]})
    finally:
        env.vouchers.down = False
    assert r.status_code == 201, r.text
    dry = r.json()
    assert dry["money_at_stake_fen"] is None and dry["rows"][0]["amount_fen"] is None
    assert dry["rows"][0]["line"] == 1 and dry["rows"][0]["outcome"] == "apply" and dry["source"] == "户籍系统"
    assert dry["rows"][1]["outcome"] == "invalid" and "18 位" in dry["rows"][1]["reason"]


async def test_a_file_of_another_kind_is_refused_naming_the_missing_columns(env):
    async with env.city() as city:
        r = await upload(city, "deaths", "list.csv", csv_file("身份证号,迁出日期", f"{new_id_card()},2026-01-01"))
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["missing_columns"] == ["姓名", "死亡日期"]
        assert {e["field"] for e in r.json()["errors"]} == {"file.姓名", "file.死亡日期"}
        r = await city.post("/status-lists", json={"kind": "assistance", "source": "x",
                                                   "rows": [{"id_card": new_id_card(), "status": "低保"}]})
        assert r.status_code == 422 and r.json()["missing_columns"] == ["valid_from"]
        r = await city.post("/status-lists", data={"kind": "births"}, files={"file": ("a.csv", b"x")})
        assert r.status_code == 422
    assert await env.scalar("SELECT count(*) FROM status_lists WHERE source = 'list.csv'") == 0


async def test_who_may_upload_apply_and_read(env):
    a, a_id = await env.register()
    body = {"kind": "moves", "source": "x", "rows": [{"id_card": a_id, "date": env.today().isoformat()}]}
    async with env.city() as city:
        list_id = (await city.post("/status-lists", json=body)).json()["list_id"]
    for role, fields in [("officer", {"district": HAILING}), ("assessor", {"district": HAILING}), ("family", {}),
                         ("elder", {})]:
        async with env.client(role, **fields) as other:
            assert (await other.post("/status-lists", json=body)).status_code == 403, role
            assert (await other.get("/status-lists")).status_code == 403, role
            assert (await other.get(f"/status-lists/{list_id}")).status_code == 403, role
            assert (await other.post(f"/status-lists/{list_id}/apply")).status_code == 403, role
    async with env.city() as city:
        assert (await city.get(f"/status-lists/{uuid.uuid4()}")).status_code == 404
    # an elder's changes are read like the record: another district's officer is told there is none
    async with env.client("officer", district=GAOGANG) as stranger:
        assert (await stranger.get(f"/elders/{a['id']}/status-changes")).status_code == 404
    async with env.client("caregiver") as caregiver:
        assert (await caregiver.get(f"/elders/{a['id']}/status-changes")).status_code == 403


async def test_a_failing_apply_leaves_nothing_half_applied(env, monkeypatch):
    a, a_id = await env.register()
    b, b_id = await env.register()
    died = (env.today() - timedelta(days=1)).isoformat()
    async with env.city() as city:
        dry = (await upload(city, "deaths", "d.csv", csv_file("身份证号,姓名,死亡日期", f"{a_id},王大爷,{died}",
                                                              f"{b_id},王大爷,{died}"))).json()
    assert dry["counts"]["apply"] == 2
    events_before = len(await outbox_events(env.db, UPDATED))

    async def broken(session, events):
        raise RuntimeError("the outbox insert fails after the elders were updated")

    monkeypatch.setattr(use_cases, "add_events", broken)
    async with env.city() as city:
        r = await city.post(f"/status-lists/{dry['list_id']}/apply")
        assert r.status_code == 500
    monkeypatch.undo()
    assert [(await env.elder(e["id"]))["status"] for e in (a, b)] == ["active", "active"]
    assert len(await outbox_events(env.db, UPDATED)) == events_before
    assert await env.scalar("SELECT count(*) FROM elder_status_changes WHERE list_id = :l",
                            l=uuid.UUID(dry["list_id"])) == 0
    async with env.city() as city:
        assert (await city.get(f"/status-lists/{dry['list_id']}")).json()["state"] == "dry_run"
        r = await city.post(f"/status-lists/{dry['list_id']}/apply")  # and it applies whole afterwards
        assert r.json()["applied"] == 2


async def test_an_officer_edit_between_dry_run_and_apply_is_respected(env):
    a, a_id = await env.register()
    died = (env.today() - timedelta(days=2)).isoformat()
    async with env.city() as city:
        dry = (await upload(city, "deaths", "d2.csv", csv_file("身份证号,姓名,死亡日期", f"{a_id},王大爷,{died}"))).json()
    async with env.client("officer", user_id="o", district=HAILING) as officer:
        r = await officer.patch(f"/elders/{a['id']}", json={"status": "deceased", "status_date": died})
        assert r.status_code == 200, r.text
    async with env.city() as city:
        r = (await city.post(f"/status-lists/{dry['list_id']}/apply")).json()
    assert r["applied"] == 0 and r["counts"]["unchanged"] == 1 and r["rows"][0]["outcome"] == "unchanged"


def test_id_card_helper_is_the_standard_one():
    assert id_card("11010519491231002") == "11010519491231002X"
