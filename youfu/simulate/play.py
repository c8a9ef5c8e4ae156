"""Playing the day: families and the hotline place orders, provider desks answer offers, caregivers
travel between homes, check in and out, and families rate. Time is compressed: `speed` simulated
seconds pass per real second (waiting, travelling, serving); the platform itself runs at its own
pace, so what it does (dispatch, acceptance, settlement) is measured in real seconds.

The people:
* a family (or the elder, or a 12349 hotline operator, i.e. the unit's officer, for elders
  without the app) places each planned order: voucher-paid where the elder has vouchers, falling
  back to self-pay when the wallet is spent (409); some cancel, early or late, as their fate says;
  an order still without a provider after three simulated hours (or by the end) is given up;
* each provider's desk looks at its offers every `poll_s` and, after a moment's thought, accepts
  (with the caregiver the platform proposed) or declines; in grab mode another desk may win;
  desks take the monthly visits (探访关爱) the officers planned too, and the visits of the care plans
  (plans.py) the spawner places;
* each caregiver works through their jobs in order, riding (15 km/h) from home to home, checking
  in at the door — or, as fated, away from it, first refused with the distance and then recorded
  as an exception with the reason — serving, and checking out with a record of what was done.
"""
from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.city import CITY_TZ, haversine_m
from youfu.simulate import people as P
from youfu.simulate.build import Built
from youfu.simulate.city import World
from youfu.simulate.day import DAY_END_H, DAY_SECONDS, DAY_START_H, PlannedOrder
from youfu.simulate.http import Gateway, Session, new_key
from youfu.simulate.places import offset

RIDE_KMH = 15.0
PATIENCE_MIN = 180  # simulated minutes a family waits for a provider before giving up
DECLINE_REASONS = ("该时段人手已满", "护理员请假，无法安排", "距离较远，今日排班已满")


@dataclass
class Track:
    """One planned order, as the simulation follows it."""

    plan: PlannedOrder
    elder_id: str
    district: str
    hotline: bool
    declines_left: int
    order_id: str | None = None
    placed_at: float | None = None
    accepted_at: float | None = None
    outcome: str = "waiting"  # completed | cancelled_early | cancelled_late | unmatched | not_placed
    payment: str = ""
    voucher_fen: int = 0
    price_fen: int = 0
    fell_back: bool = False
    cancelling: bool = False
    exception: bool = False
    reviewed: bool = False
    accepted: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Job:
    order_id: str
    lat: float
    lon: float
    service: str
    offsite: bool
    short: bool
    track: Track | None
    plan: bool = False  # an occurrence of a care plan (a recurring order), not a monthly visit
    voucher_fen: int = 0


@dataclass
class Counters:
    placed: int = 0
    accepted: int = 0
    completed: int = 0
    cancelled: int = 0
    unmatched: int = 0
    declined: int = 0
    visits_accepted: int = 0
    visits_done: int = 0
    plan_accepted: int = 0
    exceptions: int = 0
    refused_checkins: int = 0
    fell_back: int = 0
    reviews: int = 0


