"""Institutional stays during the simulated day (issue 22), through the gateway like the rest.

Each run opens one care institution of its own in 高港区 (its officer registers and approves it; its
desk, an account of its own, declares a few beds and the daily rates) and three elders of its own
who are moving in (registered by the officer, who applies for each). They are not the world's
elders, so the home-service day and its report are untouched. During the day the desk accepts the
three with a bed and admits them (one since three days ago, one since yesterday, one today), sends
one home on leave (today to the day after tomorrow) and discharges the one who came first.
"""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from services.assessment.rules.idcard import id_card_check_char
from services.providers.rules.registry import REQUIRED_DOCUMENTS
from youfu.simulate.build import Builder
from youfu.simulate.city import credit_code, phone
from youfu.simulate.http import Session, SimulationError, new_key

DISTRICT, CENTRE = "321203", (32.32, 119.88)  # 高港区: away from the demo world in 海陵区
ROOMS = (("101", "nursing", None, 3), ("102", "nursing", None, 2), ("201", "self_care", None, 2))
RATES = {"nursing": 9800, "self_care": 6200}
MOVERS = (("钱玉珍", "female", "nursing"), ("孙宝林", "male", "nursing"), ("吴凤英", "female", "self_care"))
# (the fraction of the day at which it happens, what): the day's moments for the three movers
MOMENTS = ((0.10, "admit"), (0.40, "leave"), (0.70, "discharge"))
PHONE_KIND = 7  # city.phone's kind digit for this module's accounts


@dataclass
class StayCounts:
    institution_id: str | None = None
    elder_ids: list[str] = field(default_factory=list)
    application_ids: list[str] = field(default_factory=list)
    stay_ids: list[str] = field(default_factory=list)
    admitted: int = 0
    on_leave: int = 0
    discharged: int = 0


