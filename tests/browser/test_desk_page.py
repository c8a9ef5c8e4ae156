"""The 12349 desk in Chromium: the city's operator signs in, types a caller's number, sees the
elder's one screen (profile, plan, orders, alarms, vouchers) and records the call, which the day's
log then shows and finds by number and reason."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, sign_in

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
