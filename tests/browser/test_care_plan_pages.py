"""Care plans in a real browser (issue 21): the family accepts the plan an assessor submitted, on the
elder page with its budget sentence (ticking the self-pay consent when the plan costs more than the
vouchers), and later sees the month's visits planned against done once one of them is delivered."""
from __future__ import annotations

import json
import random
import re
import uuid
from datetime import date, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import expect

from shared.city import CITY_TZ as SHANGHAI
from tests.browser.conftest import PHONE, new_id_card, new_phone, sign_in
from tests.e2e.test_order_flow import deliver, eventually
from tests.e2e.test_status_lists_flow import assessed_elder, ok
from tests.support.clients import login, login_as

pytestmark = [pytest.mark.browser, pytest.mark.slow]
HAILING = "321202"


def household(c: httpx.Client, platform, elder_id: str) -> tuple[str, str]:
    """A family account linked to the elder: its phone and password, to sign in on the page."""
    phone, password = new_phone(), "yf-care-plan"
    admin = login(platform, "admin")
    user = ok(c.post("/api/admin/users", headers=admin, json={
        "phone": phone, "password": password, "display_name": "孙家儿子", "role": "family", "district_code": HAILING}))
    ok(c.post("/api/family-links", headers=admin, json={
        "user_id": user["id"], "elder_id": elder_id, "relation": "儿子", "consent_by": "老人本人",
        "consent_method": "in_person"}))
    return phone, password


def test_family_accepts_the_plan_and_later_sees_planned_against_done(browser, platform):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    now = datetime.now(SHANGHAI)
    born = date(1943, random.randrange(1, 13), random.randrange(1, 29))
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        name = "孙" + random.choice("桂秀玉凤兰") + "芳"  # assessed_elder registers a woman
        elder_id = assessed_elder(c, platform, name, new_id_card(HAILING, born, male=False), born)
        phone, password = household(c, platform, elder_id)
        family = login_as(platform, phone, password)
        eventually(lambda: c.get(f"/api/vouchers/wallets/{elder_id}", headers=family).json(),
                   lambda w: any(v["kind"] == "community" for v in w.get("vouchers", [])), what="the vouchers")
        assessor = login_as(platform, *next((a["phone"], a["password"]) for a in platform.demo_accounts
                                            if a["role"] == "assessor"))
        at = (now + timedelta(hours=1)).strftime("%H:%M")  # every day at this time: one placed within the day
        draft = ok(c.post(f"/api/assessment/elders/{elder_id}/care-plans",
                          headers={**assessor, "Idempotency-Key": str(uuid.uuid4())},
                          json={"start_date": now.date().isoformat(), "items": [{
                              "service_code": "meal", "provider_id": world["provider_id"], "duration_min": 60,
                              "voucher_kind": "community",
                              "frequency": {"type": "weekly", "weekdays": [1, 2, 3, 4, 5, 6, 7], "time": at}}]}), 201)
        plan = ok(c.post(f"/api/assessment/care-plans/{draft['plan_id']}/submit", headers=assessor))

    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    try:
        sign_in(page, platform.url, phone, password)
        page.wait_for_url("**/elder")
        expect(page.locator("body")).to_have_attribute("data-loaded", "true", timeout=30_000)
        offer = page.locator("#plan-offer")
        expect(offer.get_by_role("heading", name="新的护理计划，请您确认")).to_be_visible()
        budget = plan["budget"]
        expect(page.locator("#plan-budget")).to_have_text(budget["summary_zh"])
        expect(page.locator("#plan-budget")).to_contain_text(f"每月计划 {budget['occurrences']} 次")
        expect(offer).to_contain_text("助餐")
        expect(offer).to_contain_text(f"每天 {at}")
        if budget["over_budget"]:  # the rest is paid by the elder: not without the box ticked
            page.get_by_role("button", name="同意这个护理计划").click()
            expect(page.locator("#plan-accept-msg")).to_contain_text("我同意每月自付")
            page.get_by_label(re.compile("我同意每月自付")).check()
        page.get_by_role("button", name="同意这个护理计划").click()
        expect(page.locator("#plan-msg")).to_contain_text("您已同意护理计划")
        expect(page.get_by_role("heading", name=re.compile("正在执行的护理计划"))).to_be_visible()
        expect(page.locator("#plan-delivery")).to_have_text(re.compile(r"本月计划 \d+ 次，已完成 0 次"))

        with httpx.Client(base_url=platform.url, timeout=30) as c:
            accepted = ok(c.get(f"/api/assessment/care-plans/{plan['plan_id']}", headers=family))
            assert accepted["state"] == "active" and accepted["consent"]["method"] == "app"
            assert accepted["consent"]["by_role"] == "family"
            admin = login(platform, "admin")

            def spawned() -> list[dict]:
                ok(c.post("/api/orders/recurring-orders/spawn", headers=admin))
                orders = ok(c.get("/api/orders/orders", headers=family, params={"elder_id": elder_id}))
                return [o for o in orders if o.get("kind") == "recurring" and o["state"] != "cancelled"]

            order = eventually(spawned, bool, what="the plan's first occurrence placed")[0]
            elder = ok(c.get(f"/api/assessment/elders/{elder_id}", headers=family))
            deliver(c, platform, order["order_id"], world, elder)

        page.reload()
        expect(page.locator("body")).to_have_attribute("data-loaded", "true", timeout=30_000)
        expect(page.locator("#plan-delivery")).to_have_text(re.compile(r"本月计划 \d+ 次，已完成 1 次"), timeout=20_000)
        expect(page.locator("#plan-offer")).to_be_empty()
    finally:
        ctx.close()
