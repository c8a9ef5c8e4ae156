"""The elder and family page in a real browser: age-friendly (zh-CN, every field labelled, no
text under 16 px, big touch targets, nothing wider than a phone), screenshots at phone and
desktop width; a family member with two linked elders chooses whom to order for."""
from __future__ import annotations

import json
import random
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    gateway_as,
    new_id_card,
    new_phone,
    sign_in,
    smallest_text_px,
    unlabelled_fields,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
HAILING = "321202"


def small_targets(page, min_px: int = 44) -> list[str]:
    """Visible buttons, links styled as buttons and choice tiles shorter than `min_px`."""
    return page.evaluate("""(min) => [...document.querySelectorAll('button, .big-nav a, label.choice')]
        .filter(e => e.getClientRects().length && e.getBoundingClientRect().height < min)
        .map(e => `${e.textContent.trim().slice(0, 20)} (${Math.round(e.getBoundingClientRect().height)} px)`)""", min_px)


def wider_than_viewport(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def test_elder_page_is_age_friendly_on_a_phone_and_a_desktop(browser, platform, screenshots):
    account = platform.account("elder")
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    sign_in(page, platform.url, account["phone"], account["password"])
    page.wait_for_url("**/elder")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    expect(page.get_by_role("heading", name="为 王大爷 预约服务")).to_be_visible()
    expect(page.locator("#elder-choice")).to_be_hidden()  # one elder: nothing to choose
    expect(page.locator("#wallet")).to_contain_text("社区照护券")
    expect(page.locator("#wallet")).to_contain_text("还可以用")
    # the catalogue by category, with prices
    expect(page.get_by_role("button", name="生活照料")).to_have_attribute("aria-pressed", "true")
    expect(page.locator('.item-card[data-code="meal"]')).to_contain_text("15.00 元 / 餐")
    page.get_by_role("button", name="精神慰藉").click()
    expect(page.locator('.item-card[data-code="meal"]')).to_be_hidden()
    expect(page.get_by_role("button", name="预约精神慰藉")).to_be_visible()
    page.get_by_role("button", name="生活照料").click()
    page.get_by_role("button", name="预约助餐").click()
    form = page.get_by_role("form", name="预约助餐")
    expect(form.locator("#quote-split")).to_contain_text("代金券支付")
    form.get_by_role("radio", name="自己付钱，不用代金券").check()
    expect(form.locator("#quote-split")).to_have_text("不用代金券，自付 15.00 元")

    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        assert unlabelled_fields(page) == []
        assert smallest_text_px(page) >= 16
        assert small_targets(page) == []
        assert wider_than_viewport(page) <= 0
        page.screenshot(path=str(screenshots / f"elder-order-form-{name}.png"), full_page=True)
    form.get_by_role("button", name="不订了").click()
    expect(form).to_be_hidden()
    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page.set_viewport_size(size)
        assert smallest_text_px(page) >= 16
        assert small_targets(page) == []
        page.screenshot(path=str(screenshots / f"elder-{name}.png"), full_page=True)
    ctx.close()


@pytest.fixture
def family_of_two(platform) -> dict:
    """A family member linked to the demo elder and to a second elder (not yet assessed: no vouchers)."""
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    officer, admin = gateway_as(platform, "officer"), gateway_as(platform, "admin")
    born = date(1943, 8, 2)
    name = random.choice(["李桂芳", "赵秀兰", "周玉珍"]) + random.choice("甲乙丙丁")
    second = officer.call("POST", "/api/assessment/elders", {
        "name": name, "gender": "female", "birth_date": born.isoformat(),
        "id_card": new_id_card(HAILING, born, male=False), "phone": new_phone(),
        "address": "泰州市海陵区城中街道府前路 6 号 1 栋 201", "lat": 32.492, "lon": 119.921, "district_code": HAILING,
        "street": "城中街道", "living_situation": "with_family", "economic_status": "none",
        "emergency_contacts": []})
    family = {"phone": new_phone(), "password": "yf-two-elders", "display_name": "王家大儿子"}
    user = admin.call("POST", "/api/admin/users", {**family, "role": "family", "district_code": HAILING})
    for elder_id, relation in ((world["elder_id"], "儿子"), (second["id"], "女婿")):
        admin.call("POST", "/api/family-links", {"user_id": user["id"], "elder_id": elder_id, "relation": relation,
                                                 "consent_by": "老人本人", "consent_method": "in_person"})
    return {**family, "second": second}


def test_family_with_two_elders_chooses_whom_to_order_for(browser, platform, family_of_two):
    second = family_of_two["second"]
    page = browser.new_page(viewport=PHONE, locale="zh-CN")
    sign_in(page, platform.url, family_of_two["phone"], family_of_two["password"])
    page.wait_for_url("**/elder")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    choice = page.get_by_role("group", name="选择为哪位老人预约")
    expect(choice.get_by_role("button")).to_have_count(2)
    choice.get_by_role("button", name=f"为{second['name']}预约").click()
    expect(page.get_by_role("heading", name=f"为 {second['name']} 预约服务")).to_be_visible()
    expect(choice.get_by_role("button", name=f"为{second['name']}预约")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#elder-address")).to_contain_text("府前路 6 号")
    expect(page.locator("#wallet-body")).to_contain_text("这个月还没有代金券")
    page.get_by_role("button", name="预约助餐").click()
    form = page.get_by_role("form", name="预约助餐")
    expect(form.locator('input[name="pay"]')).to_have_count(1)  # the only way to pay:
    expect(form.get_by_role("radio", name="自己付钱，不用代金券")).to_be_checked()
    expect(form).to_contain_text("本月没有能用在这项服务上的代金券")
    expect(form.locator("#quote-split")).to_have_text("不用代金券，自付 15.00 元")
    # order, then change one's mind: cancelled before anyone comes
    form.get_by_role("radio", name=re.compile("^明天")).check()
    form.get_by_role("button", name="确认下单").click()
    expect(page.locator("#page-msg")).to_contain_text("自费支付 15 元")
    card = page.locator(f'#order-list [data-order="{page.locator("#page-msg").get_attribute("data-order")}"]')
    expect(card.locator(".state-badge")).to_have_text(re.compile("已下单|派单中|已接单"))
    card.get_by_role("button", name="取消这个订单").click()
    card.get_by_role("button", name="确定取消").click()
    expect(card.locator(".state-badge")).to_have_text("已取消")
    expect(card).to_contain_text("家属取消")
    # weekday meals from next week on (nothing is placed for them yet), paused, then ended
    meals = page.get_by_role("form", name="新订每天送餐（助餐）")
    meals.get_by_label("周五").uncheck()
    meals.get_by_label("几点送到？").select_option("17:00")
    meals.get_by_label("从哪天开始？").fill((date.today() + timedelta(days=8)).isoformat())
    meals.get_by_label("送多久？").select_option("4")
    expect(meals.locator("#meal-quote")).to_contain_text("每餐 15.00 元，不用代金券，自付 15.00 元")
    meals.get_by_role("button", name="开始每天送餐").click()
    expect(meals.locator("#meal-msg")).to_contain_text("已订好：每周一、二、三、四 17:00 送餐")
    rule = page.locator("#meal-rules .rule-card")
    expect(rule).to_contain_text("正在送")
    rule.get_by_role("button", name="暂停送餐").click()
    expect(rule).to_contain_text("已暂停")
    rule.get_by_role("button", name="不再送了").click()
    rule.get_by_role("button", name="确定不再送了").click()
    expect(rule).to_have_count(0)
    # the choice is remembered for the next visit, and switching back shows the demo elder's vouchers
    page.reload()
    expect(page.get_by_role("heading", name=f"为 {second['name']} 预约服务")).to_be_visible()
    choice.get_by_role("button", name="为王大爷预约").click()
    expect(page.get_by_role("heading", name="为 王大爷 预约服务")).to_be_visible()
    expect(page.locator("#wallet-body")).to_contain_text("社区照护券")
    page.close()
