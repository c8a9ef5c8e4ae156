"""The bureau's dashboard (/bureau/dashboard) in a real browser, with the demo data and one order
no provider could take (an elder registered far from every provider): the indicators, the charts and
the map render (SVG, not empty), a click on the order's h3 cell in the map lists the order and the
nearest providers, and a chart's Excel export is a workbook with Chinese headers."""
from __future__ import annotations

import json
import time
import uuid
from datetime import date, datetime, timedelta

import h3
import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from shared.city import CITY_TZ
from tests.browser.conftest import DESKTOP, gateway_as, new_id_card, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def unmatched_order(platform) -> dict:
    """An elder ~15 km from the demo providers and an order for them that nobody can take."""
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    lat, lon = world["provider_location"]
    officer = gateway_as(platform, "officer")
    elder = officer.call("POST", "/api/assessment/elders", {
        "name": "孙桂兰", "gender": "female", "birth_date": "1940-02-29",
        "id_card": new_id_card(born=date(1940, 2, 29), male=False), "address": "泰州市海陵区苏陈镇东街 3 号",
        "lat": lat + 0.13, "lon": lon + 0.06, "district_code": "321202", "street": "苏陈镇",
        "living_situation": "alone", "economic_status": "none", "emergency_contacts": []},
        **{"Idempotency-Key": str(uuid.uuid4())})
    start = datetime.now(CITY_TZ).replace(microsecond=0) + timedelta(minutes=90)
    order = officer.call("POST", "/api/orders/orders", {
        "elder_id": elder["id"], "service_code": "clean", "payment": "self_pay", "notes": "打扫卫生",
        "window_start": start.isoformat(), "window_end": (start + timedelta(hours=2)).isoformat()},
        **{"Idempotency-Key": str(uuid.uuid4())})
    deadline = time.monotonic() + 30
    while officer.call("GET", f"/api/orders/orders/{order['order_id']}")["state"] != "unmatched":
        assert time.monotonic() < deadline, "the order did not become unmatched"
        time.sleep(0.3)
    return order | {"lat": lat + 0.13, "lon": lon + 0.06}


def test_officer_sees_the_indicators_charts_and_the_map_and_opens_a_cell(browser, platform, screenshots, tmp_path):
    order = unmatched_order(platform)
    account = platform.account("officer")
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = ctx.new_page()
    try:
        sign_in(page, platform.url, account["phone"], account["password"])
        page.wait_for_url("**/bureau")
        page.goto(f"{platform.url}/bureau/dashboard")
        expect(page.locator("body")).to_have_attribute("data-loaded", "true", timeout=30_000)
        expect(page.locator("#scope")).to_have_text("（海陵区）")
        cards = page.locator("#indicator-cards .ind-card")
        expect(cards.filter(has_text="特殊困难老年人月探访率")).to_contain_text("目标：≥ 100%")
        expect(cards.filter(has_text="居家养老服务覆盖率")).to_contain_text("至少完成一次居家上门服务")  # the definition
        expect(page.locator("#indicator-table table")).to_contain_text("海陵区")  # the district alone, no city row
        for chart in ("#chart-trend", "#chart-spend-month", "#chart-hours", "#chart-acceptance", "#chart-map"):
            expect(page.locator(f"{chart} svg")).to_have_count(1)
            assert page.locator(f"{chart} svg path").count() > 0, f"{chart} drew nothing"
            assert page.locator(chart).get_attribute("aria-label") or page.locator(chart).get_attribute("aria-labelledby")
        assert page.locator("#chart-hours").get_attribute("aria-label").startswith(datetime.now(CITY_TZ).strftime("%Y-%m"))

        # the order's cell on the map: click it where ECharts draws it
        cell = h3.latlng_to_cell(order["lat"], order["lon"], 8)
        page.locator("#chart-map").scroll_into_view_if_needed()
        xy = page.evaluate("""([cell]) => {
            const c = echarts.getInstanceByDom(document.getElementById("chart-map"));
            const data = c.getOption().series[1].data.find(d => d.name === cell);
            return data ? c.convertToPixel({ seriesIndex: 1 }, [data.value[0], data.value[1]]) : null;
        }""", [cell])
        assert xy, f"cell {cell} is not on the map"
        box = page.locator("#chart-map").bounding_box()
        page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
        detail = page.locator("#cell-detail")
        expect(detail).to_contain_text(f"单元 {cell}")
        expect(detail.locator(".cell-orders")).to_contain_text(order["order_id"][:8])
        expect(detail.locator(".cell-orders")).to_contain_text("未匹配到服务商")
        expect(detail.locator(".cell-providers li").first).to_contain_text("公里")
        page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)

        # a chart's data as Excel, written by the server with Chinese headers
        with page.expect_download() as got:
            page.get_by_role("button", name="按下单时刻（数据表） 导出 Excel").click()
        path = tmp_path / "hours.xlsx"
        got.value.save_as(path)
        sheet = load_workbook(path).active
        assert [c.value for c in sheet[1]] == ["下单时段", "订单数"]
        assert sum(row[1] for row in sheet.iter_rows(min_row=2, values_only=True)) >= 1
        with page.expect_download() as got:
            page.get_by_role("button", name="未满足需求的地图单元（按合计从多到少） 导出 Excel").click()
        got.value.save_as(tmp_path / "unmet.xlsx")
        sheet = load_workbook(tmp_path / "unmet.xlsx").active
        assert [c.value for c in sheet[1]][:4] == ["地图单元（h3）", "中心纬度", "中心经度", "未匹配订单"]
        assert cell in [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    finally:
        ctx.close()
