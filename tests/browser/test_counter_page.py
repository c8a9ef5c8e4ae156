"""The meal point's counter (/counter) and the elder's meal code in a real browser (issue 23): the
counter redeems a typed code and shows the receipt at once, and undoes it; with the network cut
(Playwright's offline mode) two scans wait in IndexedDB as "待上传", go up when it is back, and
exactly two meals exist (checked through the API); the elder page shows a QR code that a counter
can redeem."""
from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, sign_in, unlabelled_fields
from tests.support.meals import counter, counter_account, meal_code, meal_point_id, redemption

pytestmark = [pytest.mark.browser, pytest.mark.slow]
RECEIPT = re.compile(r"^补贴 \d+\.\d{2} 元，自付 \d+\.\d{2} 元$")


def elder_id(platform) -> str:
    return json.loads((platform.var_dir / "demo-world.json").read_text())["elder_id"]


def open_counter(browser, platform):
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    account = counter_account(platform)
    sign_in(page, platform.url, account["phone"], account["password"])
    page.wait_for_url("**/counter")  # a meal point's staff land on its counter
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    return ctx, page


def todays_meals(platform) -> list[dict]:
    r = httpx.get(f"{platform.url}/api/orders/meal-points/{meal_point_id(platform)}/redemptions",
                  headers=counter(platform), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_counter_redeems_a_typed_code_shows_the_receipt_and_undoes_it(browser, platform, screenshots):
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        code = meal_code(c, platform, elder_id(platform))
    ctx, page = open_counter(browser, platform)
    try:
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        expect(page.locator("#point-name")).to_contain_text("城中社区老年食堂")
        page.get_by_label("吃饭码（老人手机上的码，或助餐卡上的码）").fill(code.lower().replace("-", " "))
        page.get_by_role("button", name="查询老人").click()
        expect(page.locator("#elder-card")).to_contain_text("王大爷")
        expect(page.locator("#elder-card")).to_contain_text("今天已吃")
        page.get_by_label("这一餐的价格（元）").fill("15.00")
        page.get_by_role("button", name="确认取餐").click()
        expect(page.locator("#receipt-text")).to_have_text(RECEIPT)
        expect(page.locator("#receipt")).to_contain_text("王大爷")
        assert page.get_by_label("吃饭码（老人手机上的码，或助餐卡上的码）").input_value() == ""  # ready for the next
        assert unlabelled_fields(page) == []
        page.screenshot(path=str(screenshots / "counter-receipt-phone.png"), full_page=True)
        page.get_by_role("button", name="撤销 王大爷 的这笔取餐").first.click()
        expect(page.locator("#take-msg")).to_contain_text("补贴已退回")
        expect(page.locator("#recent-list li").first).to_contain_text("已撤销")
    finally:
        ctx.close()


def test_scans_queued_offline_go_up_once_when_back_online(browser, platform, screenshots):
    eid = elder_id(platform)
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        codes = [meal_code(c, platform, eid), meal_code(c, platform, eid, who="family")]
    before = {m["redemption_id"] for m in todays_meals(platform)}
    ctx, page = open_counter(browser, platform)
    try:
        ctx.set_offline(True)
        field = page.get_by_label("吃饭码（老人手机上的码，或助餐卡上的码）")
        for n, code in enumerate(codes, start=1):
            field.fill(code)
            page.get_by_role("button", name="确认取餐").click()
            expect(page.locator("#queue-list li")).to_have_count(n)
        expect(page.locator("#queue-list .pending-tag")).to_have_count(2)
        expect(page.locator("#queue-list")).to_contain_text("待上传")
        expect(page.locator("#net-state")).to_contain_text("网络已断开")
        page.screenshot(path=str(screenshots / "counter-offline-queue-phone.png"), full_page=True)

        ctx.set_offline(False)  # the `online` event sends the queue
        expect(page.locator("#queue")).to_be_hidden(timeout=20_000)
        new = [m for m in todays_meals(platform) if m["redemption_id"] not in before]
        assert len(new) == 2, new  # exactly the two scans: no duplicate from the retries
        assert all(m["method"] == "typed" and m["price_fen"] == 1500 for m in new)
        # a second pass (the retry timer, a reload) finds nothing left to send
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-loaded", "true")
        page.wait_for_load_state("networkidle")
        expect(page.locator("#queue")).to_be_hidden()
        assert len([m for m in todays_meals(platform) if m["redemption_id"] not in before]) == 2
    finally:
        ctx.close()


def test_the_elder_page_shows_a_meal_qr_code_a_counter_can_take(browser, platform, screenshots):
    account = platform.account("elder")
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    try:
        sign_in(page, platform.url, account["phone"], account["password"])
        page.wait_for_url("**/elder")
        section = page.get_by_role("region", name="到助餐点吃饭：出示吃饭码")
        expect(section).to_be_visible()
        qr = section.get_by_role("img", name=re.compile("吃饭码二维码"))
        expect(qr).to_be_visible()
        assert qr.evaluate("img => img.naturalWidth") > 100 and qr.get_attribute("src").startswith("data:image/gif")
        text = section.locator("#meal-code-text")
        expect(text).to_have_text(re.compile(r"^YF1-[A-Z2-7-]+$"))
        expect(section.locator("#meal-code-state")).to_contain_text("有效到")
        page.screenshot(path=str(screenshots / "elder-meal-code-phone.png"), full_page=True)
        code = text.inner_text()
        r = httpx.post(f"{platform.url}/api/orders/meal-points/{meal_point_id(platform)}/redemptions",
                       headers={**counter(platform), "Idempotency-Key": f"browser-{code[-8:]}"},
                       json=redemption(code, meal="dinner"), timeout=30)
        assert r.status_code == 201, r.text
        section.get_by_role("button", name="换一个新码").click()
        expect(text).not_to_have_text(code)
    finally:
        ctx.close()
