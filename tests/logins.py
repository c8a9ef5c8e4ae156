"""Signing in through the gateway, for tests that drive a whole platform (the session `platform`
of tests/conftest.py, or a FaultPlatform): anything with `.url` and `.account(role)`."""
from __future__ import annotations

import httpx


def login_as(platform, phone: str, password: str) -> dict[str, str]:
    r = httpx.post(f"{platform.url}/api/auth/login", json={"phone": phone, "password": password}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def login(platform, role: str) -> dict[str, str]:
    """The bearer header of the platform's demo account for `role`."""
    account = platform.account(role)
    return login_as(platform, account["phone"], account["password"])