class Play:
    def __init__(self, gw: Gateway, world: World, built: Built, plans: Iterable[PlannedOrder], *, speed: float,
                 steady: bool, poll_s: float, seed: int) -> None:
        self.gw, self.world, self.b, self.plans = gw, world, built, plans
        self.speed, self.steady, self.poll_s = speed, steady, poll_s
        self.rng = random.Random(f"youfu-play:{seed}")
        self.c = Counters()
        self.tracks: list[Track] = []
        self.by_order: dict[str, Track] = {}
        self.queues = [asyncio.Queue() for _ in world.caregivers]
        self.seen_offers: set[str] = set()
        self.wallet_read: set[int] = set()
        self.plan_completed: dict[str, int] = {}  # care plans' orders checked out: order id → voucher fen
        self.t0 = time.monotonic()
        self.placing = True
        self.stopping = False
        self.busy_jobs = 0
        self.side_tasks: set[asyncio.Task] = set()
        self.helpers: list[asyncio.Task] = []

    # ---- clocks ----------------------------------------------------------------------------------

    def sim_clock(self) -> str:
        """The simulated time of day (a day), or the elapsed simulated time (steady traffic)."""
        s = (time.monotonic() - self.t0) * self.speed
        if self.steady:
            return f"+{int(s // 3600)}h{int(s % 3600 // 60):02d}m"
        h = DAY_START_H + s / 3600
        if h >= DAY_END_H:
            return f"20:00 +{time.monotonic() - self.t0 - DAY_SECONDS / self.speed:.0f}s"
        return f"{int(h):02d}:{int(h * 60) % 60:02d}"

    async def sim_sleep(self, minutes: float) -> None:
        await asyncio.sleep(max(0.0, minutes * 60 / self.speed))

    def real_at(self, plan: PlannedOrder) -> float:
        return plan.at_s if self.steady else plan.at_s / self.speed

    # ---- the whole day ---------------------------------------------------------------------------

    def start_work(self) -> None:
        """Provider desks and caregivers start work (before the day: visits may come at any time)."""
        if not self.helpers:
            self.helpers = [asyncio.create_task(self.desk(j)) for j in range(len(self.world.providers))]
            self.helpers += [asyncio.create_task(self.caregiver(k)) for k in range(len(self.world.caregivers))]

    async def stop_work(self) -> None:
        self.placing, self.stopping = False, True
        rest = self.helpers + list(self.side_tasks)
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
        self.helpers = []

    async def run(self, drain_s: float = 90.0) -> None:
        self.start_work()
        self.t0 = time.monotonic()
        families: list[asyncio.Task] = []
        try:
            for plan in self.plans:
                wait = self.t0 + self.real_at(plan) - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                families = [t for t in families if not t.done()]
                families.append(asyncio.create_task(self.family(self.track(plan))))
            self.placing = False
            if families:
                await asyncio.wait(families, timeout=drain_s)
            deadline = time.monotonic() + min(30.0, drain_s)  # visits still on the road
            while (self.busy_jobs or any(not q.empty() for q in self.queues)) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
        finally:
            for task in families:
                task.cancel()
            await asyncio.gather(*families, return_exceptions=True)
            await self.stop_work()
        for t in self.tracks:
            if t.outcome == "waiting":
                t.outcome = "unmatched" if t.accepted_at is None else "unfinished"

    def track(self, plan: PlannedOrder) -> Track:
        elder = self.world.elders[plan.elder]
        t = Track(plan, self.b.elder_ids[plan.elder], elder.district_code, elder.household == "hotline",
                  plan.fate.declines)
        self.tracks.append(t)
        return t

    # ---- families and the hotline ----------------------------------------------------------------

    def _orderer(self, t: Track) -> Session:
        elder = self.world.elders[t.plan.elder]
        return self.b.households[elder.index] or self.b.officer_for(elder.district_code, elder.index)

    async def family(self, t: Track) -> None:
        who, plan = self._orderer(t), t.plan
        if not t.hotline and plan.elder not in self.wallet_read:
            self.wallet_read.add(plan.elder)  # opening the app: this month's balance
            await self.gw.call(who, "GET", f"/api/vouchers/wallets/{t.elder_id}", expect=(404,))
        start = (datetime.now(CITY_TZ) + timedelta(minutes=plan.lead_min)).replace(second=0, microsecond=0)
        body = {"elder_id": t.elder_id, "service_code": plan.service, "payment": plan.payment,
                "window_start": start.isoformat(), "window_end": (start + timedelta(minutes=plan.window_min)).isoformat(),
                "notes": "12349 热线代下单" if t.hotline else ""}
        answer = await self.gw.call(who, "POST", "/api/orders/orders", json=body, key=new_key(),
                                    expect=(409,) if plan.payment != "self_pay" else ())
        if answer.status == 409:  # the wallet is spent: the family chooses to pay themselves
            t.fell_back = True
            self.c.fell_back += 1
            answer = await self.gw.call(who, "POST", "/api/orders/orders", json=body | {"payment": "self_pay"},
                                        key=new_key())
        if not answer.ok:
            t.outcome = "not_placed"
            return
        order = answer.body
        t.order_id, t.placed_at = order["order_id"], time.monotonic()
        t.payment, t.voucher_fen, t.price_fen = order["payment"], order["voucher_fen"], order["price_fen"]
        self.by_order[t.order_id] = t
        self.c.placed += 1
        if plan.fate.cancel == "early":
            await self.sim_sleep(self.rng.uniform(2, 8))
            if t.accepted_at is None and await self.cancel(t, who, "老人临时有事，不需要了"):
                t.outcome = "cancelled_early"
                return
        if not await self.wait_accepted(t, who):
            return
        if plan.fate.cancel in ("early", "late"):
            await self.sim_sleep(self.rng.uniform(1, 6))
            if await self.cancel(t, who, "家属已自行安排，取消服务"):
                t.outcome = "cancelled_late"
                return
        await t.done.wait()
        if plan.fate.rating and not t.hotline and t.outcome == "completed":
            await self.sim_sleep(self.rng.uniform(10, 60))
            comment = self.rng.choice(P.COMMENTS[plan.fate.rating])
            answer = await self.gw.call(who, "POST", f"/api/orders/orders/{t.order_id}/review",
                                        json={"rating": plan.fate.rating, "comment": comment})
            if answer.ok:
                t.reviewed = True
                self.c.reviews += 1

    async def cancel(self, t: Track, who: Session, reason: str) -> bool:
        t.cancelling = True
        answer = await self.gw.call(who, "POST", f"/api/orders/orders/{t.order_id}/cancel", json={"reason": reason},
                                    expect=(409,))  # too late: the caregiver has checked in
        t.cancelling = answer.ok
        if answer.ok:
            self.c.cancelled += 1
            t.done.set()
        return answer.ok

    async def wait_accepted(self, t: Track, who: Session) -> bool:
        """Until a provider accepts (True), or the order is unmatched and given up (False): after
        PATIENCE_MIN simulated minutes once the platform has said it found nobody (it only tries
        again minutes later), at the latest after 20 real seconds — the platform dispatches in real
        time, whatever the speed of the day — and at once when the day is over and nobody was found."""
        patient_until = time.monotonic() + PATIENCE_MIN * 60 / self.speed
        given_up_at = max(patient_until, time.monotonic() + 20.0)
        while True:
            # the family looks at the order now and then; once the day is over, more often (the
            # run waits for the last of them)
            look_every = max(5.0 if self.placing else 1.0, 20 * 60 / self.speed)
            try:
                await asyncio.wait_for(t.accepted.wait(), timeout=look_every)
                return True
            except asyncio.TimeoutError:
                pass
            answer = await self.gw.call(who, "GET", f"/api/orders/orders/{t.order_id}")
            state = answer.body.get("state") if answer.ok else None
            if state == "cancelled":  # the platform gave up (its window passed)
                t.outcome = "unmatched"
                self.c.unmatched += 1
                return False
            if state in ("accepted", "in_service", "completed", "settled"):
                try:  # our desk's answer is on its way
                    await asyncio.wait_for(t.accepted.wait(), timeout=15)
                    return True
                except asyncio.TimeoutError:  # someone outside the simulation took it
                    t.outcome = "taken_elsewhere"
                    return False
            now = time.monotonic()
            if now > given_up_at or (state == "unmatched" and (not self.placing or now > patient_until)):
                if await self.cancel(t, who, "长时间无人接单，取消"):
                    self.c.cancelled -= 1  # counted as unmatched, not as a change of mind
                    t.outcome = "unmatched"
                    self.c.unmatched += 1
                    return False

    # ---- provider desks --------------------------------------------------------------------------

    async def desk(self, j: int) -> None:
        admin = self.b.provider_admins[j]
        while not self.stopping:
            answer = await self.gw.call(admin, "GET", "/api/orders/offers")
            for offer in answer.body if answer.ok else []:
                if offer["offer_id"] not in self.seen_offers:
                    self.seen_offers.add(offer["offer_id"])
                    task = asyncio.create_task(self.answer_offer(admin, offer))
                    self.side_tasks.add(task)
                    task.add_done_callback(self.side_tasks.discard)
            await asyncio.sleep(self.poll_s)

    async def answer_offer(self, admin: Session, offer: dict) -> None:
        await self.sim_sleep(self.rng.uniform(0.5, 3))
        order_id = offer["order_id"]
        t = self.by_order.get(order_id)
        decline = t.declines_left > 0 if t else self.rng.random() < 0.05
        if decline:
            if t:
                t.declines_left -= 1
            answer = await self.gw.call(admin, "POST", f"/api/orders/orders/{order_id}/decline",
                                        json={"reason": self.rng.choice(DECLINE_REASONS)}, expect=(409,))
            self.c.declined += answer.ok
            return
        answer = await self.gw.call(admin, "POST", f"/api/orders/orders/{order_id}/accept", json={},
                                    expect=(409,))  # another provider won the grab, or the family cancelled
        if not answer.ok:
            return
        order = answer.body
        caregiver = next((k for k, cid in enumerate(self.b.caregiver_ids) if cid == order.get("caregiver_id")), None)
        plan = t is None and order.get("kind") == "recurring"  # a care plan's visit, placed by the spawner
        if t:
            t.accepted_at = time.monotonic()
            self.c.accepted += 1
            t.accepted.set()
        elif plan:
            self.c.plan_accepted += 1
        else:
            self.c.visits_accepted += 1
        if caregiver is None:
            return
        fate_offsite = t.plan.fate.offsite if t else self.rng.random() < 0.03
        fate_short = t.plan.fate.short if t else False
        voucher_fen = int(order.get("voucher_fen") or 0) if order.get("payment") != "self_pay" else 0
        self.queues[caregiver].put_nowait(Job(order_id, order["lat"], order["lon"], order["service_code"],
                                              fate_offsite, fate_short, t, plan, voucher_fen))

    # ---- caregivers ------------------------------------------------------------------------------

    async def caregiver(self, k: int) -> None:
        me = self.world.caregivers[k]
        # without an account of their own (demo scale) the caregiver's visits are recorded by their
        # provider's desk: the platform lets a provider's admin check in and out for its orders
        session = self.b.caregivers[k] or self.b.provider_admins[me.provider]
        here = (me.lat, me.lon)
        while True:
            job = await self.queues[k].get()
            self.busy_jobs += 1
            try:
                if await self.do_job(session, here, job):
                    here = (job.lat, job.lon)
            finally:
                self.busy_jobs -= 1

    async def do_job(self, session: Session, here: tuple[float, float], job: Job) -> bool:
        t = job.track
        km = haversine_m(here[0], here[1], job.lat, job.lon) / 1000
        await self.sim_sleep(3 + km / RIDE_KMH * 60)
        if t and (t.cancelling or t.outcome.startswith("cancelled")):
            return False
        path = f"/api/orders/orders/{job.order_id}"
        if job.offsite:  # at the wrong door: refused with the distance, then recorded with a reason
            lat, lon = offset(job.lat, job.lon, self.rng.uniform(0.3, 0.6), self.rng.uniform(0.3, 0.6))
            first = await self.gw.call(session, "POST", f"{path}/check-in", json={"lat": lat, "lon": lon},
                                       expect=(409, 422))
            if first.status == 422:
                self.c.refused_checkins += 1
            body = {"lat": lat, "lon": lon, "reason": self.rng.choice(P.CHECK_IN_REASONS)}
        else:
            lat, lon = offset(job.lat, job.lon, self.rng.uniform(-0.02, 0.02), self.rng.uniform(-0.02, 0.02))
            body = {"lat": lat, "lon": lon}
        # a family may cancel while the caregiver is at the door: then (and only then) a 409 is expected
        answer = await self.gw.call(session, "POST", f"{path}/check-in", json=body, expect=(409,) if t else ())
        if t and answer.status == 409 and not (t.cancelling or t.outcome.startswith("cancelled")
                                               or t.outcome == "unmatched"):
            self.gw.tally.unexpected("POST /api/orders/orders/{id}/check-in", 409, answer.detail(), session.label)
        if not answer.ok:
            if t and not t.outcome.startswith("cancelled"):
                t.outcome = "failed"
                t.done.set()
            return False
        if job.offsite:
            self.c.exceptions += 1
            if t:
                t.exception = True
        minutes = P.SERVICE_MINUTES.get(job.service, 45)
        if job.short:
            minutes = max(1, P.SERVICE_MIN_MINUTES.get(job.service, 30) // 2)
        await self.sim_sleep(minutes)
        answer = await self.gw.call(session, "POST", f"{path}/check-out", json={
            "record": P.RECORDS.get(job.service, "完成服务"), "duration_min": minutes,
            "unconfirmed_reason": "模拟：老人没有手机"})
        if t:
            t.outcome = "completed" if answer.ok else "failed"
            self.c.completed += answer.ok
            t.done.set()
        elif job.plan:
            if answer.ok:
                self.plan_completed[job.order_id] = job.voucher_fen
        else:
            self.c.visits_done += answer.ok
        return True
