"""The whole order flow in a real browser, across the three pages, each person in their own
browser context: the family orders a meal paid by the community voucher (seeing the split before
confirming), the provider's administrator sees the offer counting down and accepts it for the
demo caregiver, the caregiver is refused at the wrong place and checks in at the elder's door
(browser location) and out with the service record, the family sees the order settled and rates
it, and the officer sees the spend on the dashboard and downloads it as Excel."""
from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from shared.city import CITY_TZ
from tests.browser.conftest import DESKTOP, PHONE, gateway_as, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
EVENTS_S = 30_000  # ms: what moves by events between services shows within seconds; this is the ceiling


def test_meal_ordered_delivered_rated_and_audited_in_the_browser(browser, platform, screenshots, tmp_path):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    family_api = gateway_as(platform, "family")
    elder = family_api.call("GET", f"/api/assessment/elders/{world['elder_id']}")
    # the family's own orders (the spawner may plan the month's 探访 visit for the elder meanwhile)
    def own_orders() -> int:
        return sum(o["kind"] != "visit" for o in family_api.call(
            "GET", f"/api/orders/orders?elder_id={world['elder_id']}&limit=500"))
    orders_before = own_orders()

    # ---- the family orders a meal with the voucher ----
    family_ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    family = family_ctx.new_page()
    account = platform.account("family")
    sign_in(family, platform.url, account["phone"], account["password"])
    family.wait_for_url("**/elder")
    expect(family.get_by_role("heading", name=f"为 {elder['name']} 预约服务")).to_be_visible()
    family.get_by_role("button", name="预约助餐").click()
    form = family.get_by_role("form", name="预约助餐")
    form.get_by_role("radio", name=re.compile("^明天")).check()
    form.get_by_role("radio", name="中午 11:00–12:00").check()
    form.get_by_role("radio", name=re.compile("^用社区照护券")).check()
    quote = family_api.call("POST", "/api/vouchers/quotes",
                            {"elder_id": world["elder_id"], "kind": "community", "price_fen": 1500})
    split = f"代金券支付 {quote['voucher_fen'] / 100:.2f} 元，自付 {quote['elder_fen'] / 100:.2f} 元"
    assert quote["voucher_fen"] > 0
    expect(form.locator("#quote-split")).to_have_text(split)  # the split, before confirming
    form.get_by_label("有话要告诉服务人员吗？（可不填）").fill("少放盐")
    family.screenshot(path=str(screenshots / "elder-order-phone.png"), full_page=True)
    form.get_by_role("button", name="确认下单").dblclick()  # a double tap makes one order
    placed = family.locator("#page-msg")
    expect(placed).to_contain_text("下单成功")
    order_id = placed.get_attribute("data-order")
    card = family.locator(f'#order-list [data-order="{order_id}"]')
    expect(card).to_contain_text("助餐")
    assert own_orders() == orders_before + 1

    # ---- the provider's administrator accepts the offer for the demo caregiver ----
    admin_ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    admin = admin_ctx.new_page()
    account = platform.account("provider_admin")
    sign_in(admin, platform.url, account["phone"], account["password"])
    admin.wait_for_url("**/provider")
    offer = admin.locator(f'#offer-list [data-order="{order_id}"]')
    expect(offer).to_be_visible(timeout=EVENTS_S)
    countdown = offer.get_by_role("timer")
    expect(countdown).to_have_text(re.compile(r"剩余 \d+ 秒"))
    shown = countdown.inner_text()
    expect(countdown).not_to_have_text(shown, timeout=3_000)  # it ticks down by itself
    expect(offer).to_contain_text("少放盐")
    admin.screenshot(path=str(screenshots / "provider-offer-desktop.png"), full_page=True)
    offer.get_by_label("指派护理员").select_option(world["caregiver_id"])
    offer.get_by_role("button", name="接单").click()
    expect(admin.locator("#offers-msg")).to_contain_text("已接单：助餐")
    expect(offer).to_have_count(0)
    expect(admin.locator(f'#schedule-list [data-order="{order_id}"]')).to_contain_text("刘秀英")
    expect(card.locator(".state-badge")).to_have_text("已接单", timeout=EVENTS_S)
    expect(card).to_contain_text("刘秀英")
    # live notices (issue 24): the family's page, never reloaded, is told who is coming (by the name
    # of the caregiver's account, which is what the gateway knows)
    loaded = family.evaluate("() => performance.timeOrigin")
    expect(family.locator("#notice-bar")).to_contain_text(re.compile("护理员已接单：.+"), timeout=EVENTS_S)

    # ---- the caregiver checks in at the door and out with the record ----
    caregiver_ctx = browser.new_context(viewport=PHONE, locale="zh-CN", permissions=["geolocation"],
                                        geolocation={"latitude": elder["lat"] + 0.0001, "longitude": elder["lon"]})
    caregiver = caregiver_ctx.new_page()
    account = platform.account("caregiver")
    sign_in(caregiver, platform.url, account["phone"], account["password"])
    caregiver.wait_for_url("**/provider")
    job = caregiver.locator(f'#schedule-list [data-order="{order_id}"]')
    expect(job).to_be_visible()
    expect(caregiver.get_by_role("region", name="服务项目和价格")).to_be_hidden()  # the administrator's business
    note = job.locator(".job-note")
    job.get_by_role("button", name="出发").click()  # 出发 (issue 24): the household is told
    expect(note).to_contain_text("已出发")
    expect(job.locator(".door-go")).to_contain_text(re.compile(r"已于 \d{2}:\d{2} 出发"))
    job.get_by_text("定位不了？输入坐标签到").click()
    job.get_by_label("纬度").fill(f"{elder['lat'] + 0.01:.6f}")  # about 1.1 km away
    job.get_by_label("经度").fill(f"{elder['lon']:.6f}")
    job.get_by_role("button", name="按输入的坐标签到").click()
    expect(note).to_contain_text(re.compile(r"没有签到成功：距老人住址 \d+ 米，超过 \d+ 米的签到范围"))
    expect(note).to_contain_text("填写原因")
    job.get_by_role("button", name="使用当前位置签到").click()
    expect(note).to_contain_text(re.compile(r"^签到成功，距老人住址 \d+ 米"))
    expect(job.locator(".state-badge")).to_have_text("服务中")
    expect(card.locator(".state-badge")).to_have_text("服务中", timeout=EVENTS_S)
    expect(card).to_contain_text("签到")
    expect(family.locator("#notice-bar")).to_contain_text("护理员已到达", timeout=EVENTS_S)  # live, no reload
    assert family.evaluate("() => performance.timeOrigin") == loaded
    # the family's page shows the door confirmation code; the caregiver is told it and types it
    door = family.locator(f'#door-panel [data-order="{order_id}"]')  # other tests may leave an order in service
    expect(door).to_contain_text("已到达", timeout=EVENTS_S)
    code = door.locator(".door-code")
    expect(code).to_have_text(re.compile(r"^\d{4}$"))
    job.get_by_label("服务记录（做了哪些服务）").fill("送午餐一份，协助用餐，整理餐具")
    job.get_by_label(re.compile("上门确认码")).fill(str((int(code.inner_text()) + 1) % 10000).zfill(4))
    job.get_by_role("button", name="签退，完成服务").click()
    expect(note).to_contain_text("确认码不对，还可以再试 4 次")
    job.get_by_label(re.compile("上门确认码")).fill(code.inner_text())
    caregiver.screenshot(path=str(screenshots / "provider-checkout-phone.png"), full_page=True)
    job.get_by_role("button", name="签退，完成服务").click()
    expect(caregiver.locator("#schedule-msg")).to_contain_text("已签退，服务完成（老人确认码确认）")
    expect(job).to_have_count(0)
    expect(door).to_be_hidden(timeout=EVENTS_S)  # nothing left to confirm
    expect(caregiver.locator("#done-list")).to_contain_text(order_id[:8])

    # ---- the family sees it settled (capture and settlement by events) and rates it ----
    expect(card.locator(".state-badge")).to_have_text("已结算", timeout=EVENTS_S)
    expect(card).to_contain_text("送午餐一份，协助用餐，整理餐具")
    card.get_by_role("button", name="5 分").click()
    card.get_by_label("想说的话（可不填）").fill("饭菜热乎，准时")
    card.get_by_role("button", name="提交评价").click()
    expect(card).to_contain_text("您的评价：★★★★★ 5 分（非常满意），“饭菜热乎，准时”")
    wallet = family.locator("#wallet")
    expect(wallet).to_contain_text(f"服务完成，券支付 {quote['voucher_fen'] / 100:.2f} 元")
    family.screenshot(path=str(screenshots / "elder-rated-phone.png"), full_page=True)
    for ctx in (family_ctx, admin_ctx, caregiver_ctx):
        ctx.close()

    # ---- the officer sees the spend and exports it ----
    month = datetime.now(CITY_TZ).strftime("%Y-%m")
    officer_ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    officer = officer_ctx.new_page()
    account = platform.account("officer")
    sign_in(officer, platform.url, account["phone"], account["password"])
    officer.wait_for_url("**/bureau")
    expect(officer.locator("body")).to_have_attribute("data-loaded", "true")
    by_kind = officer.get_by_role("table", name="按券种")
    row = by_kind.get_by_role("row", name=re.compile("社区照护券"))
    expect(row).to_be_visible()
    voucher_cell = row.get_by_role("cell").nth(3)  # 券支付金额（元）
    assert float(voucher_cell.inner_text().replace(",", "")) >= quote["voucher_fen"] / 100
    with officer.expect_download() as download:
        officer.get_by_role("button", name="按券种 导出 Excel").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".xlsx" and month in saved.name
    sheet = load_workbook(saved).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0] == ["券种", "服务笔数", "订单金额（元）", "券支付金额（元）",
                       "老人自付金额（元）", "冲正金额（元）", "券支付净额（元）"]
    community = next(r for r in rows[1:] if r[0] == "社区照护券")
    assert community[1] >= 1 and float(community[3]) >= quote["voucher_fen"] / 100
    officer_ctx.close()
