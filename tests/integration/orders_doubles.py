"""Test doubles and harness for the orders service's integration tests.

The providers, vouchers and assessment services are being built alongside, so these tests
start small FastAPI apps that implement exactly the contract endpoints orders calls, over real
HTTP, and check that orders sends its service token. The end-to-end suite runs the real ones.

The orders service itself runs for real: its own PostgreSQL database (SQLite with
YOUFU_TEST_BACKEND=sqlite), its migrations, real HTTP, and a broker of the module's own (the
conftest `Broker`), so other test modules' consumer groups on the shared topics never see these
events and vice versa.
"""
from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from services.orders.main import create_app
from services.orders.runtime import OrdersRuntime
from services.orders.settings import OrdersSettings
from shared.auth import TokenVerifier
from shared.city import CITY_TZ, EARTH_MEAN_RADIUS_M
from shared.db import Database
from shared.events import CloudEvent
from shared.settings import Settings
from tests.conftest import Broker, RunningApp
from tests.support.clients import SignedClients
from tests.support.events import outbox_events, send_event
from tests.support.waiting import wait_for  # noqa: F401 - the orders tests import it from here
from youfu.broker import free_port

HOME = (32.4900, 119.9200)  # 海陵区, the demo centre
HAILING, GAOGANG = "321202", "321203"


def north_of(point: tuple[float, float], metres: float) -> tuple[float, float]:
    """A point `metres` due north (on the sphere `shared.city.haversine_m` uses)."""
    return point[0] + math.degrees(metres / EARTH_MEAN_RADIUS_M), point[1]


