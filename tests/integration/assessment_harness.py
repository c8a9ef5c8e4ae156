"""Shared parts of the assessment integration tests: the service over real HTTP on a real
database with the session's broker, a clock the tests can move, valid ID-card numbers made with
the GB 11643 algorithm, and helpers to read the outbox and the raw tables."""
from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import httpx
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from services.assessment.instruments import get_instrument
from services.assessment.main import create_app
from shared.db import Database
from shared.kernel_models import OutboxRow
from shared.migrations import upgrade
from shared.settings import Settings
from tests.conftest import RunningApp
from youfu.broker import free_port

HAILING, GAOGANG, JIANGYAN = "321202", "321203", "321204"
GB = get_instrument("gb_t_42195_2022")
_used: set[str] = set()


def check_char(first17: str) -> str:
    # GB 11643-1999, written out independently of services.assessment.rules.idcard
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def new_id_card(region: str = HAILING, born: date = date(1948, 5, 6), *, male: bool = True) -> str:
    """A valid number not handed out before in this process (the 17th digit carries the gender)."""
    while True:
        seq = f"{random.randrange(100):02d}{random.choice('13579' if male else '02468')}"
        first17 = f"{region}{born:%Y%m%d}{seq}"
        number = first17 + check_char(first17)
        if number not in _used:
            _used.add(number)
            return number


def new_phone() -> str:
    return f"139{random.randrange(10**8):08d}"


def elder_body(district: str = HAILING, **overrides) -> dict:
    born = date(1940 + random.randrange(15), random.randrange(1, 13), random.randrange(1, 29))
    body = {
        "name": "王大爷", "gender": "male", "birth_date": born.isoformat(), "id_card": new_id_card(district, born),
        "phone": new_phone(), "address": "泰州市海陵区城东街道凤凰路 12 号", "lat": 32.49, "lon": 119.92,
        "district_code": district, "street": "城东", "living_situation": "alone", "economic_status": "dibao",
        "emergency_contacts": [{"name": "王小红", "relation": "女儿", "phone": new_phone()}],
    }
    return body | overrides


def items_totalling(total: int) -> dict[str, int]:
    """GB/T 42195 item scores summing to `total`, lowered item by item from the maximum and
    leaving 意识水平 at its maximum (so no coma)."""
    items = {item.code: item.max_score for item in GB.items}
    deficit = GB.max_total - total
    for item in GB.items:
        if item.code == "consciousness" or deficit == 0:
            continue
        lowest = min(s for s in item.allowed_scores if item.max_score - s <= deficit)
        deficit -= item.max_score - lowest
        items[item.code] = lowest
    assert deficit == 0
    return items


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class AssessmentService:
    url: str
    db_url: str
    app: object
    clock: Clock
    bootstrap: str
    pii_key: str
    make_token: object
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        return self.app.state.ctx.db

    def headers(self, role: str, **fields) -> dict[str, str]:
        key = json.dumps([role, sorted(fields.items())], default=str)
        if key not in self.tokens:
            self.tokens[key] = self.make_token(role, **fields)
        return {"Authorization": f"Bearer {self.tokens[key]}"}

    def client(self, role: str = "admin", **fields) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=self.headers(role, **fields), timeout=30)

    async def register(self, body: dict | None = None, *, district: str = HAILING) -> dict:
        async with self.client("officer", user_id=f"officer-{district}", district=district) as officer:
            r = await officer.post("/elders", json=body or elder_body(district))
            assert r.status_code == 201, r.text
            return r.json()

    async def outbox(self, type_: str, elder_id: str | None = None) -> list[dict]:
        async with self.db.sessions() as s:
            rows = (await s.execute(sa.select(OutboxRow.payload).where(OutboxRow.type == type_)
                                    .order_by(OutboxRow.seq))).scalars()
            events = [json.loads(p)["data"] for p in rows]
        return [e for e in events if elder_id is None or e["elder_id"] == elder_id]

    async def count(self, table: str) -> int:
        async with self.db.sessions() as s:
            return (await s.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()


async def wait_for(predicate, timeout_s: float = 20.0, what: str = "condition"):
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await predicate()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
async def assessment(databases, keypair, make_token, broker, tmp_path_factory):
    """One service per test module on its own database; each test creates its own elders."""
    db_url = databases.new_url("assessment")
    await asyncio.to_thread(upgrade, "assessment", db_url)
    pii_key = Fernet.generate_key().decode()
    settings = Settings(var_dir=tmp_path_factory.mktemp("assessment"), jwt_public_key=keypair[1], pii_key=pii_key,
                        kafka_bootstrap=broker.bootstrap, database_urls={"assessment": db_url}, log_json=False,
                        outbox_poll_s=0.2)
    clock = Clock(datetime.now(timezone.utc))
    app = create_app(settings, clock=clock)
    running = await RunningApp(app, free_port()).start()
    yield AssessmentService(running.url, db_url, app, clock, broker.bootstrap, pii_key, make_token)
    await running.stop()
