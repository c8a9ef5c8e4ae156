"""The 12349 desk in Chromium: the city's operator signs in, types a caller's number, sees the
elder's one screen (profile, plan, orders, alarms, vouchers) and records the call, which the day's
log then shows and finds by number and reason. Then 海陵区's desk watches an alarm nobody could
answer escalate onto its panel and closes it with an outcome."""
from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.browser.test_accessibility import assert_no_serious_violations
from tests.support.clients import login_as

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_operator_finds_the_caller_and_records_the_call(browser, platform):
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    try:
        account = platform.account("operator")
        sign_in(page, platform.url, account["phone"], account["password"])
        page.wait_for_url("**/desk")
        expect(page.locator("body")).to_have_attribute("data-loaded", "true", timeout=30_000)
        # the daughter calls: her account is linked to 王大爷, so the desk opens his screen
        page.get_by_label("来电人的电话号码（手机号或带区号的固定电话）").fill("138 0000 0008")
        page.get_by_role("button", name="查找来电人").click()
        expect(page.locator("#caller-who")).to_contain_text("家属")
        expect(page.locator("#profile-title")).to_have_text("王大爷的档案")
        profile = page.locator("#profile")
        expect(profile.locator("#profile-body")).to_contain_text("海陵区")
        expect(profile.locator("#profile-body")).to_contain_text("*")  # the ID number stays masked for the desk
        expect(profile.locator("#plan-body")).to_contain_text("执行中", timeout=15_000)
        expect(profile.locator("#wallet-body")).to_contain_text("还可以用")
        expect(profile.locator("#alarms-body")).not_to_be_empty()
        page.get_by_label("来电事由").select_option(label="咨询")
        page.get_by_label("处理结果").select_option(label="已解答")
        page.get_by_label("备注（不超过 500 字）").fill("女儿询问本周助洁时间")
        page.get_by_role("button", name="记录来电").click()
        expect(page.locator("#call-msg")).to_contain_text(re.compile(r"已记录本次来电：咨询，已解答"))
        row = page.locator("#log-body tr", has_text="女儿询问本周助洁时间")
        expect(row).to_contain_text("王大爷")
        expect(row).to_contain_text("13800000008")  # the operator who took the call sees the number in full
        expect(page.locator("#profile")).to_be_hidden()
        # the log searched by the caller's number (its blind index) and by reason
        page.get_by_label("按来电号码查（可不填）").fill("13800000008")
        page.get_by_label("事由", exact=True).select_option(label="投诉")
        page.get_by_role("button", name="查询").click()
        expect(page.locator("#log-body")).to_contain_text("没有符合条件的来电记录")
        page.get_by_label("事由", exact=True).select_option(label="咨询")
        page.get_by_role("button", name="查询").click()
        expect(page.locator("#log-body tr", has_text="女儿询问本周助洁时间")).to_have_count(1)
    finally:
        ctx.close()


def test_district_desk_sees_an_unanswered_alarm_escalate_and_closes_it(browser, platform):
    """The demo home device pressed far from any caregiver alerts nobody, so the escalation pass hands
    it to the desk at once (the platform runs on the real clock; the 3-minute wait itself is tested on
    the test clock in tests/integration/test_orders_alarms.py). The panel shows it without a reload
    (live notices, or the 15-second poll), axe-core finds nothing serious with it showing, and the
    operator takes it and closes it as "已拨打 120"."""
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    desk = next(a for a in platform.demo_accounts if a["phone"] == "13800000015")  # 海陵区's desk
    head = login_as(platform, desk["phone"], desk["password"])
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    with httpx.Client(base_url=platform.url, timeout=30, headers=head) as api:
        try:
            # the demo elder's open alarm, if an earlier test left one, would be joined instead of a new one
            for left in api.get("/api/orders/alarms", params={"open": "true", "elder_id": world["elder_id"]}).json():
                assert api.post(f"/api/orders/alarms/{left['id']}/close", json={"outcome": "false_alarm"}).status_code == 200
            sign_in(page, platform.url, desk["phone"], desk["password"])
            page.wait_for_url("**/desk")
            expect(page.locator("body")).to_have_attribute("data-loaded", "true", timeout=30_000)
            panel = page.locator("#alarm-desk")
            pressed = api.post("/api/orders/device/alarms", headers={"X-Device-Token": world["alarm_device_token"]},
                               json={"lat": 31.0, "lon": 121.9})
            assert pressed.status_code == 201 and pressed.json()["alerted"] == [], pressed.text
            alarm = pressed.json()["id"]

            card = panel.get_by_role("article", name="王大爷的紧急呼叫")
            expect(card).to_contain_text("已升级", timeout=30_000)
            expect(card).to_contain_text("附近没有可通知的护理员，已直接转坐席")
            expect(card).to_contain_text("设备定位：北纬 31.00000，东经 121.90000")
            expect(card).to_contain_text("无人（附近没有在班的护理员）")
            expect(card).to_contain_text(re.compile(r"\d+ 秒前|\d+ 分钟前"))
            expect(page.locator("#alarm-desk-count")).to_contain_text("起")
            page.wait_for_load_state("networkidle")
            assert_no_serious_violations(page, "/desk as 海陵区's operator, an escalated alarm on the panel, desktop")
            page.set_viewport_size(PHONE)
            assert_no_serious_violations(page, "/desk as 海陵区's operator, an escalated alarm on the panel, phone")
            page.set_viewport_size(DESKTOP)

            card.get_by_role("button", name="我来处理").click()
            expect(page.locator("#profile-title")).to_have_text("王大爷的档案")
            expect(card).to_contain_text("本坐席正在处理")
            expect(page.locator("#alarms-body")).to_contain_text("已升级")
            card.get_by_label("处置结果").select_option("called_120")
            card.get_by_label("处置说明（可不填）").fill("电话无人接听，已请 120 上门")
            card.get_by_role("button", name="结束呼叫").click()
            expect(page.locator("#alarm-desk-msg")).to_contain_text("已结束王大爷的紧急呼叫：已拨打 120")
            expect(card).to_have_count(0)
            expect(page.locator("#alarms-body")).to_contain_text("暂无")
            closed = api.get(f"/api/orders/alarms/{alarm}").json()
            assert (closed["state"], closed["outcome"], closed["note"]) == ("closed", "called_120", "电话无人接听，已请 120 上门")
        finally:
            ctx.close()