def problem(status: int, detail: str, **extra) -> JSONResponse:
    body = {"type": "about:blank", "title": "error", "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


class Double:
    """A fake in-house service: requires the caller's service token like the real one."""

    name = "double"

    def __init__(self, public_key: str) -> None:
        self.verifier = TokenVerifier(public_key)
        self.calls: list[tuple[str, str, dict]] = []
        self.app = FastAPI(title=f"fake {self.name}")

        @self.app.middleware("http")
        async def service_only(request: Request, call_next):
            auth = request.headers.get("authorization", "")
            try:
                principal = self.verifier.verify(auth[7:]) if auth.lower().startswith("bearer ") else None
            except Exception:
                principal = None
            if principal is None or principal.role != "service":
                return problem(401, "需要服务令牌")
            return await call_next(request)

    def count(self, method: str, path_prefix: str) -> int:
        return sum(1 for m, p, _ in self.calls if m == method and p.startswith(path_prefix))


class FakeProviders(Double):
    name = "providers"

    def __init__(self, public_key: str) -> None:
        super().__init__(public_key)
        self.items: dict[str, dict] = {}
        self.candidates: dict[str, list[dict]] = {}
        self.caregivers: dict[str, dict] = {}  # GET /caregivers/{id}, as providers answers it

        @self.app.get("/service-items/{code}")
        async def item(code: str):
            self.calls.append(("GET", f"/service-items/{code}", {}))
            if code not in self.items:
                return problem(404, "没有这个服务项目")
            return self.items[code]

        @self.app.get("/caregivers/{caregiver_id}")
        async def caregiver(caregiver_id: str):
            self.calls.append(("GET", f"/caregivers/{caregiver_id}", {}))
            if caregiver_id not in self.caregivers:
                return problem(404, "没有这位护理员")
            return self.caregivers[caregiver_id]

        @self.app.get("/candidates")
        async def candidates(service_code: str, lat: float, lon: float, k: int = 10, exclude_providers: str = "",
                             voucher_kind: str | None = None):
            params = {"service_code": service_code, "lat": lat, "lon": lon, "k": k,
                      "exclude_providers": exclude_providers, "voucher_kind": voucher_kind}
            self.calls.append(("GET", "/candidates", params))
            excluded = {p for p in exclude_providers.split(",") if p}
            ranked = [c for c in self.candidates.get(service_code, []) if c["provider_id"] not in excluded]
            return {"candidates": ranked[:k]}

        # beds (issue 22): orders reserves, occupies and releases them synchronously. The bed's
        # state changes with no await between its check and its write, so concurrent reservations
        # of one bed are decided atomically, as the real service's conditional update does; the
        # `slow_s` pause before the check lets concurrent requests really overlap.
        self.beds: dict[str, dict] = {}
        self.bed_rates: dict[str, list[dict]] = {}
        self.provider_names: dict[str, str] = {}
        self.slow_s = 0.0

        async def bed_or_404(bed_id: str):
            if self.slow_s:
                await asyncio.sleep(self.slow_s)
            return self.beds.get(bed_id)

        @self.app.post("/beds/{bed_id}/reserve")
        async def reserve(bed_id: str, request: Request):
            body = await request.json()
            self.calls.append(("POST", f"/beds/{bed_id}/reserve", body))
            bed = await bed_or_404(bed_id)
            if bed is None:
                return problem(404, "没有这个床位")
            if bed["status"] == "reserved" and bed["application_id"] == body["application_id"]:
                return bed  # idempotent per application
            if bed["status"] != "free":
                return problem(409, f"该床位当前{ {'reserved': '已预留', 'occupied': '已入住'}.get(bed['status'], '不可用') }，"
                                    "请选择其他床位", bed_status=bed["status"])
            bed.update(status="reserved", application_id=body["application_id"], stay_id=None)
            return bed

        @self.app.post("/beds/{bed_id}/occupy")
        async def occupy(bed_id: str, request: Request):
            body = await request.json()
            self.calls.append(("POST", f"/beds/{bed_id}/occupy", body))
            bed = await bed_or_404(bed_id)
            if bed is None:
                return problem(404, "没有这个床位")
            if bed["status"] == "occupied" and bed["stay_id"] == body["stay_id"]:
                return bed
            if bed["status"] != "reserved":
                return problem(409, "该床位已有人入住或未预留，不能入住", bed_status=bed["status"])
            bed.update(status="occupied", stay_id=body["stay_id"])
            return bed

        @self.app.post("/beds/{bed_id}/release")
        async def release(bed_id: str, request: Request):
            body = await request.json()
            self.calls.append(("POST", f"/beds/{bed_id}/release", body))
            bed = self.beds.get(bed_id)
            if bed is None:
                return problem(404, "没有这个床位")
            holder = (bed["status"] == "reserved" and bed["application_id"] == body.get("application_id")) or (
                bed["status"] == "occupied" and bed["stay_id"] == body.get("stay_id"))
            if holder:
                bed.update(status="free", application_id=None, stay_id=None)
            return bed

        # meal points (issue 23): orders reads a provider's kind and status, then caches it briefly
        self.providers: dict[str, dict] = {}

        @self.app.get("/providers/{provider_id}")
        async def provider(provider_id: str):
            self.calls.append(("GET", f"/providers/{provider_id}", {}))
            if provider_id not in self.providers:
                return problem(404, "没有这个服务商")
            return self.providers[provider_id]

        @self.app.get("/providers/{provider_id}/bed-rates")
        async def bed_rates(provider_id: str):
            self.calls.append(("GET", f"/providers/{provider_id}/bed-rates", {}))
            return self.bed_rates.get(provider_id, [])

    def add_institution(self, *, rates: dict[str, int] | None = None, name: str = "颐和养老院") -> str:
        provider_id = str(uuid.uuid4())
        rates = rates or {"self_care": 6000, "nursing": 9000, "dementia": 12000}
        self.bed_rates[provider_id] = [{"care_level": k, "daily_rate_fen": v} for k, v in rates.items()]
        self.provider_names[provider_id] = name
        return provider_id

    def add_meal_point(self, *, status: str = "approved", kind: str = "meal_point", district: str = "321202",
                       name: str = "城中社区助餐点") -> str:
        provider_id = str(uuid.uuid4())
        self.providers[provider_id] = {"id": provider_id, "name": name, "kind": kind, "kind_name": "助餐点",
                                       "district_code": district, "district_name": "海陵区", "street": "城中街道",
                                       "status": status, "status_name": status, "rating": None, "rating_count": 0,
                                       "star_rating": None}
        return provider_id

    def add_bed(self, provider_id: str, *, care_level: str = "nursing", status: str = "free") -> str:
        bed_id = str(uuid.uuid4())
        name = self.provider_names.get(provider_id)
        self.beds[bed_id] = {"bed_id": bed_id, "provider_id": provider_id, "provider_name": name,
                             "care_level": care_level, "status": status, "application_id": None, "stay_id": None}
        return bed_id

    def add_item(self, *, mode: str = "sequential", grab_size: int = 1, price_fen: int = 6000,
                 voucher_kinds: tuple[str, ...] = ("community", "mutual_aid"), code: str | None = None,
                 name: str = "助餐") -> str:
        code = code or f"meal-{uuid.uuid4().hex[:8]}"
        self.items[code] = {"code": code, "name": name, "category": "生活照料", "unit": "次",
                            "guide_price_fen": price_fen, "min_duration_min": 30, "voucher_kinds": list(voucher_kinds),
                            "dispatch_mode": mode, "grab_size": grab_size}
        self.candidates.setdefault(code, [])
        return code

    def add_candidate(self, code: str, provider_id: str | None = None, caregiver_id: str | None = None) -> dict:
        n = len(self.candidates[code]) + 1
        candidate = {"provider_id": provider_id or str(uuid.uuid4()), "provider_name": f"第{n}家服务中心",
                     "caregiver_id": caregiver_id or str(uuid.uuid4()), "caregiver_name": f"护理员{n}",
                     "distance_m": 300.0 * n, "score": 1.0 / n, "rating": 4.8}
        self.candidates[code].append(candidate)
        self.add_caregiver(candidate["caregiver_id"], provider_id=candidate["provider_id"], skills=[code])
        return candidate

    def add_caregiver(self, caregiver_id: str, *, provider_id: str, skills: list[str], status: str = "active",
                      daily_limit: int = 8, today_load: int = 0) -> dict:
        known = self.caregivers.get(caregiver_id)
        if known is not None:
            known["skills"] = sorted(set(known["skills"]) | set(skills))
            return known
        self.caregivers[caregiver_id] = {"id": caregiver_id, "provider_id": provider_id, "skills": list(skills),
                                         "status": status,
                                         "status_name": {"active": "在岗", "on_leave": "休假"}.get(status, status),
                                         "daily_limit": daily_limit, "today_load": today_load}
        return self.caregivers[caregiver_id]


class FakeVouchers(Double):
    name = "vouchers"

    def __init__(self, public_key: str) -> None:
        super().__init__(public_key)
        self.wallets: dict[tuple[str, str], int] = {}  # (elder id, kind) -> share in basis points
        self.holds: dict[str, dict] = {}  # by order id

        @self.app.post("/holds", status_code=201)
        async def hold(request: Request, idempotency_key: str | None = Header(None)):
            body = await request.json()
            self.calls.append(("POST", "/holds", body | {"idempotency_key": idempotency_key}))
            assert idempotency_key == body["order_id"], "orders must key the hold by the order id"
            if body["order_id"] in self.holds:
                return JSONResponse(self.holds[body["order_id"]], status_code=201)
            share = self.wallets.get((body["elder_id"], body["kind"]))
            if share is None:
                return problem(409, "该老人本月没有社区照护券，请按自费下单", kind=body["kind"], available_fen=0)
            voucher = body["price_fen"] * share // 10000
            answer = {"hold_id": str(uuid.uuid4()), "order_id": body["order_id"], "kind": body["kind"],
                      "voucher_fen": voucher, "elder_fen": body["price_fen"] - voucher, "share_bp": share,
                      "status": "held"}
            self.holds[body["order_id"]] = answer
            return JSONResponse(answer, status_code=201)

        # meal subsidies (issue 23), as the contract says vouchers answers them: idempotent per
        # redemption id, min(subsidy, wallet) taken at once, at most `meal_cap` subsidised meals an
        # elder a day, past it (or with an empty wallet) a subsidy of 0, never an error. The wallet
        # changes with no await between its check and its write; `meal_slow_s` lets calls overlap.
        self.meal_wallets: dict[str, int] = {}  # elder id -> fen left
        self.meal_subsidy_fen = 500
        self.meal_cap = 2
        self.meal_subsidies: dict[str, dict] = {}  # by redemption id
        self.meal_captures = 0  # subsidies actually taken (not replays)
        self.meal_slow_s = 0.0
        self.meal_fail = False  # answer 503 (vouchers down)

        @self.app.post("/meal-subsidies", status_code=201)
        async def meal_subsidy(request: Request, idempotency_key: str | None = Header(None)):
            body = await request.json()
            self.calls.append(("POST", "/meal-subsidies", body | {"idempotency_key": idempotency_key}))
            assert idempotency_key == body["redemption_id"], "orders must key the subsidy by the redemption id"
            if self.meal_fail:
                return problem(503, "养老服务券服务暂不可用")
            if self.meal_slow_s:
                await asyncio.sleep(self.meal_slow_s)
            rid = body["redemption_id"]
            if rid in self.meal_subsidies:
                return JSONResponse(self.meal_subsidies[rid], status_code=201)
            elder, day = body["elder_id"], body["meal_date"]
            subsidised = sum(1 for a in self.meal_subsidies.values()
                             if a["elder_id"] == elder and a["meal_date"] == day and a["status"] == "captured"
                             and a["subsidy_fen"] > 0)
            left = self.meal_wallets.get(elder, 0)
            subsidy = 0 if subsidised >= self.meal_cap else min(self.meal_subsidy_fen, left, body["price_fen"])
            reason = None if subsidy else ("今日补贴次数已满" if subsidised >= self.meal_cap else "社区照护券余额不足")
            self.meal_wallets[elder] = left - subsidy
            self.meal_captures += 1
            answer = {"redemption_id": rid, "elder_id": elder, "meal_date": day, "subsidy_fen": subsidy,
                      "self_fen": body["price_fen"] - subsidy, "tier": "low_income", "reason_zh": reason,
                      "status": "captured"}
            self.meal_subsidies[rid] = answer
            return JSONResponse(answer, status_code=201)

        @self.app.post("/meal-subsidies/{redemption_id}/reverse")
        async def meal_reverse(redemption_id: str):
            self.calls.append(("POST", f"/meal-subsidies/{redemption_id}/reverse", {}))
            answer = self.meal_subsidies.get(redemption_id)
            if answer is None:
                return problem(404, "没有这笔助餐补贴")
            if answer["status"] == "captured":
                answer["status"] = "reversed"
                self.meal_wallets[answer["elder_id"]] = self.meal_wallets.get(answer["elder_id"], 0) + answer["subsidy_fen"]
            return answer

        @self.app.post("/holds/{hold_id}/void")
        async def void(hold_id: str):
            self.calls.append(("POST", f"/holds/{hold_id}/void", {}))
            hold = next((h for h in self.holds.values() if h["hold_id"] == hold_id), None)
            if hold is None:
                return problem(404, "没有这笔预扣")
            if hold["status"] == "held":
                hold["status"] = "released"
            return hold


class FakeAssessment(Double):
    name = "assessment"

    def __init__(self, public_key: str) -> None:
        super().__init__(public_key)
        self.elders: dict[str, dict] = {}
        self.contacts: dict[str, list[dict]] = {}  # emergency contacts with phones in full (alarms' SMS)

        @self.app.get("/elders/{elder_id}/emergency-contacts")
        async def contacts(elder_id: str):
            self.calls.append(("GET", f"/elders/{elder_id}/emergency-contacts", {}))
            if elder_id not in self.elders:
                return problem(404, "没有该老人的档案")
            return {"elder_id": elder_id, "contacts": self.contacts.get(elder_id, [])}

        @self.app.get("/elders/{elder_id}")
        async def elder(elder_id: str):
            self.calls.append(("GET", f"/elders/{elder_id}", {}))
            if elder_id not in self.elders:
                return problem(404, "没有该老人的档案")
            return self.elders[elder_id]


@dataclass
class OrdersEnv(SignedClients):
    """The orders service under test plus its doubles; tokens and helpers for the tests."""

    make_token: object
    keypair: tuple[str, str]
    tmp_path: object
    broker: Broker
    providers: FakeProviders
    vouchers: FakeVouchers
    assessment: FakeAssessment
    doubles: dict[str, RunningApp]
    db_url: str = ""
    topic_prefix: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}.")
    app: object = None
    running: RunningApp | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def rt(self) -> OrdersRuntime:
        return self.app.state.ctx.runtime

    @property
    def db(self) -> Database:
        return self.app.state.ctx.db

    def settings(self, db_url: str, *, broker: bool = True) -> Settings:
        return Settings(var_dir=self.tmp_path, jwt_public_key=self.keypair[1],
                        kafka_bootstrap=self.broker.bootstrap if broker else "", database_urls={"orders": db_url},
                        service_urls={name: r.url for name, r in self.doubles.items()},
                        service_token=self.make_token("service", user_id="svc:orders", ttl_s=3600),
                        log_json=False, outbox_poll_s=0.2, topic_prefix=self.topic_prefix)

    async def start_orders(self, db_url: str, own: OrdersSettings, *, broker: bool = True):
        app = create_app(self.settings(db_url, broker=broker), own=own)
        running = await RunningApp(app, free_port()).start()
        return app, running

    def new_elder(self, *, district: str = HAILING, street: str = "城东", home: tuple[float, float] = HOME,
                  share_bp: int | None = 9000, kinds: tuple[str, ...] = ("community",), hardship: bool = False) -> str:
        """An elder the assessment double knows (orders fetches it) with vouchers of `kinds`."""
        elder = str(uuid.uuid4())
        self.assessment.elders[elder] = {"elder_id": elder, "name": "张桂兰", "district_code": district,
                                         "street": street, "address": f"海陵区{street}街道幸福小区 3 幢 201",
                                         "lat": home[0], "lon": home[1], "special_hardship": hardship,
                                         "status": "active"}
        if share_bp is not None:
            for kind in kinds:
                self.vouchers.wallets[(elder, kind)] = share_bp
        return elder

    async def outbox(self, type_: str, *, db: Database | None = None) -> list[dict]:
        return [e["data"] for e in await outbox_events(db or self.db, type_)]

    async def scalar(self, query, *, db: Database | None = None):
        async with (db or self.db).sessions() as s:
            return (await s.execute(query)).scalar()

    async def publish(self, topic: str, type_: str, key: str, data: dict, *, event_id: str | None = None) -> CloudEvent:
        """Send another service's event as CloudEvents JSON straight to the broker."""
        event = CloudEvent(source="/youfu/test", type=type_, subject=key, data=data, id=event_id or str(uuid.uuid4()))
        return await send_event(self.broker.bootstrap, self.topic_prefix + topic, key, event)

    @contextlib.contextmanager
    def offer_timeout(self, seconds: int):
        """Offers made meanwhile get this deadline (the setting is read at each dispatch step)."""
        before = self.rt.settings.offer_timeout_s
        self.rt.settings.offer_timeout_s = seconds
        try:
            yield
        finally:
            self.rt.settings.offer_timeout_s = before


