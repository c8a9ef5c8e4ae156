"""Issue 23: fifty counters scan one elder's code at the same moment (fifty devices: fifty
Idempotency-Keys) through the gateway and the real processes: one meal is made, one subsidy is
taken, the other 49 are told 409 "已使用"; the ledger check passes after."""
from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx
import pytest

from tests.faults.harness import ledger_check, login, ok
from tests.support.meals import counter, meal_point_id, redemption

pytestmark = pytest.mark.slow
SCANS = 50


async def test_fifty_concurrent_scans_of_one_code_make_one_meal(fault_platform):
    p = fault_platform
    elder_id, point = p.world["elder_id"], meal_point_id(p, 1)
    desk = counter(p, 1)
    async with httpx.AsyncClient(base_url=p.url, timeout=60) as c:
        r = await c.get(f"/api/orders/elders/{elder_id}/meal-code", headers=login(p, "elder"))
        body = redemption(ok(r)["code"], method="scanned")
        before = ok(await c.get(f"/api/orders/meal-points/{point}/redemptions", headers=desk))
        wallet_before = ok(await c.get(f"/api/vouchers/wallets/{elder_id}", headers=login(p, "officer")))

    limits = httpx.Limits(max_connections=SCANS)
    async with httpx.AsyncClient(base_url=p.url, timeout=60, limits=limits) as c:
        await asyncio.gather(*(c.get("/") for _ in range(10)))  # connections open before the moment
        go = asyncio.Event()

        async def scan() -> httpx.Response:
            await go.wait()
            return await c.post(f"/api/orders/meal-points/{point}/redemptions",
                                headers={**desk, "Idempotency-Key": str(uuid.uuid4())}, json=body)

        tasks = [asyncio.create_task(scan()) for _ in range(SCANS)]
        await asyncio.sleep(0.05)
        go.set()
        answers = await asyncio.gather(*tasks)

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: 1, 409: SCANS - 1}, statuses
    assert all("已使用" in a.json()["detail"] for a in answers if a.status_code == 409)
    meal = next(a.json() for a in answers if a.status_code == 201)

    async with httpx.AsyncClient(base_url=p.url, timeout=60) as c:
        after = ok(await c.get(f"/api/orders/meal-points/{point}/redemptions", headers=desk))
        assert len(after) == len(before) + 1
        assert [m["redemption_id"] for m in after if m not in before] == [meal["redemption_id"]]
        history = ok(await c.get(f"/api/vouchers/wallets/{elder_id}/history", headers=login(p, "officer")))["entries"]
        taken = [e for e in history if e["order_id"] == meal["redemption_id"]]
        assert -sum(e["available_change_fen"] for e in taken) == meal["subsidy_fen"]
        wallet_after = ok(await c.get(f"/api/vouchers/wallets/{elder_id}", headers=login(p, "officer")))
    community = {w["kind"]: w for w in wallet_before["vouchers"]}["community"]
    community_after = {w["kind"]: w for w in wallet_after["vouchers"]}["community"]
    assert community["available_fen"] - community_after["available_fen"] == meal["subsidy_fen"]
    await ledger_check(p)
