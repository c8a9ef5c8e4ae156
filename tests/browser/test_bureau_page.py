"""The civil-affairs dashboard in a real browser: the officer sees this month's spend, runs the
month's issuance, and downloads exports (the vouchers service's XLSX, and a table the page
exports through the gateway) that open in openpyxl with Chinese headers."""
from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from shared.city import CITY_TZ
from tests.browser.conftest import DESKTOP, PHONE, gateway_as, sign_in, smallest_text_px, unlabelled_fields
from tests.support.factories import new_credit_code

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def this_month() -> str:
    return datetime.now(CITY_TZ).strftime("%Y-%m")


def header_row(path) -> list:
    sheet = load_workbook(path).active
    return [c.value for c in sheet[1]]


@pytest.fixture
def applications(platform) -> dict[str, dict]:
    """Two providers applying in 海陵区: one with its documents (the licence runs out in 20 days), one without."""
    officer = gateway_as(platform, "officer")
    today = datetime.now(CITY_TZ).date()
    out = {}
    for key, name in (("ready", "泰州市海陵区城南颐养居家养老服务中心"), ("bare", "泰州市海陵区九龙安康居家养老服务中心")):
        suffix = random.choice("甲乙丙丁戊")
        out[key] = officer.call("POST", "/api/providers/providers", {
            "kind": "home_care_centre", "legal_name": f"{name}{suffix}", "credit_code": new_credit_code(prefix="52"),
            "district_code": "321202", "street": "城南街道", "address": "泰州市海陵区城南街道鼓楼南路 18 号",
            "lat": 32.47, "lon": 119.92, "contact_name": "赵主任", "contact_phone": "0523-86001234"})
    pid = out["ready"]["id"]
    officer.call("POST", f"/api/providers/providers/{pid}/documents", {
        "kind": "licence", "number": "52321202MJ1234567", "expires_on": (today + timedelta(days=20)).isoformat()})
    officer.call("POST", f"/api/providers/providers/{pid}/documents", {
        "kind": "insurance", "number": "PICC-2026-0001", "expires_on": (today + timedelta(days=700)).isoformat()})
    return out


def test_officer_reviews_providers_and_sees_expiring_documents(browser, platform, screenshots, applications):
    officer = platform.account("officer")
    ready, bare = applications["ready"]["name"], applications["bare"]["name"]
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, platform.url, officer["phone"], officer["password"])
    page.wait_for_url("**/bureau")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#scope")).to_have_text("（海陵区）")  # the district table the server rendered into the page
    review, message = page.locator("#review"), page.locator("#review-msg")
    expect(review.get_by_role("row", name=re.compile(bare))).to_contain_text("缺少或过期：营业执照")
    # no documents: the providers service refuses, and the page says why
    review.get_by_role("row", name=re.compile(bare)).get_by_role("button", name="通过").click()
    expect(message).to_contain_text("审核没有成功：资质文件不全")
    review.get_by_role("row", name=re.compile(bare)).get_by_role("button", name="驳回").click()
    expect(message).to_contain_text("驳回时请填写原因")
    review.get_by_label(f"对{bare}的审核意见").fill("缺少营业执照和责任保险保单，请补齐后重新申请")
    review.get_by_role("row", name=re.compile(bare)).get_by_role("button", name="驳回").click()
    expect(message).to_contain_text(f"已驳回：{bare}")
    review.get_by_role("row", name=re.compile(ready)).get_by_role("button", name="通过").click()
    expect(message).to_contain_text(f"已审核通过：{ready}")
    expect(review.get_by_role("row", name=re.compile(ready))).to_have_count(0)
    expiring = page.get_by_role("table", name="30 天内到期或已过期的资质文件")
    expect(expiring.get_by_role("row", name=re.compile(ready))).to_contain_text("20 天")
    page.close()


