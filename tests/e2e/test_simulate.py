"""`youfu simulate --scale demo` against the session's platform, through the gateway, and its report
held against what the services themselves hold afterwards: every order it says it placed is in
the officer's list with the state the report implies, every completed order is settled, this
run's voucher spend per unit equals the ledger's spend report (before and after), check-in
exceptions are on record and audited, no answer was a 5xx or an unexpected refusal, the care plans
it made had their first visits ordered and served, and the demo world (its elder, provider and
caregiver) was not touched. Around noon some elders eat at the demo meal points (their subsidies
are voucher spend of the run too); a few press the emergency button, and every alarm is closed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime

import httpx
import pytest

from shared.city import CITY_TZ, DISTRICTS
from tests.support.clients import login

pytestmark = pytest.mark.slow


def spend_by_district(c: httpx.Client, officer: dict, month: str) -> dict[str, int]:
    rows = c.get("/api/vouchers/reports/spend", headers=officer, params={"month": month, "group_by": "district"}).json()
    return {r["key"]: r["voucher_fen"] for r in rows["rows"]}


def all_orders(c: httpx.Client, officer: dict) -> list[dict]:
    out, offset = [], 0
    while True:
        page = c.get("/api/orders/orders", headers=officer, params={"limit": 500, "offset": offset}).json()
        out += page
        if len(page) < 500:
            return out
        offset += 500


@pytest.fixture(scope="module")
def run(platform, repo_root, tmp_path_factory):
    month = datetime.now(CITY_TZ).strftime("%Y-%m")
    city = login(platform, "city_officer")
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        before = spend_by_district(c, city, month)
    out = tmp_path_factory.mktemp("simulate") / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOUFU_")} | {"YOUFU_VAR_DIR": str(platform.var_dir)}
    done = subprocess.run([sys.executable, "-m", "youfu", "simulate", "--scale", "demo", "--gateway", platform.url,
                           "--seed", "3", "--json", str(out)], cwd=repo_root, env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"report": json.loads(out.read_text()), "stdout": done.stdout, "before": before, "month": month}


def test_some_elders_ate_at_the_demo_meal_points_at_noon(run):
    meals = run["report"]["meals"]
    assert meals["meal_points"] == 2 and meals["meals"] >= 3 and meals["refused"] == 0, meals
    assert meals["subsidy_fen"] > 0 and "助餐 meals at the counter" in run["stdout"]


def test_a_few_elders_pressed_the_emergency_button_and_every_alarm_was_closed(run, platform):
    alarms = run["report"]["alarms"]
    assert alarms["raised"] >= 2 and alarms["failed"] == 0, alarms
    assert alarms["closed"] == alarms["raised"] and "紧急呼叫 emergency alarms" in run["stdout"]
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        report = c.get("/api/orders/alarms/report", headers=login(platform, "city_officer"),
                       params={"month": run["month"]}).json()
    assert report["total"] >= alarms["raised"]


def test_the_run_prints_progress_and_a_report_without_errors(run):
    report, text = run["report"], run["stdout"]
    for phase in ("setup", "play", "drain", "report", "done"):
        assert f"[phase] {phase}" in text
    assert "模拟报告" in text and "接单用时" in text and "代金券消费" in text
    http = report["http"]
    assert http["errors"] == 0 and http["server_errors"] == 0, http["error_samples"]
    assert "5xx" not in http["by_class"] and "transport" not in http["by_class"]
    assert report["world"]["elders"] == 18 and len(report["world"]["elder_ids"]) == 18
    assert report["orders"]["placed"] >= 15 and report["orders"]["matched"] >= report["orders"]["placed"] // 2
    a = report["time_to_acceptance_s"]
    assert a["n"] == report["orders"]["matched"] and 0 < a["p50"] <= a["p95"]
    assert report["ledger_ok"] is True
    # a share of the elders have care plans; the spawner ordered their first visits, which were served
    plans = report["care_plans"]
    assert plans["plans"] >= 1 and plans["rules_missing"] == 0 and "护理计划 care plans" in text
    assert plans["orders_completed"] >= 1 and plans["delivery"]["placed"] >= plans["orders_completed"]


def test_orders_it_placed_are_the_officers_orders_in_the_states_it_reports(run, platform):
    report = run["report"]
    elders = set(report["world"]["elder_ids"])
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        orders = [o for o in all_orders(c, login(platform, "city_officer")) if o["elder_id"] in elders]
    placed = [o for o in orders if o["kind"] == "on_demand"]
    assert sorted(o["order_id"] for o in placed) == report["orders"]["order_ids"]
    states = Counter(o["state"] for o in placed)
    o = report["orders"]
    assert states["settled"] == o["completed"] == o["settled"]  # every completed order settled
    assert states["cancelled"] == o["cancelled"] + o["unmatched"]
    assert set(states) <= {"settled", "cancelled"}  # nothing left half-way
    assert sum(x["payment"] != "self_pay" for x in placed) == o["voucher_paid"]
    visits = [x for x in orders if x["kind"] == "visit" and x["state"] in ("completed", "settled")]
    assert len(visits) == report["visits"]["done"]


def test_voucher_spend_by_district_is_the_ledgers(run, platform):
    report = run["report"]
    elders = set(report["world"]["elder_ids"])
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        city = login(platform, "city_officer")
        after = spend_by_district(c, city, run["month"])
        orders = [o for o in all_orders(c, city) if o["elder_id"] in elders and o["state"] == "settled"]
    ours = defaultdict(int)
    for o in orders:
        ours[o["district_code"]] += o["voucher_fen"]
    for district, fen in report["meals"]["subsidy_by_district_fen"].items():  # lunch at the demo meal points
        ours[district] += fen
    delta = {k: after.get(k, 0) - run["before"].get(k, 0) for k in set(after) | set(run["before"])}
    assert {k: v for k, v in delta.items() if v} == {k: v for k, v in ours.items() if v}
    spend = report["voucher_spend"]
    assert spend["agrees"] and spend["this_run_total_fen"] == sum(ours.values()) == spend["simulated_total_fen"]
    by_district = {district: sum(kinds.values()) for district, kinds in spend["this_run_fen"].items()}
    assert by_district == {DISTRICTS[k]: v for k, v in ours.items() if v}


def test_check_in_exceptions_are_on_record_and_audited(run, platform):
    report = run["report"]
    elders = set(report["world"]["elder_ids"])
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        city = login(platform, "city_officer")
        done = [o for o in all_orders(c, city) if o["elder_id"] in elders and o["state"] == "settled"]
        details = [c.get(f"/api/orders/orders/{o['order_id']}", headers=city).json() for o in done]
    exceptions = [d for d in details if (d.get("check_in") or {}).get("outcome") == "exception"]
    assert len(exceptions) == report["check_ins"]["exceptions"]
    assert all((d["check_in"].get("exception_reason") or "") and d["check_in"]["distance_m"] > 200 for d in exceptions)
    voucher_paid = [d for d in exceptions if d["voucher_fen"] > 0]
    assert report["anomalies"]["by_rule"].get("checkin_too_far", 0) == len(voucher_paid)


def test_the_demo_world_was_not_touched(run, platform):
    report = run["report"]
    world = json.loads((platform.var_dir / "demo-world.json").read_text())
    ours = set(report["orders"]["order_ids"])
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        city = login(platform, "city_officer")
        orders = all_orders(c, city)
        offers = c.get("/api/orders/offers", headers=login(platform, "provider_admin")).json()
    assert not any(o["order_id"] in ours for o in offers)
    for o in orders:
        if o["order_id"] in ours or o["elder_id"] in set(report["world"]["elder_ids"]):
            assert o.get("provider_id") != world["provider_id"] and o.get("caregiver_id") != world["caregiver_id"]
        if o["elder_id"] == world["elder_id"]:
            assert o.get("provider_id") in (None, world["provider_id"])
    assert world["elder_id"] not in report["world"]["elder_ids"]


def test_the_day_admits_sends_on_leave_and_discharges(run, platform):
    """Its institution's three elders: admitted, one home on leave, the first one discharged; the
    beds say the same (two occupied)."""
    stays = run["report"]["stays"]
    assert (stays["admitted"], stays["on_leave"], stays["discharged"]) == (3, 1, 1)
    assert "机构托养 stays" in run["stdout"]
    with httpx.Client(base_url=platform.url, timeout=30) as c:
        city = login(platform, "city_officer")
        listed = c.get("/api/orders/stays", headers=city, params={"provider_id": stays["institution_id"]}).json()
        by_id = {s["stay_id"]: s for s in listed}
        assert set(by_id) == set(stays["stay_ids"])
        first, second, third = (by_id[x] for x in stays["stay_ids"])
        assert first["status"] == "discharged" and first["ended_on"]
        assert second["status"] == "on_leave" and third["status"] == "admitted"
        capacity = c.get("/api/providers/bed-capacity", headers=city).json()
        ours = next(i for i in capacity["institutions"] if i["provider_id"] == stays["institution_id"])
        assert (ours["occupied"], ours["capacity"]) == (2, 7)
    assert not set(stays["elder_ids"]) & set(run["report"]["world"]["elder_ids"])
