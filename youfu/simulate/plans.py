"""Care plans in the simulated city (issue 21): a share of the assessed elders get a plan, and the
orders service's recurring rules place its visits, which the providers' desks and caregivers of the
day then serve beside the ad-hoc orders.

Who does what, as in life: the assessor who scored the elder drafts the plan — the elder's two
strongest needs that a provider of this run offers nearby (the assessment service's provider
options, the nearest qualified first), twice a week — and submits it (vouchers prices the month);
the household accepts it in the app, or, for an elder without the app, the unit's officer records
the consent given by phone. The plan's visits are set a few minutes after the moment the city is
built, on today's weekday and three days later, so that the first ones are ordered at once (the
spawner looks a day ahead) and fall due while the day is played: the planned-against-delivered
count then has something true to show. Payment: the community voucher where the elder has one,
else self-paid; a plan over the voucher budget is accepted with its self-paid rest.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from youfu.simulate import people as P
from youfu.simulate.http import new_key

PLAN_EVERY = 3  # one elder in three with a grade of 1 or more has a care plan
ITEMS_PER_PLAN = 2
FIRST_VISIT_MIN = 3  # the earliest visit, minutes after the plans are made (each elder a minute later, up to …)
SPREAD_MIN = 6


def plan_elders(world) -> list[int]:
    """Which elders get a plan: every third elder with a grade (deterministic for a seed)."""
    return [e.index for e in world.elders if e.grade >= 1 and e.index % PLAN_EVERY == 0]


def wanted_services(elder) -> list[str]:
    """The elder's needs, strongest first (services ordered per visit)."""
    return [code for code, weight in sorted(elder.needs.items(), key=lambda kv: -kv[1])
            if weight > 0 and code not in ("emergency", "medical_escort")]


def frequency(at: datetime) -> dict:
    """Twice a week at `at`'s time: `at`'s weekday and three days later."""
    day = at.isoweekday()
    return {"type": "weekly", "weekdays": sorted({day, (day + 2) % 7 + 1}), "time": at.strftime("%H:%M")}


async def care_plan(builder, i: int, now: datetime) -> dict | None:
    """Drafts, submits and has accepted the care plan of elder `i`; the plan, or None when no
    provider of this run offers what the elder needs."""
    b, e = builder.b, builder.world.elders[i]
    elder_id, drafter = b.elder_ids[i], b.drafters[i]
    ours = {p for p in b.provider_ids if p}
    at = now + timedelta(minutes=FIRST_VISIT_MIN + i % SPREAD_MIN)
    kind = "community" if e.community_voucher else "self_pay"
    items: list[dict] = []
    for code in wanted_services(e):
        if len(items) == ITEMS_PER_PLAN:
            break
        options = await builder.req(drafter, "GET", f"/api/assessment/elders/{elder_id}/care-plans/provider-options",
                                    params={"service_code": code})
        # this run's providers only: the demo world's provider is left alone (tests/e2e/test_simulate.py)
        pick = next((o for o in options or [] if o["provider_id"] in ours), None)
        if pick:
            items.append({"service_code": code, "provider_id": pick["provider_id"], "voucher_kind": kind,
                          "duration_min": max(30, P.SERVICE_MIN_MINUTES.get(code, 30)),
                          "frequency": frequency(at + timedelta(minutes=len(items)))})
    if not items:
        return None
    draft = await builder.req(drafter, "POST", f"/api/assessment/elders/{elder_id}/care-plans", key=new_key(),
                              json={"start_date": now.date().isoformat(), "items": items})
    plan = await builder.req(drafter, "POST", f"/api/assessment/care-plans/{draft['plan_id']}/submit")
    over = bool((plan.get("budget") or {}).get("over_budget"))
    household = b.households[i]
    if household is not None:
        body = {"method": "app", "accepts_self_pay": over}
        who = household
    else:  # a hotline elder: the officer records the consent given by phone
        body = {"method": "phone", "accepts_self_pay": over, "given_by_name": e.family_name or e.name}
        who = b.officer_for(e.district_code, i)
    await builder.req(who, "POST", f"/api/assessment/care-plans/{plan['plan_id']}/consent", json=body)
    return plan


async def build_plans(builder, now: datetime, timeout_s: float = 20.0) -> dict:
    """The plans of the chosen elders, then (once orders has made their rules from the activation
    events) one spawner run, so the first visits are ordered before the day is played."""
    b = builder.b
    made = await asyncio.gather(*(care_plan(builder, i, now) for i in plan_elders(builder.world)))
    plans = [p for p in made if p]
    b.plan_elder_ids = [p["elder_id"] for p in plans]
    items = {p["elder_id"]: len(p["items"]) for p in plans}
    deadline = asyncio.get_running_loop().time() + timeout_s
    waiting = dict(items)
    while waiting and asyncio.get_running_loop().time() < deadline:
        async def rules_made(elder_id: str) -> bool:
            answer = await builder.gw.call(b.city_officer, "GET", "/api/orders/plan-delivery",
                                           params={"elder_id": elder_id})
            return answer.ok and len(answer.body.get("items", [])) >= waiting[elder_id]
        done = await asyncio.gather(*(rules_made(x) for x in waiting))
        waiting = {x: n for (x, n), ok in zip(list(waiting.items()), done) if not ok}
        if waiting:
            await asyncio.sleep(0.3)
    spawned = await builder.req(b.admin, "POST", "/api/orders/recurring-orders/spawn") if plans else {}
    builder.step()
    return {"plans": len(plans), "items": sum(items.values()), "rules_missing": len(waiting),
            "spawned_at_start": int((spawned or {}).get("placed") or 0)}


async def delivery(gw, officer, elder_ids: list[str], month: str) -> dict:
    """This run's plans, planned against delivered this month (the orders service's count)."""
    answers = await asyncio.gather(*(gw.call(officer, "GET", "/api/orders/plan-delivery",
                                             params={"elder_id": x, "month": month}) for x in elder_ids))
    total = {"planned": 0, "due": 0, "placed": 0, "completed": 0}
    below = 0
    for answer in answers:
        if not answer.ok:
            continue
        for key in total:
            total[key] += int(answer.body.get(key) or 0)
        ratio = answer.body.get("ratio")
        below += ratio is not None and ratio < 0.8
    total["ratio"] = round(total["completed"] / total["due"], 4) if total["due"] else None
    total["elders_below_80"] = below
    return total
