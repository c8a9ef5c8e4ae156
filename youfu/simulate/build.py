"""Building the simulated city through the gateway, as the city's staff would.

The admin (from var/demo-accounts.json) creates the staff: for each county-level unit its
civil-affairs officers and pairs of assessors, a city-level officer who reads the reports, and,
for bigger worlds, account clerks (admins) who share the account work. Officers register the
elders; two assessors score and sign each one's GB/T 42195 assessment (this month's vouchers follow
from the event). Officers file each provider's application with its documents and approve it; the
provider's own admin sets the catalogue (guide prices), the service area and the caregivers.
Households that use the app get accounts (the elder's own, or a family member's linked by the
officer with the elder's consent on record); hotline elders have none.

Every person has their own account and password (never printed) and signs in once; sessions
renew with their refresh tokens. At the demo scale the caregivers have no app accounts: their
provider's desk records their visits (see city.Scale.caregiver_accounts).

Staff outlive a run: the officers, assessors and clerks a run created are kept (phone, password and
the latest refresh token, in var/simulation-staff.json, readable by its owner only, like
var/demo-accounts.json) and the next run against the same platform signs them in with the refresh
token — no password, so no argon2 hash on the gateway — instead of creating a new bureau each time.
"""
from __future__ import annotations

import asyncio
import math
import secrets
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from services.providers.rules.registry import REQUIRED_DOCUMENTS
from youfu.simulate.city import World
from youfu.simulate.http import Gateway, Session, SimulationError, new_key
from youfu.simulate.people import item_scores
from youfu.simulate.places import DISTRICTS

INSTRUMENT = "gb_t_42195_2022"
CLERK_THRESHOLD = 100  # more accounts than this: clerks share the work (the write limit is per account)
ELDERS_PER_OFFICER = 100
ELDERS_PER_ASSESSOR_PAIR = 40


@dataclass
class Built:
    admin: Session
    city_officer: Session | None = None
    officers: dict[str, list[Session]] = field(default_factory=dict)
    assessors: dict[str, list[tuple[Session, Session]]] = field(default_factory=dict)
    clerks: list[Session] = field(default_factory=list)
    elder_ids: list[str | None] = field(default_factory=list)
    households: list[Session | None] = field(default_factory=list)
    provider_ids: list[str | None] = field(default_factory=list)
    provider_admins: list[Session | None] = field(default_factory=list)
    caregiver_ids: list[str | None] = field(default_factory=list)
    caregivers: list[Session | None] = field(default_factory=list)
    drafters: list[Session | None] = field(default_factory=list)  # the assessor who scored each elder (plans.py)
    plan_elder_ids: list[str] = field(default_factory=list)
    staff_kept: list[dict] = field(default_factory=list)  # staff to keep for the next run (see Builder.staff)
    accounts: int = 0
    accounts_reused: int = 0
    steps_done: int = 0
    steps_total: int = 1

    def officer_for(self, district: str, index: int) -> Session:
        staff = self.officers[district]
        return staff[index % len(staff)]

    def clerk(self, index: int) -> Session:
        return self.clerks[index % len(self.clerks)] if self.clerks else self.admin


