"""The demo world `make up` creates on first start, across the real services: the demo elder's
two-assessor assessment reaches the vouchers service as an event and this month's vouchers appear
in the elder's wallet, seen through the gateway by the family account."""
from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.support.clients import login

pytestmark = pytest.mark.slow


def test_assessment_event_issues_this_months_vouchers(platform):
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    family = login(platform, "family")
    me = httpx.get(f"{platform.url}/api/auth/me", headers=family).json()
    assert me["elder_ids"] == [world["elder_id"]]
    wallet = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = httpx.get(f"{platform.url}/api/vouchers/wallets/{world['elder_id']}", headers=family)
        if r.status_code == 200 and r.json()["vouchers"]:
            wallet = r.json()
            break
        time.sleep(0.3)
    assert wallet is not None, "no voucher issued from the assessment event"
    kinds = {v["kind"]: v for v in wallet["vouchers"]}
    # 低保, grade 2, living alone → 社区照护券 300 yuan at 90 %, and 邻里互助券 (special hardship)
    assert kinds["community"]["face_value_fen"] == 30000 and kinds["community"]["share_bp"] == 9000
    assert "mutual_aid" in kinds
    elder = httpx.get(f"{platform.url}/api/assessment/elders/{world['elder_id']}", headers=family).json()
    assert elder["grade"] == 2 and elder["special_hardship"] is True
    assert "*" in elder["id_card"]  # the family sees the ID number masked
