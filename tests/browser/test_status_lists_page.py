"""Lists from other bureaus on the civil-affairs dashboard (issue 20), in a real browser: the city
officer uploads a death list as CSV (one elder who died, one row whose name does not match the ID
number, one ID number with a wrong check digit), sees the dry run with its counts and each row's
reason, applies it and sees it applied; the same file uploaded and applied again changes nothing.
A file that is not a death list is refused with the missing columns named on the page. An
assistance list (an Excel file) changes an elder's category, which the elder's page explains to a
linked family member; before that change the page shows no notice."""
from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, gateway_as, new_phone, sign_in, unlabelled_fields
from tests.support.factories import HAILING, new_id_card

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def new_elder(platform, name: str, *, economic_status: str = "none") -> dict:
    """A new elder in 海陵区 registered by the district officer; with the full ID number."""
    born = date(1939 + random.randrange(10), random.randrange(1, 13), random.randrange(1, 29))
    id_number = new_id_card(HAILING, born, male=False)
    elder = gateway_as(platform, "officer").call("POST", "/api/assessment/elders", {
        "name": name, "gender": "female", "birth_date": born.isoformat(), "id_card": id_number, "phone": new_phone(),
        "address": "泰州市海陵区城中街道府前路 8 号 2 栋 101", "lat": 32.492, "lon": 119.921, "district_code": HAILING,
        "street": "城中街道", "living_situation": "alone", "economic_status": economic_status, "emergency_contacts": []})
    return {**elder, "id_number": id_number}


def wrong_check_digit(id_number: str) -> str:
    last = id_number[-1]
    return id_number[:-1] + ("0" if last != "0" else "1")


def csv_file(tmp_path, name: str, lines: list[str]) -> str:
    path = tmp_path / name
    path.write_text("\ufeff" + "\r\n".join(lines) + "\r\n", encoding="utf-8")  # as Excel/WPS save CSV
    return str(path)


def open_bureau(browser, platform):
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = ctx.new_page()
    account = platform.account("city_officer")
    sign_in(page, platform.url, account["phone"], account["password"])
    page.wait_for_url("**/bureau")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true", timeout=30_000)
    return ctx, page


def upload(page, kind: str, path: str) -> None:
    section = page.locator("#status-lists")
    section.get_by_label("名单类型").select_option(kind)
    section.get_by_label("名单文件（.csv 或 .xlsx）").set_input_files(path)
    section.get_by_role("button", name="上传并预览").click()


def count(page, key: str):
    return page.locator(f'#status-list-counts [data-count="{key}"] dd')


