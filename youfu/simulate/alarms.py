"""Emergency calls during the day (issue 25): a few elders with the app press 紧急呼叫 (through their
household's session, as the elder page does), at random simulated times between 07:00 and 19:00.
The first caregiver alerted who has an account of their own says "我去" after a simulated minute or
two, is at the door some 10–25 simulated minutes later and closes the alarm (mostly resolved on
site, sometimes 120 called, sometimes a false alarm). An alarm nobody acknowledges escalates (the
orders service's 3-minute policy) and the district's officer closes it.

Only in a day (not in steady traffic). Seeded; the day's count is `per_day` (at least 2)."""
from __future__ import annotations

import asyncio
import random
import time

from youfu.simulate.build import Built
from youfu.simulate.city import World
from youfu.simulate.day import DAY_START_H
from youfu.simulate.http import Gateway, new_key

HOURS = (7.0, 19.0)
OUTCOMES = (("resolved_on_site", 0.70), ("called_120", 0.15), ("false_alarm", 0.15))


class Alarms:
    def __init__(self, gw: Gateway, world: World, built: Built, *, speed: float, seed: int, per_day: int = 4) -> None:
        self.gw, self.world, self.b, self.speed = gw, world, built, speed
        self.rng = random.Random(f"youfu-alarms:{seed}")
        self.per_day = max(2, per_day)
        self.counts = {"raised": 0, "acknowledged": 0, "escalated": 0, "closed": 0, "failed": 0}
        self.caregiver_of = {cid: k for k, cid in enumerate(self.b.caregiver_ids) if cid}

    def real(self, sim_minutes: float) -> float:
        return sim_minutes * 60 / self.speed

    async def run(self, t0: float) -> None:
        """`t0`: the monotonic time the simulated day started (06:00)."""
        callers = [i for i, h in enumerate(self.b.households) if h is not None and self.b.elder_ids[i]]
        if not callers:
            return
        chosen = self.rng.sample(callers, min(self.per_day, len(callers)))
        at = sorted((self.rng.uniform(*HOURS), i) for i in chosen)
        await asyncio.gather(*(self.call(t0 + (h - DAY_START_H) * 3600 / self.speed, i) for h, i in at))

    async def call(self, when: float, i: int) -> None:
        await asyncio.sleep(max(0.0, when - time.monotonic()))
        elder_id = self.b.elder_ids[i]
        raised = await self.gw.call(self.b.households[i], "POST", f"/api/orders/elders/{elder_id}/alarms", json={},
                                    key=new_key())
        if not raised.ok:
            self.counts["failed"] += 1
            return
        self.counts["raised"] += 1
        alarm = raised.body
        goer = next((self.b.caregivers[self.caregiver_of[a["caregiver_id"]]] for a in alarm["alerted"]
                     if a["caregiver_id"] in self.caregiver_of and self.b.caregivers[self.caregiver_of[a["caregiver_id"]]]),
                    None)
        outcome = self.rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
        closer = goer
        if goer is not None:
            await asyncio.sleep(self.real(self.rng.uniform(0.5, 2.5)))
            ack = await self.gw.call(goer, "POST", f"/api/orders/alarms/{alarm['id']}/acknowledge", expect=(409,))
            if ack.ok:
                self.counts["acknowledged"] += 1
                await asyncio.sleep(self.real(self.rng.uniform(10, 25)))
                await self.gw.call(goer, "POST", f"/api/orders/alarms/{alarm['id']}/arrive", expect=(409,))
            else:
                closer = None
        if closer is None:  # nobody went: the desk and the district's officer have it once it escalates
            self.counts["escalated"] += 1
            await asyncio.sleep(self.real(5))
            closer = self.b.officer_for(self.world.elders[i].district_code, i) if self.b.officers.get(
                self.world.elders[i].district_code) else self.b.city_officer
        if closer is None:
            return
        closed = await self.gw.call(closer, "POST", f"/api/orders/alarms/{alarm['id']}/close",
                                    json={"outcome": outcome}, expect=(409,))
        if closed.ok:
            self.counts["closed"] += 1

    def report(self) -> dict:
        return dict(self.counts)
