"""A real Chromium (Debian's) driven by Playwright, against the platform started by the tests."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.clients import access_token
from tests.support.factories import new_id_card  # noqa: F401 - the page tests import it from here

# the same Chromium scripts/prerequisites.sh checks for (`make test` installs Debian's when it can)
CHROMIUM = os.environ.get("YOUFU_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: `make test` installs it (scripts/prerequisites.sh), "
                    "or `apt-get install -y chromium fonts-wqy-microhei`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def screenshots(tmp_path_factory) -> Path:
    """Screenshots land under var/screenshots of the test run (not committed)."""
    out = Path(__file__).resolve().parents[2] / "var" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


def sign_in(page, base_url: str, phone: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


# ---- helpers for the staff pages' tests: set-up through the gateway's API, checks in the page ----

class GatewayClient:
    """Signed in as one account, calling the gateway's API (set-up that the page under test does not do)."""

    def __init__(self, base_url: str, phone: str, password: str) -> None:
        import httpx

        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.http.headers["Authorization"] = f"Bearer {access_token(base_url, phone, password)}"

    def call(self, method: str, path: str, body: dict | None = None, **headers: str):
        r = self.http.request(method, path, json=body, headers=headers)
        assert r.status_code < 400, f"{method} {path} → {r.status_code} {r.text[:300]}"
        return r.json() if r.content else None


def gateway_as(platform, role: str) -> GatewayClient:
    account = platform.account(role)
    return GatewayClient(platform.url, account["phone"], account["password"])


def new_phone() -> str:
    import random

    return f"137{random.randrange(10**8):08d}"


def unlabelled_fields(page) -> list[str]:
    """Visible form fields a screen reader could not name (no <label>, no aria-label)."""
    return page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(e => e.type !== 'hidden' && e.getClientRects().length)
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
        .map(e => e.id || e.name || e.outerHTML.slice(0, 80))""")


def smallest_text_px(page) -> float:
    return page.evaluate("""() => Math.min(...[...document.querySelectorAll('body *')]
        .filter(e => e.getClientRects().length && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
        .map(e => parseFloat(getComputedStyle(e).fontSize)))""")