def test_city_officer_uploads_a_death_list_sees_the_dry_run_and_applies_it(browser, platform, tmp_path, screenshots):
    died = new_elder(platform, random.choice(["孙桂英", "吴秀珍", "郑玉兰"]) + random.choice("甲乙丙丁"))
    other = new_elder(platform, random.choice(["冯桂芳", "陈秀英", "褚玉珍"]) + random.choice("甲乙丙丁"))
    died_on = (datetime.now(SHANGHAI) - timedelta(days=3)).date().isoformat()
    deaths = csv_file(tmp_path, "殡葬死亡名单.csv", [
        "身份证号,姓名,死亡日期",
        f"{died['id_number']},{died['name']},{died_on}",
        f"{other['id_number']},张冠李,{died_on}",  # the ID number of a living elder, another name
        f"{wrong_check_digit(new_id_card(HAILING, date(1940, 2, 3)))},李某某,{died_on}",
    ])
    ctx, page = open_bureau(browser, platform)
    section = page.get_by_role("region", name="外部数据比对（死亡、户籍迁出、救助名单）")
    expect(section).to_be_visible()
    expect(page.get_by_role("table", name="以前上传的名单")).to_be_visible()
    assert unlabelled_fields(page) == []
    # recovery findings (tests/e2e/test_status_lists_flow.py makes one) show what is to be recovered
    expect(page.locator("#anomalies").get_by_role("columnheader", name="追缴金额（元）")).to_be_visible()

    # a file that is not a death list: refused, the missing columns named on the page
    upload(page, "deaths", csv_file(tmp_path, "通讯录.csv", ["姓名,电话", "王某,13800000000"]))
    message = page.locator("#status-lists-msg")
    expect(message).to_contain_text("上传没有成功")
    expect(message).to_contain_text("身份证号")
    expect(message).to_contain_text("死亡日期")

    # the dry run: nothing changed yet
    upload(page, "deaths", deaths)
    expect(message).to_contain_text("已读取 3 行")
    expect(page.locator("#status-list-state")).to_contain_text("预览")
    for key, n in (("rows", 3), ("matched", 2), ("apply", 1), ("unchanged", 0), ("name_mismatch", 1), ("unknown", 0),
                   ("conflicting", 0), ("invalid", 1)):
        expect(count(page, key)).to_have_text(str(n))
    expect(count(page, "money")).to_have_text("0.00 元")  # vouchers asked: this elder spent nothing since
    table = page.get_by_role("table", name="比对结果（死亡名单）")
    applying = table.get_by_role("row", name=re.compile("将变更"))
    expect(applying).to_have_count(1)
    expect(applying).to_contain_text(f"{died['name'][0]}*")  # the elder's name, masked
    expect(applying).to_contain_text(f"老人状态：在册 → 已故（{died_on} 起）")
    mismatch = table.get_by_role("row", name=re.compile("姓名不符"))
    expect(mismatch).to_contain_text("姓名")
    expect(mismatch.get_by_role("cell").first).to_have_text("3")  # the line in the file (the header is line 1)
    invalid = table.get_by_role("row", name=re.compile("格式有误"))
    expect(invalid).to_contain_text("校验")
    expect(invalid.get_by_role("cell").first).to_have_text("4")
    officer = gateway_as(platform, "city_officer")
    assert officer.call("GET", f"/api/assessment/elders/{died['id']}")["status"] == "active"
    page.screenshot(path=str(screenshots / "bureau-status-list-dry-run.png"), full_page=True)

    # apply: the one matching row changes the record, the others stay as they were
    page.get_by_role("button", name="确认应用").click()
    expect(message).to_contain_text("已应用：变更 1 位老人的档案")
    expect(page.locator("#status-list-state")).to_contain_text("已应用")
    expect(page.get_by_role("button", name="确认应用")).to_have_count(0)
    expect(table.get_by_role("row", name=re.compile("已变更"))).to_have_count(1)
    record = officer.call("GET", f"/api/assessment/elders/{died['id']}")
    assert (record["status"], str(record["status_date"])) == ("deceased", died_on)
    assert officer.call("GET", f"/api/assessment/elders/{other['id']}")["status"] == "active"
    history = page.get_by_role("table", name="以前上传的名单")
    expect(history.get_by_role("row", name=re.compile("殡葬死亡名单.csv.*已应用"))).to_have_count(1)

    # the same file again: every row already holds, applying changes nothing
    upload(page, "deaths", deaths)
    expect(count(page, "apply")).to_have_text("0")
    expect(count(page, "unchanged")).to_have_text("1")
    expect(table.get_by_role("row", name=re.compile("无需变更"))).to_have_count(1)
    page.get_by_role("button", name="确认应用").click()
    expect(message).to_contain_text("已应用：变更 0 位老人的档案")
    assert str(officer.call("GET", f"/api/assessment/elders/{died['id']}")["status_date"]) == died_on
    expect(history.get_by_role("row", name=re.compile("殡葬死亡名单.csv"))).to_have_count(2)
    # an earlier list opens again from the history
    history.get_by_role("row", name=re.compile("殡葬死亡名单.csv")).last.get_by_role("button", name=re.compile("^查看")).click()
    expect(page.locator("#status-list-state")).to_contain_text("已应用")
    page.screenshot(path=str(screenshots / "bureau-status-list-applied.png"), full_page=True)
    ctx.close()


def test_assistance_change_is_explained_on_the_elders_page(browser, platform, tmp_path):
    elder = new_elder(platform, random.choice(["蒋桂兰", "沈秀芳", "韩玉英"]) + random.choice("甲乙丙丁"),
                      economic_status="dibao")
    admin = gateway_as(platform, "admin")
    family = {"phone": new_phone(), "password": "yf-assistance-list", "display_name": "蒋家女儿"}
    user = admin.call("POST", "/api/admin/users", {**family, "role": "family", "district_code": HAILING})
    admin.call("POST", "/api/family-links", {"user_id": user["id"], "elder_id": elder["id"], "relation": "女儿",
                                             "consent_by": "老人本人", "consent_method": "in_person"})
    page = browser.new_page(viewport=PHONE, locale="zh-CN")
    sign_in(page, platform.url, family["phone"], family["password"])
    page.wait_for_url("**/elder")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#status-notice")).to_be_hidden()  # no change yet: no notice
    page.close()

    valid_from = datetime.now(SHANGHAI).date().replace(day=1).isoformat()
    ctx, bureau = open_bureau(browser, platform)
    book = Workbook()  # this one as Excel, as the assistance office exports it
    book.active.append(["身份证号", "救助类别", "生效日期"])
    book.active.append([elder["id_number"], "低保边缘", valid_from])
    book.save(tmp_path / "民政救助名单.xlsx")
    upload(bureau, "assistance", str(tmp_path / "民政救助名单.xlsx"))
    expect(count(bureau, "apply")).to_have_text("1")
    expect(bureau.get_by_role("table", name="比对结果（救助名单）").get_by_role("row", name=re.compile("将变更")))\
        .to_contain_text("救助类别：低保 → 低保边缘")
    bureau.get_by_role("button", name="确认应用").click()
    expect(bureau.locator("#status-lists-msg")).to_contain_text("已应用：变更 1 位老人的档案")
    ctx.close()

    page = browser.new_page(viewport=PHONE, locale="zh-CN")
    sign_in(page, platform.url, family["phone"], family["password"])
    page.wait_for_url("**/elder")
    notice = page.get_by_role("region", name="档案变更通知")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("低保边缘")
    expect(notice).to_contain_text(valid_from)
    page.close()
