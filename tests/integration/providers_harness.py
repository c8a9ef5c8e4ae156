"""Shared parts of the providers integration tests: the service over real HTTP on a real
database, its own broker (the session broker may carry another module's platform whose providers
process sits in the same consumer group and would take these tests' order events), a clock the
tests move past a document's expiry, and helpers to set up approved providers and caregivers."""
from __future__ import annotations

import asyncio
import itertools
import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import pytest

from services.providers.main import create_app
from services.providers.rules.registry import REQUIRED_DOCUMENTS
from services.providers.settings import ProvidersSettings
from shared.events import CloudEvent
from shared.settings import Settings
from tests.conftest import RunningApp
from tests.support.clients import SignedClients
from tests.support.clock import Clock
from tests.support.events import outbox_events, send_event
from tests.support.factories import new_credit_code
from tests.support.waiting import wait_for  # noqa: F401 - the providers tests import it from here
from youfu.broker import free_port

HAILING, GAOGANG = "321202", "321203"
ORDERS_TOPIC = "youfu.orders"
START = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai, a Tuesday
METRES_PER_DEGREE = 111_195.08


@dataclass
class Providers(SignedClients):
    url: str
    db_url: str
    app: object
    clock: Clock
    bootstrap: str
    make_token: object
    tokens: dict[str, str] = field(default_factory=dict)
    topic_prefix: str = ""

    @property
    def db(self):
        return self.app.state.ctx.db

    @property
    def search(self):
        return self.app.state.ctx.runtime.search

    async def publish(self, type_: str, data: dict, *, event_id: str | None = None) -> CloudEvent:
        """Send an orders-service event as CloudEvents JSON straight to the broker."""
        event = CloudEvent(source="/youfu/orders", type=type_, subject=data["order_id"], data=data,
                           id=event_id or str(uuid.uuid4()), time=self.clock.now)
        return await send_event(self.bootstrap, self.topic_prefix + ORDERS_TOPIC, data["order_id"], event)

    async def outbox(self, type_: str) -> list[dict]:
        return await outbox_events(self.db, type_)

    async def candidates(self, **params) -> list[dict]:
        async with self.client("service", user_id="svc:orders") as orders:
            r = await orders.get("/candidates", params={k: v for k, v in params.items() if v is not None})
        assert r.status_code == 200, r.text
        return r.json()["candidates"]


async def start_providers(*, db_url: str, keypair, make_token, tmp_path, clock: Clock, bootstrap: str,
                          refresh_s: float = 0, topic_prefix: str = "") -> tuple[RunningApp, Providers]:
    settings = Settings(var_dir=tmp_path, jwt_public_key=keypair[1], kafka_bootstrap=bootstrap,
                        database_urls={"providers": db_url}, log_json=False, outbox_poll_s=0.2,
                        topic_prefix=topic_prefix)
    app = create_app(settings, clock=clock, own=ProvidersSettings(index_refresh_s=refresh_s))
    running = await RunningApp(app, free_port()).start()
    service = Providers(running.url, db_url, app, clock, bootstrap, make_token)
    service.topic_prefix = topic_prefix
    return running, service


@pytest.fixture(scope="module")
async def providers(databases, keypair, make_token, tmp_path_factory, broker):
    """One service per test module on its own database and its own topic namespace on the session
    broker. Tests set up their own providers, each around its own spot on the map, so they do not
    see one another's."""
    db_url = await asyncio.to_thread(databases.migrated_url, "providers")
    running, service = await start_providers(db_url=db_url, keypair=keypair, make_token=make_token,
                                             tmp_path=tmp_path_factory.mktemp("providers"), clock=Clock(START),
                                             bootstrap=broker.bootstrap, topic_prefix=f"t{uuid.uuid4().hex[:8]}.")
    service.broker = broker
    yield service
    await running.stop()


@pytest.fixture(autouse=True)
def clock_reset(providers):
    providers.clock.now = START
    yield
    providers.clock.now = START


# ---- places and valid data ---------------------------------------------------------------------

_spots = itertools.count()


def new_spot() -> tuple[float, float]:
    """A point 13 km or more from every other test's (in Jiangsu), so searches never overlap: the
    tests keep their caregivers within 6.5 km of their spot. The grid stays compact because the
    index computes cell geometry for the caregivers' whole bounding box when it is built."""
    n = next(_spots)
    return 31.0 + (n // 8) * 0.12, 117.6 + (n % 8) * 0.14


def moved(point: tuple[float, float], north_m: float = 0.0, east_m: float = 0.0) -> tuple[float, float]:
    lat, lon = point
    return lat + north_m / METRES_PER_DEGREE, lon + east_m / (METRES_PER_DEGREE * math.cos(math.radians(lat)))


def application(*, kind: str = "home_care_centre", district: str = HAILING, at: tuple[float, float],
                name: str | None = None, **overrides) -> dict:
    return {"kind": kind, "legal_name": name or f"测试{uuid.uuid4().hex[:6]}居家养老服务中心",
            "credit_code": new_credit_code(district), "district_code": district, "street": "城中街道",
            "address": "泰州市海陵区城中街道测试路 1 号", "lat": at[0], "lon": at[1], "contact_name": "周主任",
            "contact_phone": "0523-86000000", **overrides}


async def upload_documents(p: Providers, provider_id: str, kind: str, *, until: date | None = None) -> None:
    async with p.client("admin") as admin:
        for doc in REQUIRED_DOCUMENTS[kind]:
            r = await admin.post(f"/providers/{provider_id}/documents", json={
                "kind": doc, "number": f"NO-{uuid.uuid4().hex[:8]}",
                "expires_on": str(until or date(2030, 12, 31))})
            assert r.status_code == 201, r.text


async def approved_provider(p: Providers, *, at: tuple[float, float], kind: str = "home_care_centre",
                            district: str = HAILING, items: dict[str, dict | int] | None = None,
                            documents_until: date | None = None, name: str | None = None) -> str:
    """Apply (as the district's officer), upload the required documents, approve, list items."""
    async with p.client("officer", district=district) as officer:
        r = await officer.post("/providers", json=application(kind=kind, district=district, at=at, name=name))
        assert r.status_code == 201, r.text
        provider_id = r.json()["id"]
        await upload_documents(p, provider_id, kind, until=documents_until)
        r = await officer.post(f"/providers/{provider_id}/approve", json={"reason": "材料齐全"})
        assert r.status_code == 200, r.text
    async with p.client("provider_admin", provider_id=provider_id) as own:
        for code, item in (items if items is not None else {"meal": 1200}).items():
            body = {"service_code": code, **({"price_fen": item} if isinstance(item, int) else item)}
            r = await own.post(f"/providers/{provider_id}/catalogue", json=body)
            assert r.status_code == 201, r.text
    return provider_id


async def add_caregiver(p: Providers, provider_id: str, *, at: tuple[float, float], skills=("meal",),
                        name: str | None = None, **fields) -> str:
    async with p.client("provider_admin", provider_id=provider_id) as own:
        r = await own.post(f"/providers/{provider_id}/caregivers", json={
            "name": name or f"护理员{uuid.uuid4().hex[:4]}", "gender": fields.pop("gender", "female"),
            "skills": list(skills), "base_lat": at[0], "base_lon": at[1], **fields})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def names(candidates: list[dict]) -> list[str]:
    return [c["caregiver_name"] for c in candidates]


def day_after(days: int) -> datetime:
    return START + timedelta(days=days)
