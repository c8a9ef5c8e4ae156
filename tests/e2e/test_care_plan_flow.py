"""A care plan across the real platform (issue 21), through the gateway as each person would: an
assessor drafts the plan of a newly assessed elder and submits it (priced by vouchers), someone not
linked to the elder cannot consent, the family consents; orders turns the plan into its recurring
rules once, and an occurrence is placed with its voucher hold. A new version replaces the plan: the
old rules end, the placed occurrence is cancelled and its hold released, and the ledger's invariants
hold."""
from __future__ import annotations

import json
import random
import uuid
from datetime import date, datetime, timedelta

import httpx
import pytest

from shared.city import CITY_TZ as SHANGHAI
from tests.e2e.test_order_flow import eventually
from tests.e2e.test_status_lists_flow import assessed_elder, family_of, ok
from tests.support.clients import login, login_as
from tests.support.factories import HAILING, new_id_card

pytestmark = pytest.mark.slow
EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]


def plan_items(provider_id: str, service_code: str, at: str, voucher_kind: str = "community") -> list[dict]:
    return [{"service_code": service_code, "provider_id": provider_id, "duration_min": 60, "voucher_kind": voucher_kind,
             "frequency": {"type": "weekly", "weekdays": EVERY_DAY, "time": at}}]


def draft_and_submit(c: httpx.Client, assessor: dict, elder_id: str, items: list[dict], start: date) -> dict:
    draft = ok(c.post(f"/api/assessment/elders/{elder_id}/care-plans",
                      headers={**assessor, "Idempotency-Key": str(uuid.uuid4())},
                      json={"start_date": start.isoformat(), "items": items}), 201)
    assert draft["state"] == "draft" and draft["items"][0]["provider_id"] == items[0]["provider_id"]
    sent = ok(c.post(f"/api/assessment/care-plans/{draft['plan_id']}/submit", headers=assessor))
    assert sent["state"] == "awaiting_consent"
    budget = sent["budget"]
    assert budget["summary_zh"].startswith(f"每月计划 {budget['occurrences']} 次")
    assert budget["voucher_fen"] + budget["self_fen"] == budget["total_fen"] > 0
    return sent


def consent(c: httpx.Client, who: dict, plan: dict) -> dict:
    path = f"/api/assessment/care-plans/{plan['plan_id']}/consent"
    if plan["budget"]["over_budget"]:  # the rest is the elder's to pay: only with that consent on record
        refused = c.post(path, headers=who, json={"method": "app", "accepts_self_pay": False})
        assert refused.status_code == 409, refused.text
    return ok(c.post(path, headers=who, json={"method": "app", "accepts_self_pay": True}))


def held_fen(c: httpx.Client, who: dict, elder_id: str) -> int:
    wallet = ok(c.get(f"/api/vouchers/wallets/{elder_id}", headers=who))
    return sum(v["held_fen"] for v in wallet["vouchers"])


def test_plan_consented_becomes_rules_once_and_a_new_version_cancels_what_lies_ahead(platform):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    now = datetime.now(SHANGHAI)
    today = now.date()
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        born = date(1942, random.randrange(1, 13), random.randrange(1, 29))
        name = "孙" + random.choice("桂秀玉凤兰") + "英"
        elder_id = assessed_elder(c, platform, name, new_id_card(HAILING, born, male=False), born)
        family = family_of(c, platform, elder_id)
        assessor = login_as(platform, *next((a["phone"], a["password"]) for a in platform.demo_accounts
                                            if a["role"] == "assessor"))
        eventually(lambda: c.get(f"/api/vouchers/wallets/{elder_id}", headers=family).json(),
                   lambda w: any(v["kind"] == "community" for v in w.get("vouchers", [])), what="the vouchers")

        # every day, two hours from now: the next occurrence is within the spawner's day ahead
        at = (now + timedelta(hours=2)).strftime("%H:%M")
        first = draft_and_submit(c, assessor, elder_id, plan_items(world["provider_id"], "meal", at), today)
        stranger = c.post(f"/api/assessment/care-plans/{first['plan_id']}/consent", headers=login(platform, "family"),
                          json={"method": "app", "accepts_self_pay": True})
        assert stranger.status_code == 404, stranger.text  # the demo family is 王大爷's, not this elder's
        active = consent(c, family, first)
        assert active["state"] == "active" and active["consent"]["by_role"] == "family"

        def plan_rules(plan_id: str) -> list[dict]:
            rules = ok(c.get("/api/orders/recurring-orders", headers=family, params={"elder_id": elder_id}))
            return [r for r in rules if r.get("source_plan_id") == plan_id]

        rules = eventually(lambda: plan_rules(first["plan_id"]), lambda rs: len(rs) >= 1, what="the plan's rules")
        assert len(rules) == 1 and rules[0]["status"] == "active"  # one item, one rule

        admin = login(platform, "admin")

        def spawned() -> list[dict]:
            ok(c.post("/api/orders/recurring-orders/spawn", headers=admin))
            orders = ok(c.get("/api/orders/orders", headers=family, params={"elder_id": elder_id}))
            return [o for o in orders if o.get("recurring_rule_id") == rules[0]["rule_id"]]

        placed = eventually(spawned, lambda xs: len(xs) >= 1, what="an occurrence placed")[0]
        assert placed["state"] != "cancelled"
        eventually(lambda: held_fen(c, family, elder_id), lambda fen: fen > 0, what="the occurrence's hold")
        delivery = ok(c.get("/api/orders/plan-delivery", headers=family, params={"elder_id": elder_id}))
        assert delivery["planned"] >= 1 and delivery["summary_zh"].startswith("本月计划")

        # version 2: a self-paid visit instead of the daily meal (no hold of its own to blur the count);
        # consent replaces version 1
        second = draft_and_submit(c, assessor, elder_id, plan_items(world["provider_id"], "visit", at, "self_pay"), today)
        assert second["version"] == first["version"] + 1
        consent(c, family, second)
        old = ok(c.get(f"/api/assessment/care-plans/{first['plan_id']}", headers=family))
        assert old["state"] == "replaced"
        eventually(lambda: ok(c.get(f"/api/orders/orders/{placed['order_id']}", headers=family)),
                   lambda o: o["state"] == "cancelled", what="the old plan's occurrence cancelled")
        eventually(lambda: plan_rules(first["plan_id"]), lambda rs: all(r["status"] == "ended" for r in rs),
                   what="the old plan's rules ended")
        eventually(lambda: held_fen(c, family, elder_id), lambda fen: fen == 0, what="the hold released")
        eventually(lambda: plan_rules(second["plan_id"]), lambda rs: len(rs) == 1, what="the new plan's rule")
        check = ok(c.get("/api/vouchers/ledger/check", headers=login(platform, "city_officer")))
        assert check["ok"] is True and check["violations"] == []
