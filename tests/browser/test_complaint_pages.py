"""A complaint's round trip in Chromium: the demo elder complains about the provider (through the
API, as the elder page's form does), the district officer answers it on the bureau page, and the
elder page shows the answer in the elder's own list; the provider page lists it without the
complainant (anonymity asked)."""
from __future__ import annotations

import json
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, gateway_as, sign_in
from tests.browser.test_accessibility import assert_no_serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_officer_answers_a_complaint_and_the_elder_sees_the_answer(browser, platform, screenshots):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    text = f"护理员上门迟到了一个小时（{uuid.uuid4().hex[:6]}）"
    answer = "已约谈服务机构，调整了排班，并向老人致歉。"
    filed = gateway_as(platform, "elder").call("POST", "/api/vouchers/complaints", {
        "subject": "provider", "provider_id": world["provider_id"], "text": text, "anonymous": True})
    assert filed["status"] == "open"

    officer = platform.account("officer")
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, platform.url, officer["phone"], officer["password"])
    page.wait_for_url("**/bureau")
    expect(page.locator("body")).to_have_attribute("data-oversight-loaded", "true", timeout=30_000)
    row = page.locator("#complaints-body tr", has_text=text)
    expect(row).to_contain_text("待处理")
    row.get_by_role("button", name="受理").click()
    expect(page.locator("#oversight-msg")).to_have_text("已受理。")
    row = page.locator("#complaints-body tr", has_text=text)
    expect(row).to_contain_text("处理中")
    row.get_by_role("button", name="答复").click()
    page.get_by_label("答复内容（投诉人可见）").fill(answer)
    assert_no_serious_violations(page, "/bureau with a complaint's answer form open")
    page.get_by_role("button", name="办结并答复").click()
    expect(page.locator("#oversight-msg")).to_contain_text("已答复")
    expect(page.locator("#complaints-body tr", has_text=text)).to_contain_text(answer)
    page.screenshot(path=str(screenshots / "bureau-complaint-answered.png"), full_page=True)
    page.close()

    elder = platform.account("elder")
    page = browser.new_page(viewport=PHONE)
    sign_in(page, platform.url, elder["phone"], elder["password"])
    page.wait_for_url("**/elder")
    expect(page.locator("body")).to_have_attribute("data-complaints-loaded", "true", timeout=30_000)
    mine = page.locator("#complaint-list li", has_text=text)
    expect(mine).to_contain_text("已解决")
    expect(mine).to_contain_text(answer)
    expect(page.get_by_label("投诉内容")).to_be_visible()
    assert_no_serious_violations(page, "/elder with an answered complaint")
    page.close()

    admin = platform.account("provider_admin")
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, platform.url, admin["phone"], admin["password"])
    page.wait_for_url("**/provider")
    seen = page.locator("#provider-complaint-list li", has_text=text)
    expect(seen).to_contain_text("投诉人要求匿名")
    expect(seen).to_contain_text(answer)
    page.close()
