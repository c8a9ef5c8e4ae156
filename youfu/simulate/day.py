"""A day of orders, and each order's fate. Pure (no I/O) and seeded.

When orders arrive (simulated time of day, 06:00–20:00):
* everything but meals mostly in the morning (65 %: around 08:00, σ 48 min, between 06:30 and
  12:00 — the morning peak), the rest spread evenly over 06:30–19:00, for a window 1–3 hours on;
* meals (助餐) are ordered for the 11:00 lunch round (80 %: placed around 10:12, σ 30 min, between
  07:30 and 10:50 — the noon peak) or the 17:00 supper round (20 %: around 15:45).
Fates, drawn per order: the elder's side cancels 4 % before a provider accepts and 3 % after (before
the caregiver arrives); one provider declines 8 % of orders and two decline 2 %; 4 % of check-ins
are made away from the home (an exception, with the reason); 3 % of services are recorded shorter
than the item's minimum; 70 % of finished orders are rated (mostly 4–5 stars).

The city's peak rate, from which `make soak` takes its multiple: the platform's 169,000 users
(people.py: 13 % of 1.3 million) × 0.196 orders per user and day (the mean over the population's
grades and statuses) ≈ 33,100 orders a day, × the busiest hour's share of them (10:00–11:00,
25.6 %, from the curve above and the population's 45 % share of meal orders) ≈ 8,500 orders in
that hour = 2.35 orders a second.
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from youfu.simulate import people as P
from youfu.simulate.city import Elder, World

DAY_START_H, DAY_END_H = 6.0, 20.0
DAY_SECONDS = (DAY_END_H - DAY_START_H) * 3600
LUNCH = (10.2, 0.5, 7.5, 10.83, 11.0)  # mean h, sigma h, earliest, latest, window start
SUPPER = (15.75, 0.6, 14.0, 16.83, 17.0)
MORNING = (8.0, 0.8, 6.5, 12.0)
SPREAD = (6.5, 19.0)
P_SUPPER, P_MORNING = 0.20, 0.65
P_CANCEL_EARLY, P_CANCEL_LATE = 0.04, 0.03
P_ONE_DECLINE, P_TWO_DECLINES = 0.08, 0.02
P_OFFSITE, P_SHORT, P_REVIEW = 0.04, 0.03, 0.70
RATINGS = {5: 0.60, 4: 0.25, 3: 0.10, 2: 0.03, 1: 0.02}


@dataclass(frozen=True)
class Fate:
    cancel: str | None  # "early": before a provider accepts; "late": after, before the caregiver arrives
    declines: int  # providers that decline the order before one accepts
    offsite: bool  # the caregiver checks in away from the home (an exception, with a reason)
    short: bool  # the caregiver records less than the item's minimum duration
    rating: int  # 1–5, or 0: no review


@dataclass(frozen=True)
class PlannedOrder:
    seq: int
    elder: int  # index into World.elders
    service: str
    at_s: float  # when it is placed: simulated seconds after 06:00 (a day) or real seconds (steady traffic)
    lead_min: int  # the service window starts this long after placing (real minutes)
    window_min: int
    payment: str  # community | mutual_aid | self_pay: the elder's wish (a spent wallet falls back to self_pay)
    fate: Fate


def _clipped_gauss(rng: random.Random, mean: float, sigma: float, low: float, high: float) -> float:
    return min(high, max(low, rng.gauss(mean, sigma)))


def _window(service: str, rng: random.Random) -> int:
    minimum = P.SERVICE_MIN_MINUTES[service]
    return 60 if service == "meal" else max(60, 30 * math.ceil((minimum + 30) / 30))


def payment_for(elder: Elder, service: str, rng: random.Random) -> str:
    mutual = elder.economic_status != "none" and elder.special_hardship and service in P.MUTUAL_AID_SERVICES
    if mutual and (not elder.community_voucher or rng.random() < 0.5):
        return "mutual_aid"
    return "community" if elder.community_voucher else "self_pay"


def fate(rng: random.Random, service: str) -> Fate:
    r = rng.random()
    cancel = "early" if r < P_CANCEL_EARLY else "late" if r < P_CANCEL_EARLY + P_CANCEL_LATE else None
    d = rng.random()
    declines = 2 if d < P_TWO_DECLINES else 1 if d < P_TWO_DECLINES + P_ONE_DECLINE else 0
    short = P.SERVICE_MIN_MINUTES[service] > 0 and rng.random() < P_SHORT
    rating = P.pick(rng, RATINGS) if rng.random() < P_REVIEW else 0
    return Fate(cancel, declines, rng.random() < P_OFFSITE, short, rating)


def _timing(rng: random.Random, service: str) -> tuple[float, int]:
    """(hour of day it is placed, minutes until its window starts)."""
    if service == "meal":
        mean, sigma, low, high, window = SUPPER if rng.random() < P_SUPPER else LUNCH
        hour = _clipped_gauss(rng, mean, sigma, low, high)
        return hour, max(10, round((window - hour) * 60))
    if rng.random() < P_MORNING:
        hour = _clipped_gauss(rng, *MORNING)
    else:
        hour = rng.uniform(*SPREAD)
    return hour, 30 * rng.randint(2, 6)


def _one(rng: random.Random, world: World, elder: Elder) -> tuple[str, float, int, int, str, Fate]:
    service = P.pick(rng, {k: v for k, v in elder.needs.items() if v > 0})
    hour, lead = _timing(rng, service)
    return service, hour, lead, _window(service, rng), payment_for(elder, service, rng), fate(rng, service)


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method (means here are small)."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def plan_day(world: World, *, seed: int | None = None, max_per_elder: int = 6) -> list[PlannedOrder]:
    """The day's orders in the order they are placed."""
    rng = random.Random(f"youfu-day:{world.scale.name}:{world.seed if seed is None else seed}")
    rows = []
    for elder in world.elders:
        for _ in range(min(max_per_elder, poisson(rng, elder.propensity * world.scale.boost))):
            service, hour, lead, window, payment, f = _one(rng, world, elder)
            rows.append((round((hour - DAY_START_H) * 3600, 1), elder.index, service, lead, window, payment, f))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [PlannedOrder(i, e, s, at, lead, window, pay, f) for i, (at, e, s, lead, window, pay, f) in enumerate(rows)]


