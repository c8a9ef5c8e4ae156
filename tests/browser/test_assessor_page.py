"""The assessor workbench in a real browser: assessor A scores the 26 items of GB/T 42195 and
watches the grade change live, signs; assessor B countersigns and the assessment is final; the
elder's history shows it."""
from __future__ import annotations

import random
from datetime import date

import pytest
from playwright.sync_api import expect

from services.assessment.instruments import get_instrument
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
GB = get_instrument("gb_t_42195_2022")
HAILING = "321202"


def items_totalling(total: int) -> dict[str, int]:
    """Scores summing to `total`, lowered item by item from the top, 意识水平 left awake."""
    items = {item.code: item.max_score for item in GB.items}
    deficit = GB.max_total - total
    for item in GB.items:
        if item.code == "consciousness" or deficit == 0:
            continue
        lowest = min(s for s in item.allowed_scores if item.max_score - s <= deficit)
        deficit -= item.max_score - lowest
        items[item.code] = lowest
    assert deficit == 0
    return items


@pytest.fixture
def elder_and_second_assessor(platform):
    officer, admin = gateway_as(platform, "officer"), gateway_as(platform, "admin")
    second = {"phone": new_phone(), "password": "yf-second-assessor"}
    admin.call("POST", "/api/admin/users", {**second, "display_name": "评估员 周医生", "role": "assessor",
                                            "district_code": HAILING})
    born = date(1941, 3, 18)
    name = random.choice(["孙桂兰", "钱秀珍", "吴凤英", "郑玉兰"]) + random.choice("甲乙丙丁")
    elder = officer.call("POST", "/api/assessment/elders", {
        "name": name, "gender": "female", "birth_date": born.isoformat(),
        "id_card": new_id_card(HAILING, born, male=False), "phone": new_phone(),
        "address": "泰州市海陵区城南街道鼓楼路 8 号 2 栋 102", "lat": 32.48, "lon": 119.92, "district_code": HAILING,
        "street": "城南", "living_situation": "alone", "economic_status": "dibao",
        "emergency_contacts": [{"name": "孙小军", "relation": "儿子", "phone": new_phone()}]})
    return elder, second


def choose(page, name: str) -> None:
    page.get_by_label("姓名、身份证号或手机号").fill(name)
    page.get_by_role("button", name="查找").click()
    page.get_by_role("button", name=f"评估 {name}").click()


def test_two_assessors_grade_live_sign_and_finalise(browser, platform, screenshots, elder_and_second_assessor):
    elder, second = elder_and_second_assessor
    first = platform.account("assessor")

    # assessor A: choose the elder, score all 26 items, watch the grade, sign
    ctx = browser.new_context(viewport=DESKTOP)
    page = ctx.new_page()
    sign_in(page, platform.url, first["phone"], first["password"])
    page.wait_for_url("**/assessor")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    choose(page, elder["name"])
    expect(page.locator("fieldset.item")).to_have_count(26)
    expect(page.locator("#live-grade")).to_contain_text("评完全部条目后显示")
    for code, score in items_totalling(60).items():
        page.locator(f'input[name="item-{code}"][value="{score}"]').check()
    expect(page.locator("#live-total")).to_have_text("总分 60 / 90")
    expect(page.locator("#live-grade")).to_contain_text("2 级 · 能力中度受损")
    expect(page.locator("#dimscore-self_care")).to_contain_text("分")
    # a dementia diagnosis raises the grade one level, with the reason shown
    page.get_by_label("已确诊的疾病（ICD-10 编码，多个用空格或逗号分开）").fill("F03")
    expect(page.locator("#live-grade")).to_contain_text("3 级 · 能力重度受损")
    expect(page.locator("#live-adjust")).to_contain_text("提高一级")
    # one item lower: the total follows
    scores = items_totalling(60)
    item = next(i for i in reversed(GB.items) if scores[i.code] == i.max_score and i.code != "consciousness")
    page.locator(f'input[name="item-{item.code}"][value="0"]').check()
    expect(page.locator("#live-total")).to_have_text(f"总分 {60 - item.max_score} / 90")
    page.locator(f'input[name="item-{item.code}"][value="{item.max_score}"]').check()
    expect(page.locator("#live-total")).to_have_text("总分 60 / 90")
    assert unlabelled_fields(page) == []
    assert smallest_text_px(page) >= 16
    page.screenshot(path=str(screenshots / "assessor-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(screenshots / "assessor-phone.png"))
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#form-msg")).to_contain_text("草稿已保存")
    page.get_by_role("button", name="签名提交").click()
    expect(page.locator("#form-msg")).to_contain_text("签名成功")
    expect(page.locator("#state-line")).to_contain_text("请另一位评估员")
    expect(page.get_by_role("button", name="签名提交")).to_be_hidden()
    ctx.close()

    # assessor B: sees the signed scores read-only, countersigns: final
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    sign_in(page, platform.url, second["phone"], second["password"])
    page.wait_for_url("**/assessor")
    choose(page, elder["name"])
    expect(page.locator("#state-line")).to_contain_text("另一位评估员已于")
    expect(page.locator("#live-grade")).to_contain_text("3 级")
    expect(page.locator('input[name="item-eating"]').first).to_be_disabled()
    page.screenshot(path=str(screenshots / "assessor-countersign-phone.png"), full_page=True)
    page.get_by_role("button", name="复核无误，签名定稿").click()
    expect(page.locator("#form-msg")).to_contain_text("评估已定稿：3 级")
    history = page.locator("#history table")
    expect(history).to_contain_text("已定稿")
    expect(history).to_contain_text("3 级 能力重度受损")
    expect(history).to_contain_text("首次评估")
    expect(page.get_by_role("button", name="新建复评")).to_be_visible()
    ctx.close()


def test_assessor_page_tells_other_roles_where_to_go(browser, platform):
    officer = platform.account("officer")
    page = browser.new_page(viewport=PHONE)
    sign_in(page, platform.url, officer["phone"], officer["password"])
    page.wait_for_url("**/bureau")
    page.goto(f"{platform.url}/assessor")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("您当前的账号不能使用")
    expect(alert.get_by_role("link", name="您的首页")).to_have_attribute("href", "/bureau")
    page.close()