def test_officer_sees_spend_runs_issuance_and_exports(browser, platform, screenshots, tmp_path):
    officer = platform.account("officer")
    month = this_month()
    ctx = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = ctx.new_page()
    sign_in(page, platform.url, officer["phone"], officer["password"])
    page.wait_for_url("**/bureau")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    expect(page.get_by_role("heading", name="民政监管看板")).to_contain_text("海陵区")

    spend = page.locator("#spend")
    expect(spend.get_by_role("heading", level=3)).to_contain_text(f"代金券消费（{month}）")
    expect(spend.locator("#spend-summary")).to_contain_text("券支付净额")
    expect(spend.get_by_role("table", name="按券种")).to_be_visible()
    expect(spend.locator("#chart-month svg rect")).to_have_count(12)  # twelve months, even when they are empty
    expect(spend.locator("#spend-msg")).to_be_hidden()

    for panel in ("#review", "#documents", "#anomalies", "#settlements", "#coverage"):
        expect(page.locator(panel).get_by_role("table")).to_be_visible()
    expect(page.get_by_role("table", name=re.compile("探访覆盖：应探访 \\d+ 人"))).to_be_visible()

    page.get_by_role("button", name=re.compile("发放本月")).click()
    expect(page.locator("#issuance-msg")).to_contain_text(f"{month} 代金券发放完成")
    runs = page.get_by_role("table", name=f"{month} 发放记录")
    expect(runs).to_contain_text("手动")
    assert unlabelled_fields(page) == []
    assert smallest_text_px(page) >= 16
    page.screenshot(path=str(screenshots / "bureau-desktop.png"), full_page=True)

    # the vouchers service's own export
    with page.expect_download() as download:
        page.get_by_role("button", name="按券种 导出 Excel").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".xlsx" and month in saved.name
    assert header_row(saved) == ["券种", "服务笔数", "订单金额（元）", "券支付金额（元）", "老人自付金额（元）",
                                 "冲正金额（元）", "券支付净额（元）"]

    # a table the page exports itself: XLSX through the gateway, CSV in the browser
    with page.expect_download() as download:
        page.get_by_role("button", name=f"{month} 发放记录 导出 Excel").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    book = load_workbook(saved).active
    assert [c.value for c in book[1]] == ["运行时间", "范围", "方式", "本次发放张数", "本次发放金额（元）",
                                          "此前已发、未重复发放张数"]
    assert book.max_row >= 2 and "手动" in [c.value for c in book[2]]
    with page.expect_download() as download:
        page.get_by_role("button", name=f"{month} 发放记录 导出 CSV").click()
    text = download.value.path().read_bytes().decode("utf-8")
    assert text.startswith("\ufeff运行时间,范围,方式,本次发放张数") and ",手动," in text
    # the month-by-month detail, exported by the vouchers service
    with page.expect_download() as download:
        page.get_by_role("button", name="分月明细（月份 × 区县 × 券种） 导出 CSV").click()
    text = download.value.path().read_bytes().decode("utf-8-sig")
    assert text.startswith("月份,区县,券种,服务笔数") and "合计" in text
    ctx.close()

    phone = browser.new_context(viewport=PHONE)
    page = phone.new_page()
    sign_in(page, platform.url, officer["phone"], officer["password"])
    page.wait_for_url("**/bureau")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    page.screenshot(path=str(screenshots / "bureau-phone.png"), full_page=True)
    phone.close()


def test_export_route_needs_a_signed_in_caller_and_keeps_text_as_text(platform, tmp_path):
    import httpx

    from tests.browser.conftest import gateway_as

    body = {"filename": "测试", "sheet": "表", "headers": ["名称", "金额（元）"], "rows": [["=1+1", "12.50"]],
            "money_columns": [1]}
    assert httpx.post(f"{platform.url}/export/xlsx", json=body).status_code == 401
    client = gateway_as(platform, "officer").http
    r = client.post("/export/xlsx", json=body)
    assert r.status_code == 200 and "filename*=UTF-8''%E6%B5%8B%E8%AF%95.xlsx" in r.headers["content-disposition"]
    (tmp_path / "t.xlsx").write_bytes(r.content)
    sheet = load_workbook(tmp_path / "t.xlsx").active
    assert sheet["A2"].value == "=1+1" and sheet["A2"].data_type == "s"
    assert str(sheet["B2"].value) == "12.5" and sheet["B2"].number_format == "0.00"
    bad = client.post("/export/xlsx", json={**body, "rows": [["x", "十二元"]]})
    assert bad.status_code == 422 and "金额" in bad.json()["detail"]
