"""Signed-in callers. Through the gateway, for tests that drive a whole platform (the session
`platform` of tests/conftest.py, or a FaultPlatform: anything with `.url` and `.account(role)`):
the demo accounts sign in with their passwords. In front of one service under test (the
integration harnesses): `SignedClients` carries tokens minted with the session's `make_token`."""
from __future__ import annotations

import json
from collections.abc import Callable

import httpx


def access_token(base_url: str, phone: str, password: str) -> str:
    """Sign in through the gateway at `base_url`; the access token."""
    r = httpx.post(f"{base_url}/api/auth/login", json={"phone": phone, "password": password}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def access_tokens(platform, roles) -> dict[str, str]:
    """The access token of the platform's demo account for each of `roles`."""
    tokens = {}
    for role in roles:
        account = platform.account(role)
        tokens[role] = access_token(platform.url, account["phone"], account["password"])
    return tokens


def login_as(platform, phone: str, password: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token(platform.url, phone, password)}"}


def login(platform, role: str) -> dict[str, str]:
    """The bearer header of the platform's demo account for `role`."""
    account = platform.account(role)
    return login_as(platform, account["phone"], account["password"])


class SignedClients:
    """For a harness with `url`, `make_token` (the session fixture) and a `tokens` dict: bearer
    headers and httpx clients for a role and principal fields (`user_id`, `district`,
    `provider_id`, …), each token minted once."""

    url: str
    make_token: Callable[..., str]
    tokens: dict[str, str]

    def headers(self, role: str, **fields) -> dict[str, str]:
        key = json.dumps([role, sorted(fields.items())], default=str)
        if key not in self.tokens:
            self.tokens[key] = self.make_token(role, **fields)
        return {"Authorization": f"Bearer {self.tokens[key]}"}

    def client(self, role: str = "admin", *, url: str | None = None, **fields) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=url or self.url, headers=self.headers(role, **fields), timeout=60)
