"""One-key emergency alarms in a real browser (issue 25): the demo elder presses the red 紧急呼叫
button (twice: the first tap only arms it), the demo caregiver's workbench lists the alarm when it
loads and she says "我去"; the elder's page then names who is coming; she closes it with an
outcome. Then a press from the demo home device far from any caregiver alerts nobody, and the
district officer sees it escalated through the API the operator desk reads
(`GET /api/orders/alarms?state=escalated`). The 3-minute escalation itself runs on the test clock
in tests/integration/test_orders_alarms.py."""
from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, sign_in
from tests.support.clients import login
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_elder_presses_caregiver_goes_and_an_unanswered_alarm_escalates(browser, platform, screenshots):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    elder_account, caregiver_account = platform.account("elder"), platform.account("caregiver")

    elder_ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    elder = elder_ctx.new_page()
    sign_in(elder, platform.url, elder_account["phone"], elder_account["password"])
    elder.wait_for_url("**/elder")
    panel = elder.get_by_role("region", name="紧急呼叫")
    button = panel.get_by_role("button", name="紧急呼叫")
    button.click()  # armed only: a pocket press sends nothing
    expect(panel.get_by_role("button", name="再按一次，确认呼叫")).to_be_visible()
    expect(panel.get_by_role("status")).to_contain_text("再按一次")
    panel.get_by_role("button", name="再按一次，确认呼叫").click()
    expect(panel.get_by_role("status")).to_contain_text("已呼叫")
    expect(panel.get_by_role("status")).to_contain_text("已通知 1 位附近的护理员")
    elder.screenshot(path=str(screenshots / "alarm-elder-phone.png"), full_page=True)

    cg_ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    cg = cg_ctx.new_page()
    sign_in(cg, platform.url, caregiver_account["phone"], caregiver_account["password"])
    cg.wait_for_url("**/provider")
    alarms = cg.get_by_role("region", name="紧急呼叫")
    card = alarms.get_by_role("article", name="王大爷的紧急呼叫")
    expect(card).to_contain_text("呼叫中")
    card.get_by_role("button", name="我去").click()
    expect(alarms.get_by_role("status").first).to_contain_text("已响应，请立即出发")
    expect(card).to_contain_text("已由刘秀英前往")
    cg.screenshot(path=str(screenshots / "alarm-caregiver-phone.png"), full_page=True)

    elder.reload()  # (live with the notices script, when it is on the page)
    expect(elder.get_by_role("region", name="紧急呼叫").get_by_role("status")).to_contain_text("刘秀英正在赶来")

    card.get_by_role("button", name="已到达").click()
    expect(card).to_contain_text("到达")
    card.get_by_label("处置结果").select_option("resolved_on_site")
    card.get_by_role("button", name="结束呼叫").click()
    expect(alarms).to_contain_text("目前没有紧急呼叫")

    elder_ctx.close()
    cg_ctx.close()
    with ThreadPoolExecutor(1) as pool:  # its own thread and loop: Playwright's sync API owns this one
        pool.submit(asyncio.run, device_alarm_escalates(platform, world["alarm_device_token"])).result()


async def device_alarm_escalates(platform, token: str) -> None:
    """The home device, pressed far from any caregiver: nobody is alerted, so the escalation pass
    hands it to the desk at once; the district officer reads it in the desk's list and closes it."""
    officer = login(platform, "officer")
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as c:
        r = await c.post("/api/orders/device/alarms", headers={"X-Device-Token": token}, json={"lat": 31.0, "lon": 121.9})
        assert r.status_code == 201, r.text
        alarm = r.json()
        assert alarm["alerted"] == [] and alarm["source"] == "device"

        async def escalated() -> bool:
            rows = (await c.get("/api/orders/alarms", headers=officer, params={"state": "escalated"})).json()
            return any(a["id"] == alarm["id"] and a["escalation_reason"] == "no_caregiver" for a in rows)

        await wait_for(escalated, timeout_s=30, what="the device's alarm escalated")
        closed = await c.post(f"/api/orders/alarms/{alarm['id']}/close", headers=officer, json={"outcome": "false_alarm"})
        assert closed.status_code == 200 and re.search("误报", closed.json()["outcome_name"])
