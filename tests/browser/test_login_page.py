"""The sign-in page in a real browser: Chinese, labelled, large type, clear errors."""
from __future__ import annotations

import pytest

from tests.browser.conftest import PHONE, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_login_page_is_accessible_and_explains_a_wrong_password(browser, platform, screenshots):
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{platform.url}/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    for field in ("手机号", "密码"):
        assert page.get_by_label(field).is_visible()
    smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('body *')]
        .filter(e => e.offsetParent !== null && e.textContent.trim())
        .map(e => parseFloat(getComputedStyle(e).fontSize)))""")
    assert smallest >= 16
    page.screenshot(path=str(screenshots / "login-phone.png"), full_page=True)
    sign_in(page, platform.url, "13800000001", "not-the-password")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "手机号或密码不正确" in alert.inner_text()
    page.close()

