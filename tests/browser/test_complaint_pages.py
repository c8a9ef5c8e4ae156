"""A complaint's round trip in Chromium: the demo elder complains about the provider (through the
API) and about an order on the elder page's form, with a photo; the district officer opens the
photo and answers the first on the bureau page (where orders' door report stands beside the
return visits), and the elder page shows the answer in the elder's own list; the provider page
lists it without the complainant (anonymity asked)."""
from __future__ import annotations

import asyncio
import io
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from PIL import Image
from playwright.sync_api import expect

from shared.city import CITY_TZ
from tests.browser.conftest import DESKTOP, PHONE, gateway_as, sign_in
from tests.browser.test_accessibility import assert_no_serious_violations
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_officer_answers_a_complaint_and_the_elder_sees_the_answer(browser, platform, screenshots):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    text = f"护理员上门迟到了一个小时（{uuid.uuid4().hex[:6]}）"
    answer = "已约谈服务机构，调整了排班，并向老人致歉。"
    # an order the provider accepted, for the elder's form to name
    family, provider = gateway_as(platform, "family"), gateway_as(platform, "provider_admin")
    start = datetime.now(CITY_TZ).replace(microsecond=0) + timedelta(hours=2)
    order = family.call("POST", "/api/orders/orders", {
        "elder_id": world["elder_id"], "service_code": "clean", "payment": "community",  # vouchers holds it
        "window_start": start.isoformat(), "window_end": (start + timedelta(hours=2)).isoformat()},
        **{"Idempotency-Key": str(uuid.uuid4())})

    async def offered():
        return any(o["order_id"] == order["order_id"] for o in provider.call("GET", "/api/orders/offers"))
    with ThreadPoolExecutor(1) as side:  # Playwright's own loop runs in this thread
        side.submit(asyncio.run, wait_for(offered, what="the offer")).result()
    provider.call("POST", f"/api/orders/orders/{order['order_id']}/accept", {"caregiver_id": world["caregiver_id"]})

    filed = gateway_as(platform, "elder").call("POST", "/api/vouchers/complaints", {
        "subject": "provider", "provider_id": world["provider_id"], "text": text, "anonymous": True})
    assert filed["status"] == "open"

    # the elder complains about the order on the page, with a photo (its EXIF is dropped by the service)
    about_order = f"护理员没有按约定时间上门（{uuid.uuid4().hex[:6]}）"
    picture = io.BytesIO()
    Image.new("RGB", (120, 90), (200, 120, 40)).save(picture, format="JPEG")
    elder = platform.account("elder")
    page = browser.new_page(viewport=PHONE)
    sign_in(page, platform.url, elder["phone"], elder["password"])
    page.wait_for_url("**/elder")
    expect(page.locator(f'#complaint-order option[value="{order["order_id"]}"]')).to_have_count(1, timeout=30_000)
    page.get_by_label("哪一次服务").select_option(order["order_id"])
    page.get_by_label("投诉对象").select_option("order")
    page.get_by_label("投诉内容").fill(about_order)
    page.get_by_label("照片（可不传；JPEG 或 PNG，不超过 2 MB）").set_input_files(
        {"name": "late.jpg", "mimeType": "image/jpeg", "buffer": picture.getvalue()})
    page.get_by_role("button", name="提交投诉").click()
    expect(page.locator("#complaint-msg")).to_contain_text("照片已附上")
    expect(page.locator("#complaint-list li", has_text=about_order)).to_contain_text("待处理")
    page.close()

    officer = platform.account("officer")
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, platform.url, officer["phone"], officer["password"])
    page.wait_for_url("**/bureau")
    expect(page.locator("body")).to_have_attribute("data-oversight-loaded", "true", timeout=30_000)
    expect(page.locator("#oversight-door table")).to_contain_text("老人确认占比")  # orders' door report beside the visits
    page.locator("#complaints-body tr", has_text=about_order).get_by_role("button", name="查看照片").click()
    expect(page.locator("#complaint-photo-img")).to_be_visible()
    page.wait_for_function("() => document.querySelector('#complaint-photo-img').naturalWidth === 120")
    page.get_by_role("button", name="关闭照片").click()
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