def steady_orders(world: World, *, rate_per_s: float, duration_s: float, seed: int | None = None) -> Iterator[PlannedOrder]:
    """Orders arriving at `rate_per_s` (Poisson) for `duration_s` real seconds, from elders chosen by
    how much they order, with the day's service mix and fates: sustained peak traffic."""
    rng = random.Random(f"youfu-steady:{world.scale.name}:{world.seed if seed is None else seed}")
    weights = [e.propensity for e in world.elders]
    t, seq = 0.0, 0
    while True:
        t += rng.expovariate(rate_per_s)
        if t >= duration_s:
            return
        elder = rng.choices(world.elders, weights=weights)[0]
        service, _, lead, window, payment, f = _one(rng, world, elder)
        yield PlannedOrder(seq, elder.index, service, round(t, 3), min(lead, 90), window, payment, f)
        seq += 1


# ---- the city's peak -------------------------------------------------------------------------------

def _cdf(x: float, mean: float, sigma: float) -> float:
    return 0.5 * (1 + math.erf((x - mean) / (sigma * math.sqrt(2))))


def _clipped_mass(a: float, b: float, mean: float, sigma: float, low: float, high: float) -> float:
    """P(a <= clip(N(mean, sigma), low, high) < b): the clipped tails sit on the bounds."""
    mass = max(0.0, _cdf(min(b, high), mean, sigma) - _cdf(max(a, low), mean, sigma)) if b > low and a < high else 0.0
    if a <= low < b:
        mass += _cdf(low, mean, sigma)
    if a <= high < b:
        mass += 1 - _cdf(high, mean, sigma)
    return mass


def meal_share() -> float:
    """The share of orders that are meals, over the population's grades and living situations."""
    total = 0.0
    for grade, g in P.GRADE_SHARES.items():
        for living, l_share in P.LIVING_SHARES.items():
            needs = P.needs(grade, living)
            total += g * l_share * needs["meal"] / sum(needs.values())
    return total


def hourly_shares() -> list[float]:
    """Expected share of a day's orders placed in each hour from 06:00 to 20:00."""
    meal = meal_share()
    out = []
    for h in range(int(DAY_START_H), int(DAY_END_H)):
        a, b = float(h), float(h + 1)
        lunch = _clipped_mass(a, b, *LUNCH[:4])
        supper = _clipped_mass(a, b, *SUPPER[:4])
        morning = _clipped_mass(a, b, *MORNING)
        spread = max(0.0, min(b, SPREAD[1]) - max(a, SPREAD[0])) / (SPREAD[1] - SPREAD[0])
        out.append(meal * ((1 - P_SUPPER) * lunch + P_SUPPER * supper)
                   + (1 - meal) * (P_MORNING * morning + (1 - P_MORNING) * spread))
    return out


def city_orders_per_day() -> float:
    return P.CITY_PLATFORM_ELDERS * P.mean_propensity()


def city_peak_orders_per_s() -> float:
    return city_orders_per_day() * max(hourly_shares()) / 3600
