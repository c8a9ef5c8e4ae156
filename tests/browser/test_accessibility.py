"""Every page, signed in as the demo account it is for, checked by axe-core against WCAG 2.0/2.1
A and AA at phone and desktop width: no violation of impact serious or critical. axe-core is read
from node_modules (installed by `make test` from package-lock.json), never fetched at run time."""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, new_id_card, sign_in
from tests.support.meals import counter_account

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")

# page → the demo role it is for (None: not signed in)
PAGES = [
    ("/login", None),
    ("/elder", "elder"),
    ("/provider", "provider_admin"),
    ("/assessor", "assessor"),
    ("/bureau", "officer"),
    ("/bureau", "city_officer"),  # the city's view adds the by-district chart and table, and the bureaus' lists
    ("/counter", "meal_point"),  # a demo meal point's counter account (a provider_admin of a 助餐点)
    ("/desk", "operator"),  # the 12349 hotline desk (the city's operator)
    ("/bureau/dashboard", "city_officer"),  # the plan's indicators, the charts and the map (every district)
]


def axe_violations(page) -> list[dict]:
    """Violations of impact serious or critical on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: `make test` installs it (scripts/prerequisites.sh), or `npm ci`")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate("""async ([tags, blocking]) => {
        const result = await axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
        return result.violations.filter(v => blocking.includes(v.impact)).map(v => ({
            id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(" "))}));
    }""", [TAGS, list(BLOCKING)])


def assert_no_serious_violations(page, where: str) -> None:
    found = axe_violations(page)
    report = "\n".join(f"  {v['id']} ({v['impact']}: {v['help']}): {json.dumps(v['targets'], ensure_ascii=False)}"
                       for v in found)
    assert not found, f"axe-core on {where}:\n{report}"


def open_page(page, platform, path: str, role: str | None) -> None:
    if role is None:
        page.goto(f"{platform.url}{path}")
    else:
        account = counter_account(platform) if role == "meal_point" else platform.account(role)
        sign_in(page, platform.url, account["phone"], account["password"])
        if path == "/bureau/dashboard":  # not a role's home page: opened once signed in
            page.wait_for_url("**/bureau")
            page.goto(f"{platform.url}{path}")
        page.wait_for_url(f"**{path}")
    if path in ("/elder", "/provider", "/bureau", "/counter", "/desk", "/bureau/dashboard"):
        expect(page.locator("body")).to_have_attribute("data-loaded", "true", timeout=30_000)
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize(("path", "role"), PAGES, ids=[f"{p[1:]}-{r or 'signed-out'}" for p, r in PAGES])
def test_page_has_no_serious_axe_violations(browser, platform, path, role, viewport, tmp_path):
    ctx = browser.new_context(viewport=viewport, locale="zh-CN")
    page = ctx.new_page()
    try:
        open_page(page, platform, path, role)
        where = f"{path} as {role or 'nobody'} at {viewport['width']} px"
        assert_no_serious_violations(page, where)
        if path == "/assessor":
            # the work area (26 items, the elder's history table) opens once an elder is chosen: the demo elder
            page.get_by_label("姓名、身份证号或手机号").fill("王大爷")
            page.get_by_role("button", name="查找").click()
            page.get_by_role("button", name="评估 王大爷").click()
            expect(page.locator("#history table")).to_be_visible()
            expect(page.locator("fieldset.item")).to_have_count(26)
            expect(page.locator("#plan-history table")).to_be_visible()
            page.wait_for_load_state("networkidle")
            assert_no_serious_violations(page, f"{where}, an elder chosen")
            # the care plan's editor: a draft from the grade's policy items (the running plan stays until consent)
            if page.get_by_role("button", name="按政策默认起草护理计划").is_visible():
                page.get_by_role("button", name="按政策默认起草护理计划").click()
            expect(page.locator("fieldset.plan-item").first).to_be_visible()
            page.wait_for_load_state("networkidle")
            assert_no_serious_violations(page, f"{where}, a care plan drafted")
        if path == "/bureau" and role == "city_officer":
            # the lists from other bureaus: a dry run on the page (an unknown ID number: nothing to apply)
            section = page.locator("#status-lists")
            expect(section).to_be_visible()
            csv = tmp_path / "死亡名单.csv"
            csv.write_text(f"身份证号,姓名,死亡日期\n{new_id_card()},某某某,{date.today() - timedelta(days=2)}\n",
                           encoding="utf-8")
            section.get_by_label("名单文件（.csv 或 .xlsx）").set_input_files(str(csv))
            section.get_by_role("button", name="上传并预览").click()
            expect(page.get_by_role("table", name="比对结果（死亡名单）")).to_be_visible()
            page.wait_for_load_state("networkidle")
            assert_no_serious_violations(page, f"{where}, a list's dry run shown")
        if path == "/desk":
            # the one screen of an elder, found by the caller's number
            page.get_by_label("来电人的电话号码（手机号或带区号的固定电话）").fill("13800000007")
            page.get_by_role("button", name="查找来电人").click()
            expect(page.locator("#profile")).to_be_visible()
            page.wait_for_load_state("networkidle")
            assert_no_serious_violations(page, f"{where}, an elder's profile shown")
    finally:
        ctx.close()
