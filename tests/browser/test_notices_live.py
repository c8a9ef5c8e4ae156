"""Live notices on the family's page (issue 24): the page shows "护理员已到达" when the caregiver
checks in, without reloading; the inbox in the header counts it unread and keeps it; other page
scripts hear it through window.youfuNotices.on; axe-core finds nothing serious with the inbox open.

The check-in reaches the gateway as the orders service publishes it, `youfu.order.checked_in.v1`
on `youfu.orders`, sent straight to the broker here (the page's part is what is under test); the
real check-in by the caregiver telling the family's open page is in test_full_flow.py."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from shared.events import CloudEvent
from tests.browser.conftest import PHONE, sign_in
from tests.browser.test_accessibility import assert_no_serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def publish(bootstrap: str, event: CloudEvent) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        producer.send("youfu.orders", key=event.subject.encode(), value=event.to_json().encode()).get(timeout=10)
    finally:
        producer.close()


def test_family_page_shows_the_caregiver_arriving_without_reloading(browser, platform, broker):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    account = platform.account("family")
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    try:
        sign_in(page, platform.url, account["phone"], account["password"])
        page.wait_for_url("**/elder")
        expect(page.locator("body")).to_have_attribute("data-notices", "live", timeout=15000)
        page.evaluate("() => { window.heard = []; youfuNotices.on('order.checked_in', n => window.heard.push(n.title)); }")
        loaded = page.evaluate("() => performance.timeOrigin")
        order_id = str(uuid.uuid4())
        publish(broker.bootstrap, CloudEvent(
            source="/youfu/orders", type="youfu.order.checked_in.v1", subject=order_id,
            data={"order_id": order_id, "elder_id": world["elder_id"], "provider_id": str(uuid.uuid4()),
                  "district_code": "321202", "caregiver_id": str(uuid.uuid4()),
                  "at": datetime.now(timezone.utc).isoformat(), "distance_m": 15.0}))
        bar = page.get_by_role("status").filter(has_text="护理员已到达")
        expect(bar).to_be_visible(timeout=20000)
        assert page.locator("#notice-bar").get_attribute("aria-live") == "polite"
        assert page.evaluate("() => performance.timeOrigin") == loaded  # the same page: not reloaded
        assert page.evaluate("() => window.heard") == ["护理员已到达"]
        summary = page.locator("#notice-inbox summary")
        expect(summary).to_contain_text("条未读")
        summary.click()
        expect(page.locator("#notice-inbox .notice-list li").first).to_contain_text("护理员已到达")
        assert_no_serious_violations(page, "the family page with the notices inbox open")
        page.get_by_role("button", name="全部标为已读").click()
        expect(summary).to_have_text("通知")
    finally:
        ctx.close()
