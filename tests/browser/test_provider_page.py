"""The provider workbench in a real browser: the administrator adds a service to the catalogue,
is told why a price above the guide price is refused, changes the price and takes it off;
registers a caregiver (placed from her address) and puts her on leave; looks at the monthly statement and exports it.
Screenshots at phone and desktop width. A caregiver away from the address records an exception
check-in with a reason. Other roles are told where to go."""
from __future__ import annotations

import json
import re
import time
import uuid
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from shared.city import CITY_TZ
from tests.browser.conftest import DESKTOP, PHONE, gateway_as, sign_in, smallest_text_px, unlabelled_fields

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_provider_admin_manages_catalogue_staff_and_sees_the_statement(browser, platform, screenshots):
    account = platform.account("provider_admin")
    month = datetime.now(CITY_TZ).strftime("%Y-%m")
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = ctx.new_page()
    sign_in(page, platform.url, account["phone"], account["password"])
    page.wait_for_url("**/provider")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    expect(page.get_by_role("heading", name=re.compile("服务商工作台"))).to_contain_text("城中居家养老服务中心")

    # catalogue: add an item, a price above the guide price is refused with the reason, then change and take off
    catalogue, message = page.get_by_role("region", name="服务项目和价格"), page.locator("#catalogue-msg")
    items = catalogue.get_by_role("table", name="本机构的服务项目")
    expect(items.get_by_role("row", name=re.compile("助餐"))).to_contain_text("15.00")
    catalogue.get_by_label("服务项目", exact=True).select_option("errand")
    catalogue.get_by_label("价格（元）", exact=True).fill("18")
    catalogue.get_by_role("button", name="添加").click()
    expect(message).to_contain_text("已添加：委托代办，价格 18.00 元")
    row = items.get_by_role("row", name=re.compile("委托代办"))
    row.get_by_label("委托代办的价格（元）").fill("25")
    row.get_by_role("button", name="保存委托代办").click()
    expect(message).to_contain_text("没有保存成功")
    expect(message).to_contain_text("不能高于指导价 20.00 元")
    row.get_by_label("委托代办的价格（元）").fill("19.5")
    row.get_by_label("接单中").uncheck()
    row.get_by_role("button", name="保存委托代办").click()
    expect(message).to_contain_text("已保存：委托代办，价格 19.50 元，已下架")
    expect(items.get_by_role("row", name=re.compile("委托代办"))).to_contain_text("已下架")

    # staff: register a caregiver, then put her on leave
    staff, message = page.get_by_role("region", name="护理员", exact=True), page.locator("#staff-msg")
    form = staff.get_by_role("form", name="登记新护理员")
    form.get_by_label("姓名").fill("赵春梅")
    form.get_by_label("委托代办").check()
    form.get_by_label("护理员职业技能等级").select_option("level_5")
    form.get_by_label("常驻地点纬度").fill("")  # placed from her address instead
    form.get_by_label("常驻地点经度").fill("")
    form.get_by_role("button", name="登记").click()
    expect(message).to_contain_text("请填写常驻地点的坐标，或填写出发地地址")
    form.get_by_label(re.compile("出发地地址")).fill("泰州市海陵区城东街道凤凰路 12 号")
    form.get_by_role("button", name="登记").click()
    expect(message).to_contain_text("已登记护理员 赵春梅，会做：委托代办")
    expect(message).to_contain_text("出发地按地址估算")
    row = staff.get_by_role("table", name="本机构的护理员").get_by_role("row", name=re.compile("赵春梅"))
    expect(row).to_contain_text("五级/初级工")
    row.get_by_label("赵春梅的状态", exact=True).select_option("on_leave")
    row.get_by_role("button", name="保存赵春梅的状态").click()
    expect(message).to_contain_text("赵春梅 现在是“休假”")
    expect(staff.get_by_role("row", name=re.compile("赵春梅"))).to_contain_text("休假")

    # the monthly statement, with the vouchers service's export
    statement = page.get_by_role("region", name="月度结算")
    expect(statement.get_by_label("月份", exact=True)).to_have_value(month)
    expect(statement.get_by_role("table", name=f"{month} 结算单")).to_be_visible()
    expect(statement.get_by_role("table", name=f"{month} 已完成订单汇总")).to_be_visible()
    with page.expect_download() as download:
        statement.get_by_role("button", name=f"{month} 结算单 导出 CSV").click()
    text = download.value.path().read_bytes().decode("utf-8-sig")
    assert text.startswith("结算月份,区县,服务商编号,结算状态")

    assert unlabelled_fields(page) == []
    assert smallest_text_px(page) >= 16
    page.screenshot(path=str(screenshots / "provider-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.screenshot(path=str(screenshots / "provider-phone.png"), full_page=True)
    ctx.close()


def test_workbench_and_elder_page_tell_other_roles_where_to_go(browser, platform):
    elder = platform.account("elder")
    page = browser.new_page(viewport=PHONE)
    sign_in(page, platform.url, elder["phone"], elder["password"])
    page.wait_for_url("**/elder")
    page.goto(f"{platform.url}/provider")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("服务商工作台只对相应岗位的工作人员开放")
    expect(alert.get_by_role("link", name="您的首页")).to_have_attribute("href", "/elder")
    expect(page.get_by_role("region", name="待接派单")).to_be_hidden()
    page.close()
    caregiver = platform.account("caregiver")
    page = browser.new_page(viewport=PHONE)
    sign_in(page, platform.url, caregiver["phone"], caregiver["password"])
    page.wait_for_url("**/provider")
    page.goto(f"{platform.url}/elder")
    expect(page.get_by_role("alert")).to_contain_text("您当前的账号不能使用")
    expect(page.get_by_role("alert").get_by_role("link", name="您的首页")).to_have_attribute("href", "/provider")
    page.close()


def test_caregiver_away_from_the_address_checks_in_as_an_exception_with_a_reason(browser, platform):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    family, provider = gateway_as(platform, "family"), gateway_as(platform, "provider_admin")
    start = datetime.now(CITY_TZ).replace(microsecond=0) + timedelta(hours=2)
    order = family.call("POST", "/api/orders/orders", {
        "elder_id": world["elder_id"], "service_code": "clean", "payment": "self_pay", "notes": "擦窗户",
        "window_start": start.isoformat(), "window_end": (start + timedelta(hours=2)).isoformat()},
        **{"Idempotency-Key": str(uuid.uuid4())})
    deadline = time.monotonic() + 30
    while not any(o["order_id"] == order["order_id"] for o in provider.call("GET", "/api/orders/offers")):
        assert time.monotonic() < deadline, "the offer did not arrive"
        time.sleep(0.3)
    provider.call("POST", f"/api/orders/orders/{order['order_id']}/accept", {"caregiver_id": world["caregiver_id"]})

    account = platform.account("caregiver")
    page = browser.new_page(viewport=PHONE, locale="zh-CN")  # no location permission: typed coordinates
    sign_in(page, platform.url, account["phone"], account["password"])
    page.wait_for_url("**/provider")
    order_id = order["order_id"]
    job = page.locator(f'#schedule-list [data-order="{order_id}"]')
    expect(job).to_contain_text("擦窗户")
    note = job.locator(".job-note")
    job.get_by_role("button", name="使用当前位置签到").click()
    expect(note).to_contain_text("没有签到成功：浏览器没有定位权限")
    expect(note).to_contain_text("输入坐标签到")
    job.get_by_text("定位不了？输入坐标签到").click()
    job.get_by_role("button", name="按输入的坐标签到").click()
    expect(note).to_contain_text("请填写正确的纬度和经度")
    job.get_by_label("纬度").fill(f"{order['lat'] + 0.005:.6f}")
    job.get_by_label("经度").fill(f"{order['lon']:.6f}")
    job.get_by_label(re.compile("超出签到范围的原因")).fill("老人临时住在女儿家，在女儿家服务")
    job.get_by_role("button", name="按输入的坐标签到").click()
    expect(note).to_contain_text("已按异常签到记录（原因：老人临时住在女儿家，在女儿家服务）")
    expect(job).to_contain_text("异常签到，原因：老人临时住在女儿家")
    job.get_by_role("button", name="签退，完成服务").click()
    expect(note).to_contain_text("请先填写服务记录")
    job.get_by_label("服务记录（做了哪些服务）").fill("擦窗户 6 扇，拖地")
    job.get_by_label(re.compile("服务时长")).fill("90")
    job.get_by_role("button", name="签退，完成服务").click()
    expect(note).to_contain_text("无法确认时必须填写原因")  # neither code, family nor reason (issue 24)
    job.get_by_label(re.compile("无法确认的原因")).fill("老人在女儿家，没有带手机")
    job.get_by_role("button", name="签退，完成服务").click()
    expect(page.locator("#schedule-msg")).to_contain_text("老人自费，已结清")
    expect(page.locator("#schedule-msg")).to_contain_text("未确认")
    page.close()
