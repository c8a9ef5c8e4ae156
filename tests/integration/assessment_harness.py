"""Shared parts of the assessment integration tests: the service over real HTTP on a real
database with the session's broker, a clock the tests can move, valid ID-card numbers
(tests/support), and helpers to read the outbox and the raw tables."""
from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from services.assessment.instruments import get_instrument
from services.assessment.main import create_app
from shared.db import Database
from shared.settings import Settings
from tests.conftest import RunningApp
from tests.support.clients import SignedClients
from tests.support.clock import Clock
from tests.support.events import outbox_events
from tests.support.factories import new_id_card
from tests.support.waiting import wait_for  # noqa: F401 - the assessment tests import it from here
from youfu.broker import free_port

HAILING, GAOGANG, JIANGYAN = "321202", "321203", "321204"
GB = get_instrument("gb_t_42195_2022")


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


@dataclass
class AssessmentService(SignedClients):
    url: str
    db_url: str
    app: object
    clock: Clock
    bootstrap: str
    pii_key: str
    make_token: object
    tokens: dict[str, str] = field(default_factory=dict)
    topic_prefix: str = ""

    @property
    def db(self) -> Database:
        return self.app.state.ctx.db

    async def register(self, body: dict | None = None, *, district: str = HAILING) -> dict:
        async with self.client("officer", user_id=f"officer-{district}", district=district) as officer:
            r = await officer.post("/elders", json=body or elder_body(district))
            assert r.status_code == 201, r.text
            return r.json()

    async def outbox(self, type_: str, elder_id: str | None = None) -> list[dict]:
        events = [e["data"] for e in await outbox_events(self.db, type_)]
        return [e for e in events if elder_id is None or e["elder_id"] == elder_id]

    async def count(self, table: str) -> int:
        async with self.db.sessions() as s:
            return (await s.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()


@pytest.fixture(scope="module")
async def assessment(databases, keypair, make_token, broker, tmp_path_factory):
    """One service per test module on its own database and its own topic namespace on the
    session's broker; each test creates its own elders. The namespace also names the consumer
    group: modules run one after another on a worker, and the broker's group coordinator wedges
    for good when a stopped module's member leaves a group while a rebalance is pending
    (tests/faults/repro_tansu_group_wedge.py), which left the next module's consumer idle."""
    db_url = await asyncio.to_thread(databases.migrated_url, "assessment")
    pii_key = Fernet.generate_key().decode()
    prefix = f"t{uuid.uuid4().hex[:8]}."
    settings = Settings(var_dir=tmp_path_factory.mktemp("assessment"), jwt_public_key=keypair[1], pii_key=pii_key,
                        kafka_bootstrap=broker.bootstrap, database_urls={"assessment": db_url}, log_json=False,
                        outbox_poll_s=0.2, topic_prefix=prefix)
    clock = Clock(datetime.now(timezone.utc))
    app = create_app(settings, clock=clock)
    running = await RunningApp(app, free_port()).start()
    yield AssessmentService(running.url, db_url, app, clock, broker.bootstrap, pii_key, make_token,
                            topic_prefix=prefix)
    await running.stop()
