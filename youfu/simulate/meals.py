"""Lunch at the meal points (issue 23): around noon of the simulated day some elders with the app
(their own phone or a family member's) walk to one of the demo world's two meal points (助餐点,
youfu/seed.py). As people would, through the gateway: the household fetches the elder's dynamic
code, the meal point's counter account takes the meal with it (price 15 yuan, a new Idempotency-Key)
and reads the receipt; the subsidy it took counts in the run's simulated voucher spend.

Only in a day (not in steady traffic), and only where var/demo-accounts.json has the counters."""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import datetime

from shared.city import CITY_TZ
from youfu.simulate.build import Built
from youfu.simulate.city import World
from youfu.simulate.day import DAY_START_H
from youfu.simulate.http import Gateway, Session, new_key

LUNCH_H = (11.0, 12.5)  # when the elders come, simulated hours
SHARE = 0.3  # of the elders with the app
PRICE_FEN = 1500


@dataclass(frozen=True)
class Counter:
    provider_id: str
    phone: str
    password: str


class Lunch:
    def __init__(self, gw: Gateway, world: World, built: Built, counters: list[Counter], *, speed: float,
                 seed: int) -> None:
        self.gw, self.world, self.b, self.counters, self.speed = gw, world, built, counters, speed
        self.rng = random.Random(f"youfu-lunch:{seed}")
        self.meals = self.subsidy_fen = self.refused = 0
        self.by_district: dict[str, int] = {}  # subsidy by the elder's district code (vouchers books it there)

    async def run(self, t0: float) -> None:
        """`t0`: the monotonic time the simulated day started (06:00)."""
        desks = [(c.provider_id, await Session(f"meal point {n + 1}", c.phone, c.password, "provider_admin").login(self.gw))
                 for n, c in enumerate(self.counters)]
        diners = [i for i, h in enumerate(self.b.households) if h is not None and self.b.elder_ids[i]]
        diners = self.rng.sample(diners, max(min(3, len(diners)), int(len(diners) * SHARE)))
        at = sorted((self.rng.uniform(*LUNCH_H), i) for i in diners)
        await asyncio.gather(*(self.eat(t0 + (h - DAY_START_H) * 3600 / self.speed, i, desks[k % len(desks)])
                               for k, (h, i) in enumerate(at)))

    async def eat(self, when: float, i: int, desk: tuple[str, Session]) -> None:
        await asyncio.sleep(max(0.0, when - time.monotonic()))
        elder_id, household = self.b.elder_ids[i], self.b.households[i]
        code = await self.gw.call(household, "GET", f"/api/orders/elders/{elder_id}/meal-code")
        if not code.ok:
            return
        point, counter = desk
        meal = await self.gw.call(counter, "POST", f"/api/orders/meal-points/{point}/redemptions", key=new_key(), json={
            "code": code.body["code"], "meal": "lunch", "price_fen": PRICE_FEN, "method": "scanned",
            "scanned_at": datetime.now(CITY_TZ).isoformat()})
        if meal.ok:
            self.meals += 1
            self.subsidy_fen += meal.body["subsidy_fen"]
            district = self.world.elders[i].district_code
            self.by_district[district] = self.by_district.get(district, 0) + meal.body["subsidy_fen"]
        else:
            self.refused += 1

    def report(self) -> dict:
        return {"meals": self.meals, "subsidy_fen": self.subsidy_fen, "refused": self.refused,
                "meal_points": len(self.counters), "subsidy_by_district_fen": dict(self.by_district)}
