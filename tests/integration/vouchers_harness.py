"""Shared parts of the vouchers integration tests: the service over real HTTP on a real
database, its own topic namespace on the session broker (so other modules' elder and order events
cannot reach this service's consumer groups), a clock the tests move across a month end,
and helpers to publish other services' events and to wait for their effects."""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import pytest
import sqlalchemy as sa

from services.vouchers.ledger import store as ledger_store
from services.vouchers.main import create_app
from shared.city import CITY_TZ
from shared.db import Database
from shared.events import CloudEvent
from shared.settings import Settings
from tests.conftest import Broker, RunningApp
from tests.support.clients import SignedClients
from tests.support.clock import Clock
from tests.support.events import outbox_events, send_event
from tests.support.waiting import wait_for
from youfu.broker import free_port


@dataclass
class Vouchers(SignedClients):
    url: str
    db_url: str
    app: object
    clock: Clock
    bootstrap: str
    make_token: object
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        return self.app.state.ctx.db

    async def publish(self, topic: str, type_: str, key: str, data: dict, *, event_id: str | None = None) -> CloudEvent:
        """Send another service's event as CloudEvents JSON straight to the broker."""
        event = CloudEvent(source="/youfu/test", type=type_, subject=key, data=data, id=event_id or str(uuid.uuid4()))
        return await send_event(self.bootstrap, self.topic_prefix + topic, key, event)

    async def outbox(self, type_: str) -> list[dict]:
        return [e["data"] for e in await outbox_events(self.db, type_)]

    async def scalar(self, query):
        async with self.db.sessions() as s:
            return (await s.execute(query)).scalar()

    async def ledger_ok(self) -> None:
        async with self.db.sessions() as s:
            check = await ledger_store.check_book(s)
        assert check.ok, (check.report.violations, check.extra)


async def start_vouchers(*, databases, keypair, make_token, tmp_path, clock: Clock, broker: Broker):
    db_url = await asyncio.to_thread(databases.migrated_url, "vouchers")
    prefix = f"t{uuid.uuid4().hex[:8]}."  # this module's own topics on the session broker
    settings = Settings(var_dir=tmp_path, jwt_public_key=keypair[1], kafka_bootstrap=broker.bootstrap,
                        database_urls={"vouchers": db_url}, log_json=False, outbox_poll_s=0.2, topic_prefix=prefix)
    app = create_app(settings, clock=clock, run_scheduler=False)
    running = await RunningApp(app, free_port()).start()
    service = Vouchers(running.url, db_url, app, clock, broker.bootstrap, make_token)
    service.topic_prefix = prefix
    return running, service


def elder_event(elder_id: uuid.UUID, *, district: str, economic: str, living: str = "alone", hardship: bool = False,
                grade: int | None = 2, status: str = "active") -> dict:
    return {"elder_id": str(elder_id), "district_code": district, "street": "城东", "economic_status": economic,
            "living_situation": living, "special_hardship": hardship, "status": status, "grade": grade,
            "lat": 32.49, "lon": 119.92}


ASSESSMENT_TOPIC, ORDERS_TOPIC = "youfu.assessment", "youfu.orders"


async def register(vouchers: Vouchers, *, district: str, economic: str = "dibao", living: str = "alone",
                   hardship: bool = False, grade: int | None = 2, expect_vouchers: int = 1) -> uuid.UUID:
    """Publish `elder.registered` and wait until this month's vouchers are issued from it."""
    from services.vouchers.models import ElderRow, VoucherRow
    from services.vouchers.rules.calendar import month_of

    elder = uuid.uuid4()
    await vouchers.publish(ASSESSMENT_TOPIC, "youfu.elder.registered.v1", str(elder),
                           elder_event(elder, district=district, economic=economic, living=living,
                                       hardship=hardship, grade=grade))
    month = month_of(vouchers.clock.now)

    async def done() -> bool:
        known = await vouchers.scalar(sa.select(sa.func.count()).select_from(ElderRow).where(ElderRow.elder_id == elder))
        issued = await vouchers.scalar(sa.select(sa.func.count()).select_from(VoucherRow).where(
            VoucherRow.elder_id == elder, VoucherRow.month == month))
        return known == 1 and issued == expect_vouchers

    await wait_for(done, what=f"elder {elder} registered with {expect_vouchers} voucher(s)")
    return elder


async def place_hold(vouchers: Vouchers, elder: uuid.UUID, price_fen: int, *, service_code: str = "meal",
                     kind: str = "community") -> dict:
    order = uuid.uuid4()
    async with vouchers.client("service", user_id="svc:orders") as orders:
        r = await orders.post("/holds", headers={"Idempotency-Key": str(order)}, json={
            "order_id": str(order), "elder_id": str(elder), "kind": kind, "price_fen": price_fen,
            "service_code": service_code})
    assert r.status_code == 201, r.text
    return r.json()


def completion(hold: dict, *, elder: uuid.UUID, provider: uuid.UUID, amount_fen: int, completed_at: str,
               district: str, **overrides) -> dict:
    return {"order_id": hold["order_id"], "elder_id": str(elder), "provider_id": str(provider),
            "hold_id": hold["hold_id"], "amount_fen": amount_fen, "voucher_fen": hold["voucher_fen"],
            "service_code": "meal", "duration_min": 45, "checkin_distance_m": 30.0,
            "caregiver_id": str(uuid.uuid4()), "completed_at": completed_at, "district_code": district, **overrides}


async def complete(vouchers: Vouchers, data: dict) -> dict:
    """Publish `order.completed` and wait for the service's `voucher.redeemed` in its outbox."""
    await vouchers.publish(ORDERS_TOPIC, "youfu.order.completed.v1", data["order_id"], data)

    async def redeemed():
        return [e for e in await vouchers.outbox("youfu.voucher.redeemed.v1") if e["order_id"] == data["order_id"]]

    return (await wait_for(redeemed, what=f"voucher.redeemed for order {data['order_id']}"))[0]


MARCH_10 = datetime(2026, 3, 10, 10, 0, tzinfo=CITY_TZ)


@pytest.fixture(scope="module")
async def vouchers(databases, keypair, make_token, tmp_path_factory, broker):
    """One service per test module, on its own database and its own topic namespace on the
    session's broker. Each test sets the clock it needs and creates its own elders, so the tests
    do not depend on one another."""
    running, service = await start_vouchers(databases=databases, keypair=keypair, make_token=make_token,
                                            tmp_path=tmp_path_factory.mktemp("vouchers"), clock=Clock(MARCH_10),
                                            broker=broker)
    yield service
    await running.stop()


@pytest.fixture(autouse=True)
async def ledger_stays_sound(vouchers):
    """The ledger's invariants hold after every test."""
    yield
    await vouchers.ledger_ok()