class Stays:
    def __init__(self, builder: Builder, *, today: date, seed: int) -> None:
        self.builder, self.gw, self.today = builder, builder.gw, today
        self.run_tag = builder.world.run_tag
        self.rng = random.Random(seed * 7919 + self.run_tag)
        self.c = StayCounts()
        self.desk: Session | None = None
        self.officer: Session | None = None

    async def req(self, session: Session, method: str, path: str, **kw):
        return await self.builder.req(session, method, path, **kw)

    # ---- set-up: the institution, its beds, the three elders and their applications ---------------

    async def build(self) -> None:
        b, c = self.builder.b, self.c
        self.officer = b.officers[DISTRICT][0]
        lat, lon = CENTRE[0] + 0.004, CENTRE[1] - 0.003
        made = await self.req(self.officer, "POST", "/api/providers/providers", key=f"sim-{self.run_tag}-institution", json={
            "kind": "care_institution", "legal_name": f"泰州市高港区福寿养老院（模拟 {self.run_tag:04d}）",
            "credit_code": credit_code(self.run_tag, DISTRICT, 9000), "district_code": DISTRICT, "street": "口岸街道",
            "address": "泰州市高港区口岸街道柴墟路 20 号", "lat": lat, "lon": lon, "contact_name": "院长",
            "contact_phone": "0523-86900000", "star_rating": 3})
        pid = c.institution_id = made["id"]
        for n, kind in enumerate(REQUIRED_DOCUMENTS["care_institution"]):
            await self.req(self.officer, "POST", f"/api/providers/providers/{pid}/documents", json={
                "kind": kind, "number": f"SIMI{self.run_tag:04d}{n}", "issued_on": str(self.today - timedelta(days=200)),
                "expires_on": str(self.today + timedelta(days=500))})
        await self.req(self.officer, "POST", f"/api/providers/providers/{pid}/approve", json={"reason": "材料齐全（模拟）"})
        self.desk = await self.builder.signed_in(b.clerk(0), "provider_admin", phone(self.run_tag, PHONE_KIND, 0),
                                                 "福寿养老院 管理员（模拟）", provider_id=pid)
        await self.req(self.desk, "POST", f"/api/providers/providers/{pid}/beds", json={"beds": [
            {"room": room, "bed_no": str(n), "care_level": level, "room_gender": gender}
            for room, level, gender, count in ROOMS for n in range(1, count + 1)]})
        await self.req(self.desk, "PUT", f"/api/providers/providers/{pid}/bed-rates", json={
            "rates": [{"care_level": level, "daily_rate_fen": fen} for level, fen in RATES.items()]})
        for k, (name, gender, level) in enumerate(MOVERS):
            elder_id = await self.register(k, name, gender, lat, lon)
            c.elder_ids.append(elder_id)
            application = await self.req(self.officer, "POST", "/api/orders/stay-applications",
                                         key=f"sim-{self.run_tag}-stay-{k}", json={
                "elder_id": elder_id, "provider_id": pid, "care_level": level, "kind": "long_term",
                "planned_start": str(self.admitted_on(k)), "note": "家中无人照护（模拟）"})
            c.application_ids.append(application["application_id"])

    def admitted_on(self, k: int) -> date:
        return self.today - timedelta(days=(3, 1, 0)[k])

    async def register(self, k: int, name: str, gender: str, lat: float, lon: float) -> str:
        born = date(1936 + k, 1 + k * 3, 9 + k)
        for _ in range(8):  # an ID number an earlier run used: another sequence
            seq = self.rng.randrange(100, 990)
            seq += (seq % 2) != (gender == "male")  # odd for men, even for women
            first17 = f"{DISTRICT}{born:%Y%m%d}{seq:03d}"
            answer = await self.gw.call(self.officer, "POST", "/api/assessment/elders", key=new_key(), expect=(409,), json={
                "name": name, "gender": gender, "birth_date": str(born), "id_card": first17 + id_card_check_char(first17),
                "address": "泰州市高港区口岸街道（模拟）", "lat": lat + 0.002 * (k + 1), "lon": lon + 0.001 * k,
                "district_code": DISTRICT, "street": "口岸街道", "living_situation": "with_family",
                "economic_status": "none", "emergency_contacts": []})
            if answer.ok:
                return answer.body["id"]
            if answer.status != 409:
                raise SimulationError(f"registering stay elder {k}: {answer.status} {answer.detail()}")
        raise SimulationError(f"stay elder {k}: no free ID number")

    # ---- the day -----------------------------------------------------------------------------

    async def play(self, duration_s: float) -> None:
        """The day's moments at their share of the real duration of the day."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for at, what in MOMENTS:
            await asyncio.sleep(max(0.0, start + at * duration_s - loop.time()))
            await getattr(self, what)()

    async def admit(self) -> None:
        c, pid = self.c, self.c.institution_id
        beds = await self.req(self.desk, "GET", f"/api/providers/providers/{pid}/beds", params={"status": "free"})
        taken: set[str] = set()
        for k, application_id in enumerate(c.application_ids):
            bed = next(b for b in beds if b["care_level"] == MOVERS[k][2] and b["bed_id"] not in taken)
            taken.add(bed["bed_id"])
            await self.req(self.desk, "POST", f"/api/orders/stay-applications/{application_id}/accept",
                           json={"bed_id": bed["bed_id"]})
            stay = await self.req(self.desk, "POST", "/api/orders/stays", json={
                "application_id": application_id, "admitted_on": str(self.admitted_on(k))})
            c.stay_ids.append(stay["stay_id"])
            c.admitted += 1

    async def leave(self) -> None:
        if len(self.c.stay_ids) > 1:
            await self.req(self.desk, "POST", f"/api/orders/stays/{self.c.stay_ids[1]}/leave", json={
                "kind": "home", "from": str(self.today), "to": str(self.today + timedelta(days=2))})
            self.c.on_leave += 1

    async def discharge(self) -> None:
        if self.c.stay_ids:
            await self.req(self.desk, "POST", f"/api/orders/stays/{self.c.stay_ids[0]}/discharge", json={
                "on": str(self.today), "reason": "家属接回家照护（模拟）"})
            self.c.discharged += 1

    def summary(self) -> dict:
        c = self.c
        return {"institution_id": c.institution_id, "elder_ids": c.elder_ids, "stay_ids": c.stay_ids,
                "admitted": c.admitted, "on_leave": c.on_leave, "discharged": c.discharged}
