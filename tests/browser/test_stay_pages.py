"""Institutional stays in a real browser: a family member finds a demo institution with a free
nursing bed near her mother and applies; the institution's desk sees the beds board (status in
words), accepts the application with a bed and admits; the family sees the stay. axe-core finds no
serious violation on the desk, on the family's search results and stay, nor on the bureau's
occupancy and claims."""
from __future__ import annotations

import json
import re
import uuid
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, gateway_as, new_id_card, new_phone, sign_in, unlabelled_fields
from tests.browser.test_accessibility import assert_no_serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DESK_PHONE = "13800000010"  # 颐和养老院's desk (youfu/seed_institutions.py)
INSTITUTION = "泰州市海陵区颐和养老院（演示）"


def family_of_a_new_elder(platform) -> tuple[dict, str, str]:
    """A new elder in 海陵区 near the demo institutions and her daughter's account, linked with consent."""
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    lat, lon = world["provider_location"]
    officer, admin = gateway_as(platform, "officer"), gateway_as(platform, "admin")
    elder = officer.call("POST", "/api/assessment/elders", {
        "name": "周淑珍", "gender": "female", "birth_date": "1939-08-21",
        "id_card": new_id_card(born=date(1939, 8, 21), male=False), "address": "泰州市海陵区城东街道海陵南路 8 号",
        "lat": lat + 0.002, "lon": lon + 0.006, "district_code": "321202", "street": "城东街道",
        "living_situation": "with_family", "economic_status": "dibao", "emergency_contacts": []},
        **{"Idempotency-Key": str(uuid.uuid4())})
    phone, password = new_phone(), "yf-" + uuid.uuid4().hex[:12]
    user = admin.call("POST", "/api/admin/users", {"role": "family", "phone": phone, "password": password,
                                                   "display_name": "周淑珍的女儿"})
    officer.call("POST", "/api/family-links", {"user_id": user["id"], "elder_id": elder["id"], "relation": "女儿",
                                               "consent_by": "老人本人", "consent_method": "in_person"})
    return elder, phone, password


def test_family_applies_the_desk_accepts_and_admits_the_family_sees_the_stay(browser, platform, screenshots):
    elder, phone, password = family_of_a_new_elder(platform)
    # the desk shows the elder's name (orders' elder copy), or the id's first characters until
    # orders has heard of the elder
    short = f'{elder["id"][:8]}|{elder["name"]}'

    # the family: search near the elder's home, apply
    family = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = family.new_page()
    sign_in(page, platform.url, phone, password)
    page.wait_for_url("**/elder")
    expect(page.locator("body")).to_have_attribute("data-stay-loaded", "true", timeout=30_000)
    stay = page.get_by_role("region", name="入住养老机构")
    expect(stay).to_contain_text("周淑珍 现在没有入住养老机构")
    stay.get_by_label("需要哪种照护？").select_option("nursing")
    stay.get_by_role("button", name="查找有空床的机构").click()
    apply = stay.get_by_role("button", name=f"申请入住{INSTITUTION}")
    expect(apply).to_be_visible()
    expect(stay.locator(".place-card").filter(has_text=INSTITUTION)).to_contain_text("每日床位费")
    page.wait_for_load_state("networkidle")
    assert_no_serious_violations(page, "/elder, places found (phone)")
    apply.click()
    form = stay.get_by_role("form", name="申请入住")
    expect(form).to_contain_text(f"为 周淑珍 申请入住 {INSTITUTION}（护理型床位）")
    form.get_by_label("有话要告诉机构吗？（可不填）").fill("老人怕冷，希望住朝南的房间")
    assert unlabelled_fields(page) == []
    form.get_by_role("button", name="提交申请").click()
    expect(page.locator("#stay-msg")).to_contain_text(f"申请已提交给 {INSTITUTION}")
    expect(stay).to_contain_text("等机构答复")

    # the desk: the beds board says each status in words; accept with a bed, then admit
    account = next(a for a in platform.demo_accounts if a["phone"] == DESK_PHONE)
    desk_ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    desk = desk_ctx.new_page()
    sign_in(desk, platform.url, account["phone"], account["password"])
    desk.wait_for_url("**/provider")
    expect(desk.locator("body")).to_have_attribute("data-desk-loaded", "true", timeout=30_000)
    section = desk.get_by_role("region", name="机构床位与入住")
    expect(section.locator("#beds-summary")).to_contain_text(re.compile(r"共 \d+ 张床：空闲 \d+"))
    expect(section.locator(".bed-tile.bed-occupied").first).to_contain_text("已入住")  # the demo resident
    expect(section.locator(".bed-tile.bed-free").first).to_contain_text("空闲")
    row = section.get_by_role("table", name="待处理的入住申请").get_by_role("row", name=re.compile(short))
    expect(row).to_contain_text("护理型")
    expect(row).to_contain_text("老人怕冷")
    desk.wait_for_load_state("networkidle")
    assert_no_serious_violations(desk, "/provider as the institution's desk")
    bed_label = row.get_by_label(re.compile("给.*安排床位")).locator("option:checked").inner_text()
    row.get_by_role("button", name="接收").click()
    expect(desk.locator("#applications-msg")).to_contain_text("已接收")
    row = section.get_by_role("table", name="待处理的入住申请").get_by_role("row", name=re.compile(short))
    expect(row).to_contain_text("已接收，待入住")
    row.get_by_role("button", name="办理入住").click()
    expect(desk.locator("#applications-msg")).to_contain_text("已办理入住")
    resident = section.get_by_role("table", name="在住老人").get_by_role("row", name=re.compile(short))
    expect(resident).to_contain_text("在住")
    expect(resident).to_contain_text(bed_label.split("（")[0])
    desk.screenshot(path=str(screenshots / "stay-desk-desktop.png"), full_page=True)

    # the family sees the stay
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-stay-loaded", "true", timeout=30_000)
    card = page.locator("#stay-now .stay-card")
    expect(card).to_contain_text(f"周淑珍 现在住在 {INSTITUTION}")
    expect(card).to_contain_text("在住")
    expect(card).to_contain_text("护理型床位")
    expect(page.get_by_role("button", name="查找有空床的机构")).to_be_hidden()  # one open stay at a time
    page.wait_for_load_state("networkidle")
    assert_no_serious_violations(page, "/elder, the stay shown (phone)")
    page.screenshot(path=str(screenshots / "stay-family-phone.png"), full_page=True)
    family.close()
    desk_ctx.close()


def test_bureau_sees_occupancy_by_district_and_the_nursing_share(browser, platform):
    account = platform.account("officer")
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    sign_in(page, platform.url, account["phone"], account["password"])
    page.wait_for_url("**/bureau")
    expect(page.locator("body")).to_have_attribute("data-stays-loaded", "true", timeout=30_000)
    occupancy = page.get_by_role("region", name="养老机构床位")
    by_district = occupancy.get_by_role("table", name="按区县的床位和入住")
    expect(by_district.get_by_role("row", name=re.compile("海陵区"))).to_be_visible()
    expect(occupancy.get_by_role("table", name="各机构的空床")).to_contain_text(INSTITUTION)
    expect(occupancy.locator("#nursing-share")).to_contain_text(re.compile(r"护理型床位占比 [\d.]+%，规划目标 70%"))
    expect(page.get_by_role("region", name=re.compile("机构托养床位费结算"))).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert_no_serious_violations(page, "/bureau, occupancy and claims")
    ctx.close()