class Builder:
    def __init__(self, gw: Gateway, world: World, admin: Session, *, concurrency: int = 8, today: date) -> None:
        self.gw, self.world, self.today = gw, world, today
        self.b = Built(admin=admin, elder_ids=[None] * len(world.elders), households=[None] * len(world.elders),
                       drafters=[None] * len(world.elders),
                       provider_ids=[None] * len(world.providers), provider_admins=[None] * len(world.providers),
                       caregiver_ids=[None] * len(world.caregivers), caregivers=[None] * len(world.caregivers))
        self.gate = asyncio.Semaphore(concurrency)
        self.items: list[tuple[str, list[int]]] = []
        self.protect: frozenset[str] = frozenset()
        self.guide_prices: dict[str, int] = {}
        self.staff_serial = 0
        self.b.steps_total = 1 + len(world.elders) * 3 + len(world.providers) * 2 + len(world.caregivers) + 3

    async def req(self, session: Session | None, method: str, path: str, *, gate: asyncio.Semaphore | None = None,
                  **kw):
        """A call the world cannot do without: its JSON, or stop. A 502/503/504 (the gateway lost
        its connection to the service) is tried once more; when the first try had reached the
        service after all, the second one's 409 says it is done (answered as None)."""
        async with gate or self.gate:
            answer = await self.gw.call(session, method, path, **kw)
            if answer.status in (502, 503, 504):
                await asyncio.sleep(1.0)
                answer = await self.gw.call(session, method, path, **(kw | {"expect": (*kw.get("expect", ()), 409)}))
                if answer.status == 409:
                    return None
        if not answer.ok:
            raise SimulationError(f"{method} {path} → {answer.status} {answer.detail()}")
        return answer.body

    def step(self, n: int = 1) -> None:
        self.b.steps_done += n

    # ---- accounts --------------------------------------------------------------------------------

    async def account(self, creator: Session, role: str, phone: str, name: str, **scope) -> tuple[Session, str]:
        password = "sim-" + secrets.token_urlsafe(9)
        body = {"role": role, "phone": phone, "password": password, "display_name": name[:50]}
        body |= {k: v for k, v in scope.items() if v is not None}
        # the gateway hashes the password: one of the few calls in flight that do (http.SIGNINS_AT_ONCE)
        user = await self.req(creator, "POST", "/api/admin/users", json=body, gate=self.gw.signins)
        self.b.accounts += 1
        session = Session(f"{role}:{name}", phone, password, role)
        if user is None:  # created by the try that seemed to fail: ask who we are
            await session.login(self.gw)
            user = await self.req(session, "GET", "/api/auth/me")
        return session, user["id"]

    async def signed_in(self, creator: Session, role: str, phone: str, name: str, **scope) -> Session:
        session, _ = await self.account(creator, role, phone, name, **scope)
        return await session.login(self.gw)  # (Session.login waits its turn for the gateway's argon2)

    def _staff_phone(self) -> str:
        self.staff_serial += 1
        return f"19{self.world.run_tag % 10_000:04d}5{self.staff_serial:04d}"

    async def staff_member(self, role: str, name: str, code: str | None, kept: dict | None) -> Session:
        """A member of staff: one kept from an earlier run, signed in with their refresh token (or,
        when that is spent, their password), or else a new account."""
        b = self.b
        if kept is not None:
            session = Session(f"{role}:{kept['name']}", kept["phone"], kept["password"], role)
            resumed = await session.resume(self.gw, kept.get("refresh_token"))
            if not resumed:
                try:
                    await session.login(self.gw)
                    resumed = True
                except SimulationError:  # the account is gone (deleted, or another platform)
                    resumed = False
            if resumed:
                b.accounts_reused += 1
                b.staff_kept.append(kept | {"session": session})
                return session
        phone = self._staff_phone()
        session = await self.signed_in(b.admin, role, phone, name, district_code=code)
        b.staff_kept.append({"role": role, "district_code": code, "name": name, "phone": phone,
                             "password": session.password, "session": session})
        return session

    async def staff(self, kept: list[dict] = ()) -> None:
        """The bureau: officers and assessor pairs in each unit, a city officer and (for bigger
        worlds) account clerks; `kept` are staff an earlier run created, used first."""
        w, b = self.world, self.b
        per_district = w.elders_by_district()
        plan: list[tuple[str, str, str | None]] = [("city_officer", "市民政局 模拟稽核员", None)]
        total_accounts = len(w.providers) + len(w.caregivers) + sum(e.household != "hotline" for e in w.elders)
        clerks = 3 if total_accounts > CLERK_THRESHOLD else 0
        plan += [("admin", f"账号管理员（模拟）{k + 1}", None) for k in range(clerks)]
        for d in DISTRICTS:
            n = per_district[d.code]
            for k in range(max(1, math.ceil(n / ELDERS_PER_OFFICER))):
                plan.append(("officer", f"{d.name}民政 模拟科员{k + 1}", d.code))
            for k in range(max(1, math.ceil(n / ELDERS_PER_ASSESSOR_PAIR)) * 2):
                plan.append(("assessor", f"{d.name} 模拟评估员{k + 1}", d.code))
        pool: dict[tuple[str, str | None], list[dict]] = {}
        for entry in kept:
            pool.setdefault((entry["role"], entry.get("district_code")), []).append(entry)
        chosen = [pool[(role, code)].pop(0) if pool.get((role, code)) else None for role, _, code in plan]
        made = await asyncio.gather(*(self.staff_member(role, name, code, entry)
                                      for (role, name, code), entry in zip(plan, chosen)))
        b.staff_kept += [entry for entries in pool.values() for entry in entries]  # not needed this time: kept
        for (role, _, code), session in zip(plan, made):
            if role == "city_officer":
                b.city_officer = session
            elif role == "admin":
                b.clerks.append(session)
            elif role == "officer":
                b.officers.setdefault(code, []).append(session)
            else:
                pairs = b.assessors.setdefault(code, [])
                if pairs and pairs[-1][1] is None:
                    pairs[-1] = (pairs[-1][0], session)
                else:
                    pairs.append((session, None))
        self.step()
        first_assessor = next(iter(b.assessors.values()))[0][0]
        instrument = await self.req(first_assessor, "GET", f"/api/assessment/instruments/{INSTRUMENT}")
        self.items = [(i["code"], [s["score"] for s in i["scores"]]) for i in instrument["items"]]
        self.protect = frozenset(i["code"] for i in instrument["items"] if i.get("name") == "意识水平")

    # ---- elders ----------------------------------------------------------------------------------

    async def elder(self, i: int) -> None:
        e, b = self.world.elders[i], self.b
        officer = b.officer_for(e.district_code, i)
        contacts = [{"name": e.family_name, "relation": e.relation, "phone": e.family_phone}] if e.family_name else []
        for attempt in range(6):
            body = {"name": e.name, "gender": e.gender, "birth_date": str(e.birth_date), "id_card": e.id_card,
                    "phone": e.phone, "address": e.address, "lat": e.lat, "lon": e.lon,
                    "district_code": e.district_code, "street": e.street, "living_situation": e.living_situation,
                    "economic_status": e.economic_status, "emergency_contacts": contacts}
            key = new_key()
            async with self.gate:
                answer = await self.gw.call(officer, "POST", "/api/assessment/elders", json=body, key=key,
                                            expect=(409,))
                if answer.status in (502, 503, 504):  # keyed: trying again is safe
                    await asyncio.sleep(1.0)
                    answer = await self.gw.call(officer, "POST", "/api/assessment/elders", json=body, key=key,
                                                expect=(409,))
            if answer.status == 409:  # an ID number a previous run used: the next sequence number
                e = replace(e, id_seq=e.id_seq + 2)
                continue
            if not answer.ok:
                raise SimulationError(f"registering elder {i}: {answer.status} {answer.detail()}")
            b.elder_ids[i] = answer.body["id"]
            break
        else:
            raise SimulationError(f"elder {i}: no free ID number")
        self.step()
        first, second = b.assessors[e.district_code][i % len(b.assessors[e.district_code])]
        if i % 2:
            first, second = second, first
        scores = item_scores(self.items, e.total, self.protect)
        draft = await self.req(first, "POST", f"/api/assessment/elders/{b.elder_ids[i]}/assessments",
                               json={"instrument": INSTRUMENT, "items": scores, "note": "上门评估（模拟）"})
        await self.req(first, "POST", f"/api/assessment/assessments/{draft['id']}/sign")
        await self.req(second, "POST", f"/api/assessment/assessments/{draft['id']}/sign")
        b.drafters[i] = first  # assigned to the elder by scoring: may draft the care plan
        self.step()
        if e.household == "self":
            b.households[i] = await self.signed_in(b.clerk(i), "elder", e.phone, e.name, elder_id=b.elder_ids[i])
        elif e.household == "family":
            session, user_id = await self.account(b.clerk(i), "family", e.family_phone, f"{e.name}的{e.relation}")
            await self.req(officer, "POST", "/api/family-links", json={
                "user_id": user_id, "elder_id": b.elder_ids[i], "relation": e.relation, "consent_by": "老人本人",
                "consent_method": "in_person"})
            b.households[i] = await session.login(self.gw)
        self.step()

    # ---- providers -------------------------------------------------------------------------------

    async def provider(self, j: int) -> None:
        p, b, w = self.world.providers[j], self.b, self.world
        officer = b.officer_for(p.district_code, j)
        made = await self.req(officer, "POST", "/api/providers/providers", key=f"sim-{w.run_tag}-{w.seed}-provider-{j}",
                              json={"kind": p.kind, "legal_name": p.name, "credit_code": p.credit_code,
                                    "district_code": p.district_code, "street": p.street, "address": p.address,
                                    "lat": p.lat, "lon": p.lon, "contact_name": "负责人",
                                    "contact_phone": f"0523-8{6000000 + j:07d}", "star_rating": 2 + j % 4})
        pid = b.provider_ids[j] = made["id"]
        for n, kind in enumerate(REQUIRED_DOCUMENTS.get(p.kind, ("licence",))):
            await self.req(officer, "POST", f"/api/providers/providers/{pid}/documents", json={
                "kind": kind, "number": f"SIM{w.run_tag:04d}{j:04d}{n}", "issued_on": str(self.today - timedelta(days=200)),
                "expires_on": str(self.today + timedelta(days=500))})
        await self.req(officer, "POST", f"/api/providers/providers/{pid}/approve", json={"reason": "材料齐全（模拟）"})
        self.step()
        admin = b.provider_admins[j] = await self.signed_in(b.clerk(j), "provider_admin", p.admin_phone,
                                                            f"{p.name[:30]} 管理员", provider_id=pid)
        if not self.guide_prices:
            items = await self.req(admin, "GET", "/api/providers/service-items")
            self.guide_prices = {i["code"]: i["guide_price_fen"] for i in items}
        for code in p.services:
            await self.req(admin, "POST", f"/api/providers/providers/{pid}/catalogue",
                           json={"service_code": code, "price_fen": self.guide_prices[code]})
        await self.req(admin, "PUT", f"/api/providers/providers/{pid}/service-area",
                       json={"radius_m": p.area_radius_m, "streets": []})
        self.step()
        for c in (c for c in w.caregivers if c.provider == j):
            made = await self.req(admin, "POST", f"/api/providers/providers/{pid}/caregivers", json={
                "name": c.name, "gender": c.gender, "skills": list(c.skills),
                "certificate_level": "level_4" if c.index % 3 else "level_5", "base_lat": c.lat, "base_lon": c.lon,
                "service_radius_m": c.radius_m, "daily_limit": c.daily_limit})
            b.caregiver_ids[c.index] = made["id"]
            if w.scale.caregiver_accounts:  # otherwise the desk records their visits (Play.caregiver)
                b.caregivers[c.index] = await self.signed_in(b.clerk(c.index), "caregiver", c.phone, c.name,
                                                             provider_id=pid, caregiver_id=made["id"])
            self.step()

    async def build_providers(self) -> None:
        """Providers first, and their desks at work (the runner starts them) before the elders
        come: the orders service plans a special-hardship elder's visit as soon as it hears of them,
        and an offer nobody answers waits out its two minutes."""
        await asyncio.gather(*(self.provider(j) for j in range(len(self.world.providers))))

    async def build_elders(self) -> None:
        await asyncio.gather(*(self.elder(i) for i in range(len(self.world.elders))))

    async def wait_for_vouchers(self, timeout_s: float = 60.0) -> int:
        """Until this month's vouchers of every elder the default policy entitles have arrived
        (assessment → event → vouchers). Returns how many are still missing at the end."""
        w, b = self.world, self.b
        waiting = [b.elder_ids[e.index] for e in w.elders if e.community_voucher]
        deadline = asyncio.get_running_loop().time() + timeout_s
        while waiting and asyncio.get_running_loop().time() < deadline:
            async def has(elder_id: str) -> bool:
                async with self.gate:
                    answer = await self.gw.call(b.city_officer, "GET", f"/api/vouchers/wallets/{elder_id}",
                                                expect=(404,))
                return answer.ok and bool(answer.body.get("vouchers"))
            found = await asyncio.gather(*(has(x) for x in waiting))
            waiting = [x for x, ok in zip(waiting, found) if not ok]
            if waiting:
                await asyncio.sleep(0.5)
        self.step()
        return len(waiting)

    async def coverage_required(self, month: str) -> int:
        answer = await self.gw.call(self.b.city_officer, "GET", "/api/orders/visit-coverage", params={"month": month})
        return int(answer.body.get("required") or 0) if answer.ok else 0

    async def plan_visits(self, month: str, baseline: int, timeout_s: float = 30.0) -> dict[str, int]:
        """Each unit's officer plans this month's visits to its special-hardship elders, once the
        orders service has heard (from assessment's events) who they are."""
        ours = sum(e.special_hardship for e in self.world.elders)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while await self.coverage_required(month) < baseline + ours and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.5)
        async def one(code: str) -> tuple[str, int]:
            answer = await self.req(self.b.officers[code][0], "POST", "/api/orders/visit-plans",
                                    json={"month": month, "district_code": code})
            return code, int((answer or {}).get("orders_placed") or 0)
        placed = dict(await asyncio.gather(*(one(d.code) for d in DISTRICTS)))
        self.step()
        return placed

    async def close_providers(self) -> int:
        """The day is over: each simulated provider stops taking orders (suspended by its officer), so
        a later run's orders are never offered to desks nobody answers any more."""
        async def one(j: int, pid: str) -> bool:
            officer = self.b.officer_for(self.world.providers[j].district_code, j)
            answer = await self.gw.call(officer, "POST", f"/api/providers/providers/{pid}/suspend",
                                        json={"reason": "模拟结束，暂停接单（模拟数据）"}, expect=(409,))
            return answer.ok
        done = await asyncio.gather(*(one(j, pid) for j, pid in enumerate(self.b.provider_ids) if pid))
        return sum(done)
