"""Issue 21, the vouchers side: a care plan's month priced against the elder's vouchers
(`POST /plan-budgets`), and the audit rule 家庭养老床位本月无上门服务 from assessment's bed events
and orders' completions. Each test works in its own district so that lists are exact."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from services.vouchers.models import HomeBedRow, HomeBedVisitRow
from shared.city import CITY_TZ
from shared.kernel_models import InboxRow
from tests.integration.vouchers_harness import (
    ASSESSMENT_TOPIC,
    MARCH_10,
    ORDERS_TOPIC,
    ledger_stays_sound,
    place_hold,
    register,
    vouchers,
)
from tests.support.waiting import wait_for

__all__ = ["vouchers", "ledger_stays_sound"]  # module fixtures, imported for pytest
JINGJIANG, TAIXING, JIANGYAN = "321282", "321283", "321204"
APRIL_2 = datetime(2026, 4, 2, 9, 0, tzinfo=CITY_TZ)


def meals(times: int, price: int = 1_500, kind: str = "community") -> dict:
    return {"service_code": "meal", "voucher_kind": kind, "unit_price_fen": price, "occurrences": times}


async def test_a_plan_month_against_an_issued_wallet_and_against_the_policy(vouchers):
    vouchers.clock.now = MARCH_10
    # dibao, grade 2, living alone: community 300 yuan a month at 90% (the default policy)
    elder = await register(vouchers, district=JINGJIANG)
    await place_hold(vouchers, elder, 10_000)  # the wallet has 300 - 90 = 210 yuan left this month
    plan = {"elder_id": str(elder), "lines": [meals(20), meals(4, 5_000, "self_pay")]}
    async with vouchers.client("service", user_id="svc:assessment") as assessment:
        march = await assessment.post("/plan-budgets", json=plan | {"month": "2026-03"})
        april = await assessment.post("/plan-budgets", json=plan | {"month": "2026-04"})
    assert march.status_code == 200, march.text
    march, april = march.json(), april.json()
    # 20 meals: 20 × 1350 = 27000 of voucher share, but the wallet holds 21000 now
    assert (march["occurrences"], march["total_fen"], march["voucher_fen"], march["self_fen"]) == (24, 50_000, 21_000, 29_000)
    assert march["over_budget"] and march["over_budget_fen"] == 6_000
    assert march["kinds"] == [{"voucher_kind": "community", "kind_name": "社区照护券", "share_bp": 9_000, "cap_fen": 21_000,
                               "cap_source": "wallet", "share_fen": 27_000, "voucher_fen": 21_000, "cut_fen": 6_000}]
    assert march["summary_zh"] == "每月计划 24 次，约 500 元：代金券 210 元，自付 290 元"
    # April is not issued yet: the policy's face value, 300 yuan, covers the share
    assert (april["voucher_fen"], april["self_fen"], april["over_budget"]) == (27_000, 23_000, False)
    assert april["kinds"][0]["cap_source"] == "policy" and april["kinds"][0]["cap_fen"] == 30_000
    assert [line["voucher_fen"] for line in april["lines"]] == [27_000, 0]
    async with vouchers.client("officer", district=JINGJIANG) as officer:
        assert (await officer.post("/plan-budgets", json=plan | {"month": "2026-04"})).json() == april
    async with vouchers.client("officer", district=TAIXING) as other:
        assert (await other.post("/plan-budgets", json=plan | {"month": "2026-04"})).status_code == 404
    for role in ("elder", "family", "assessor", "provider_admin"):
        async with vouchers.client(role, elder_ids=[str(elder)], district=JINGJIANG) as refused:
            assert (await refused.post("/plan-budgets", json=plan | {"month": "2026-04"})).status_code == 403, role


async def test_a_plan_month_for_an_elder_without_vouchers(vouchers):
    vouchers.clock.now = MARCH_10
    elder = await register(vouchers, district=JINGJIANG, economic="none", expect_vouchers=0)  # no hardship status
    async with vouchers.client("city_officer") as city:
        r = await city.post("/plan-budgets", json={"elder_id": str(elder), "month": "2026-03", "lines": [meals(8)]})
        assert r.status_code == 200, r.text
        assert (r.json()["voucher_fen"], r.json()["self_fen"], r.json()["over_budget"]) == (0, 12_000, True)
        assert r.json()["kinds"][0]["cap_source"] == "none"
        assert r.json()["summary_zh"] == "每月计划 8 次，约 120 元：代金券 0 元，自付 120 元"
        unknown = await city.post("/plan-budgets", json={"elder_id": str(uuid.uuid4()), "month": "2026-03",
                                                         "lines": [meals(8)]})
        assert unknown.status_code == 404
        bad = await city.post("/plan-budgets", json={"elder_id": str(elder), "month": "2026-13", "lines": [meals(8)]})
        assert bad.status_code == 422


async def _open_bed(vouchers, elder: uuid.UUID, provider: uuid.UUID, opened_on: str) -> uuid.UUID:
    bed = uuid.uuid4()
    await vouchers.publish(ASSESSMENT_TOPIC, "youfu.homebed.opened.v1", str(elder), {
        "bed_id": str(bed), "elder_id": str(elder), "plan_id": str(uuid.uuid4()), "provider_id": str(provider),
        "opened_on": opened_on, "package": {"visits_per_week": 2, "remote_monitoring": True}})
    return bed


async def _visit(vouchers, elder: uuid.UUID, provider: uuid.UUID, completed_at: str, district: str, *,
                 kept: bool = True) -> None:
    """A self-paid order completed (no hold): a visit all the same when it is the bed's provider's."""
    order = str(uuid.uuid4())
    event = await vouchers.publish(ORDERS_TOPIC, "youfu.order.completed.v1", order, {
        "order_id": order, "elder_id": str(elder), "provider_id": str(provider), "district_code": district,
        "hold_id": None, "service_code": "home_care", "amount_fen": 8_000, "voucher_fen": 0, "duration_min": 60,
        "caregiver_id": str(uuid.uuid4()), "completed_at": completed_at})

    async def handled():
        return await vouchers.scalar(sa.select(sa.func.count()).select_from(InboxRow).where(InboxRow.event_id == event.id))

    await wait_for(handled, what=f"order {order} completed, handled")
    stored = await vouchers.scalar(sa.select(sa.func.count()).select_from(HomeBedVisitRow).where(
        HomeBedVisitRow.order_id == uuid.UUID(order)))
    assert stored == (1 if kept else 0)


async def test_a_home_bed_without_a_visit_in_a_month_is_a_finding(vouchers):
    vouchers.clock.now = MARCH_10
    quiet, visited, closed = [await register(vouchers, district=JIANGYAN) for _ in range(3)]
    provider = uuid.uuid4()
    quiet_bed = await _open_bed(vouchers, quiet, provider, "2026-03-05")
    await _open_bed(vouchers, visited, provider, "2026-03-31")
    closed_bed = await _open_bed(vouchers, closed, provider, "2026-02-01")
    await vouchers.publish(ASSESSMENT_TOPIC, "youfu.homebed.closed.v1", str(closed), {
        "bed_id": str(closed_bed), "elder_id": str(closed), "closed_on": "2026-03-01", "reason": "老人入住养老机构"})

    async def recorded():
        beds = (await vouchers.scalar(sa.select(sa.func.count()).select_from(HomeBedRow).where(
            HomeBedRow.elder_id.in_([quiet, visited, closed]))))
        closing = await vouchers.scalar(sa.select(HomeBedRow.closed_on).where(HomeBedRow.bed_id == closed_bed))
        return beds == 3 and closing is not None

    await wait_for(recorded, what="three beds, one closed")
    await _visit(vouchers, visited, provider, "2026-03-31T15:59:00+00:00", JIANGYAN)  # 23:59 on the 31st, Shanghai
    await _visit(vouchers, quiet, uuid.uuid4(), "2026-03-20T02:00:00+00:00", JIANGYAN, kept=False)  # another provider
    async with vouchers.client("officer", district=JIANGYAN) as officer:
        # March is not over yet: its beds are not judged
        assert not [f for f in (await officer.get("/anomalies", params={"month": "2026-03"})).json()
                    if f["rule"] == "home_bed_no_visit"]
        vouchers.clock.now = APRIL_2
        found = [f for f in (await officer.get("/anomalies", params={"month": "2026-03"})).json()
                 if f["rule"] == "home_bed_no_visit"]
        assert [(f["elder_id"], f["provider_id"], f["key"], f["title"]) for f in found] == [
            (str(quiet), str(provider), f"home_bed_no_visit:{quiet_bed}|2026-03", "家庭养老床位本月无上门服务")]
        assert found[0]["district_code"] == JIANGYAN and found[0]["amount_fen"] == 0
        r = await officer.post(f"/anomalies/{found[0]['finding_id']}/actions", json={"action": "reverse", "reason": "核实"})
        assert r.status_code == 409  # nothing was paid for a visit that did not happen
        # February: the closed bed was open all month without a visit; the others were not open yet
        february = [f["elder_id"] for f in (await officer.get("/anomalies", params={"month": "2026-02"})).json()
                    if f["rule"] == "home_bed_no_visit"]
        assert february == [str(closed)]
        # a visit read late clears an open finding on the next run
        await _visit(vouchers, quiet, provider, "2026-03-06T02:00:00+00:00", JIANGYAN)
        again = [f for f in (await officer.get("/anomalies", params={"month": "2026-03"})).json()
                 if f["rule"] == "home_bed_no_visit"]
        assert again == []
    async with vouchers.client("officer", district=TAIXING) as other:
        assert not [f for f in (await other.get("/anomalies", params={"month": "2026-02"})).json()
                    if f["rule"] == "home_bed_no_visit"]