def orders_config(**overrides) -> OrdersSettings:
    """Short dispatch ticks and retries for tests; the spawner only runs when asked."""
    values = dict(offer_timeout_s=30, unmatched_retry_s=1, dispatch_tick_s=0.2, dispatch_backoff_s=0.5,
                  spawn_every_s=3600, auto_plan_visits=False, dispatch_lead_h=24 * 40,
                  meal_code_key="test-meal-code-key", meal_point_cache_s=0.5)
    return OrdersSettings(**(values | overrides))


@pytest.fixture(scope="module")
async def orders_env(databases, keypair, make_token, tmp_path_factory, broker):
    """One orders service per test module, on its own database and its own topic namespace on the
    session broker, with the doubles. Each test makes its own elders, service items and providers,
    so tests do not interfere."""
    public = keypair[1]
    providers, vouchers, assessment = FakeProviders(public), FakeVouchers(public), FakeAssessment(public)
    doubles = {}
    for double in (providers, vouchers, assessment):
        doubles[double.name] = await RunningApp(double.app, free_port()).start()
    env = OrdersEnv(make_token, keypair, tmp_path_factory.mktemp("orders"), broker, providers, vouchers, assessment,
                    doubles)
    env.db_url = await asyncio.to_thread(databases.migrated_url, "orders")
    env.app, env.running = await env.start_orders(env.db_url, orders_config())
    yield env
    await env.running.stop()
    for running in doubles.values():
        await running.stop()


def shanghai(instant: datetime) -> str:
    return instant.astimezone(CITY_TZ).isoformat()
