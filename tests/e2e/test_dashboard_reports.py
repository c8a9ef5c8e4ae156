"""The reports behind the bureau's dashboard, through the gateway on the running platform: each
service scopes its report in the query (a district officer gets the district, naming another is
403; the city officer gets every district), the gateway's indicator table and map data are built
from them, and every dataset downloads as a workbook with Chinese headers."""
from __future__ import annotations

import io
from datetime import datetime

import h3
import httpx
import pytest
from openpyxl import load_workbook

from shared.city import CITY_TZ, DISTRICTS
from tests.support.clients import login

pytestmark = pytest.mark.slow
HAILING, GAOGANG = "321202", "321203"


@pytest.fixture(scope="module")
def http(platform):
    with httpx.Client(base_url=platform.url, timeout=60) as c:
        yield c


def test_each_services_report_is_scoped_in_its_query(platform, http):
    officer, city = login(platform, "officer"), login(platform, "city_officer")
    month = datetime.now(CITY_TZ).strftime("%Y-%m")
    span = {"from_month": month, "to_month": month}
    for path, params in (("/api/assessment/reports/indicators", span), ("/api/orders/reports/indicators", span),
                         ("/api/vouchers/reports/issued", span), ("/api/orders/reports/activity", {"month": month}),
                         ("/api/orders/reports/unmet", {"month": month}), ("/api/providers/reports/coverage", {})):
        mine = http.get(path, params=params, headers=officer)
        assert mine.status_code == 200, (path, mine.text)
        assert mine.json()["district_code"] == HAILING, path
        assert all(r["district_code"] in (HAILING, None) for r in mine.json().get("rows", [])), path
        other = http.get(path, params=params | {"district_code": GAOGANG}, headers=officer)
        assert other.status_code == 403, (path, other.status_code)
        assert http.get(path, params=params | {"district_code": GAOGANG}, headers=city).status_code == 200, path
    roster = http.get("/api/assessment/reports/indicators", params=span, headers=officer).json()["rows"]
    hailing = next(r for r in roster if r["district_code"] == HAILING)
    assert hailing["elders"] >= 1 and hailing["assessed"] <= hailing["elders"]  # the demo elders
    coverage = http.get("/api/providers/reports/coverage", headers=officer).json()
    assert [d["district_code"] for d in coverage["districts"]] == [HAILING]
    assert {s["street"] for s in coverage["districts"][0]["streets"]} >= {"城东街道", "苏陈镇"}
    assert coverage["providers"] and all(p["lat"] is not None for p in coverage["providers"])
    city_coverage = http.get("/api/providers/reports/coverage", headers=city).json()
    assert [d["district_code"] for d in city_coverage["districts"]] == list(DISTRICTS)
    activity = http.get("/api/orders/reports/activity", params={"month": month}, headers=officer).json()
    assert len(activity["by_hour"]) == 24 and sum(h["orders"] for h in activity["by_hour"]) == activity["orders"]
    bad = http.get("/api/orders/reports/indicators", params={"from_month": month, "to_month": "2019-01"}, headers=officer)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "from_month"


def test_the_gateway_builds_the_indicators_and_exports_every_dataset(platform, http):
    officer, city = login(platform, "officer"), login(platform, "city_officer")
    month = datetime.now(CITY_TZ).strftime("%Y-%m")
    mine = http.get("/api/dashboard/indicators", params={"month": month}, headers=officer).json()
    assert [r["area"] for r in mine["rows"]] == ["海陵区"] and mine["part_month"] is True and mine["missing"] == []
    keys = {i["key"] for i in mine["rows"][0]["indicators"]}
    assert {"visit_rate", "nursing_share", "meal_reach", "home_care_coverage", "assessment_coverage", "overdue_share",
            "voucher_uptake", "street_centre_coverage"} <= keys
    assert len({t["month"] for t in mine["trend"]}) == 12
    whole = http.get("/api/dashboard/indicators", params={"month": month}, headers=city).json()
    assert whole["rows"][0]["area"] == "全市"
    streets = next(i for i in whole["rows"][0]["indicators"] if i["key"] == "street_centre_coverage")
    assert streets["denominator"] >= 9 and streets["target_display"] == "≥ 100%"
    future = http.get("/api/dashboard/indicators", params={"month": "2999-01"}, headers=city).json()
    assert future["state"] == "future" and all(i["display"] == "无数据" for i in future["rows"][0]["indicators"])
    headers = {"indicators": "区域", "trend": "月份", "spend": "月份", "hours": "下单时段", "acceptance": "从下单到接单",
               "unmet": "地图单元（h3）"}
    for dataset, first in headers.items():
        r = http.get("/api/dashboard/export", params={"dataset": dataset, "month": month}, headers=city)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats"), dataset
        sheet = load_workbook(io.BytesIO(r.content)).active
        assert sheet.cell(1, 1).value == first, dataset
    r = http.get("/api/dashboard/export", params={"dataset": "everything"}, headers=city)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "dataset"
    caregiver = login(platform, "caregiver")
    assert http.get("/api/dashboard/indicators", headers=caregiver).status_code == 403
    centre = http.get(f"/api/dashboard/unmet/{h3.latlng_to_cell(32.49, 119.92, 8)}", headers=city)
    assert centre.status_code == 200 and centre.json()["providers"][0]["distance_m"] >= 0
    assert http.get("/api/dashboard/unmet/nonsense", headers=city).status_code == 404
