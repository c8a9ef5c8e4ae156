"""The bureau's dashboard arithmetic as tables on fixtures: ratios and "无数据", targets met at the
boundary, month boundaries and part months, the city as a sum (not a mean of ratios), snapshot
indicators only in the current month, versioned targets; the services' own counting rules (orders by
hour and time to acceptance, who is on the roster on a month's reference day); the unmet-demand cells."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import h3
import pytest

from gateway.dashboard import TARGETS_FILE
from gateway.rules import demand_map
from gateway.rules.indicators import (
    NO_DATA,
    TargetsPolicy,
    indicator_table,
    is_met,
    merge_facts,
    month_state,
    months_back,
    percent,
    ratio,
    trend,
)
from services.assessment.rules.reports import day_end_utc, overdue_before, reference_day
from services.assessment.rules.reports import month_range as roster_months
from services.orders.rules.reports import acceptance_bands, by_local_hour, month_range, rounded_points
from shared.errors import Invalid

UTC = timezone.utc
HAILING, GAOGANG = "321202", "321203"


@pytest.mark.parametrize(("num", "den", "value", "shown"), [
    (3, 4, 0.75, "75.0%"),
    (0, 5, 0.0, "0.0%"),
    (5, 0, None, NO_DATA),  # division by zero: no data, never 0 % or an error
    (0, 0, None, NO_DATA),
    (None, 4, None, NO_DATA),  # a service that did not answer
    (4, None, None, NO_DATA),
    (7, 7, 1.0, "100.0%"),
])
def test_ratio_and_its_display(num, den, value, shown):
    assert ratio(num, den) == value
    assert percent(ratio(num, den)) == shown


@pytest.mark.parametrize(("value", "target", "direction", "met"), [
    (0.70, 0.70, "at_least", True),  # exactly on the target counts as met
    (0.6999, 0.70, "at_least", False),
    (1.0, 1.0, "at_least", True),
    (0.05, 0.0, "at_most", False),
    (0.0, 0.0, "at_most", True),
    (None, 0.7, "at_least", None),  # no data: neither met nor missed
    (0.5, None, "at_least", None),  # the plan sets no target
])
def test_a_target_is_met_at_its_boundary(value, target, direction, met):
    assert is_met(value, target, direction) is met


@pytest.mark.parametrize(("month", "n", "expected"), [
    ("2026-03", 3, ["2026-01", "2026-02", "2026-03"]),
    ("2026-02", 3, ["2025-12", "2026-01", "2026-02"]),  # across a year end
    ("2026-01", 1, ["2026-01"]),
    ("2028-03", 12, [f"2027-{m:02d}" for m in range(4, 13)] + ["2028-01", "2028-02", "2028-03"]),
])
def test_months_back(month, n, expected):
    assert months_back(month, n) == expected


@pytest.mark.parametrize(("month", "today", "state"), [
    ("2026-03", date(2026, 3, 1), "current"),  # the 1st: a part month of one day
    ("2026-03", date(2026, 3, 31), "current"),  # the 31st: still part (the day is not over)
    ("2026-03", date(2026, 4, 1), "past"),
    ("2026-04", date(2026, 3, 31), "future"),
    ("2025-12", date(2026, 1, 1), "past"),
    ("2028-02", date(2028, 2, 29), "current"),  # a leap day
])
def test_month_state(month, today, state):
    assert month_state(month, today) == state


def test_a_bad_month_is_refused():
    for bad in ("2026-13", "2026-3", "26-03", "2026/03", "0000-01", "9999-12"):
        with pytest.raises(ValueError):
            months_back(bad, 1)


def _rows(month: str, district: str, **counts) -> dict:
    return {"month": month, "district_code": district, **counts}


ROSTER = [_rows("2026-03", HAILING, elders=100, hardship_elders=10, assessed=80, overdue=8),
          _rows("2026-03", GAOGANG, elders=300, hardship_elders=30, assessed=150, overdue=0),
          _rows("2026-02", HAILING, elders=90, hardship_elders=9, assessed=70, overdue=1)]
ACTIVITY = [_rows("2026-03", HAILING, hardship_due=10, hardship_visited=10, served_elders=20, meal_elders=5),
            _rows("2026-03", GAOGANG, hardship_due=30, hardship_visited=0, served_elders=30, meal_elders=0),
            _rows("2026-03", None, hardship_due=0, hardship_visited=0, served_elders=99, meal_elders=99)]
ISSUED = [{"month": "2026-03", "district_code": HAILING, "kind": "community", "issued_fen": 10000}]
SPENT = [{"month": "2026-03", "district_code": HAILING, "kind": "community", "net_fen": 2500}]
BEDS = [{"district_code": HAILING, "capacity": 10, "nursing_beds": 7}]
STREETS = [{"district_code": HAILING, "streets": [{"street": "城东街道", "centres": ["城东中心"]},
                                                  {"street": "城西街道", "centres": []}]}]


def facts(month: str, today: date) -> dict:
    return merge_facts(month, today, roster=ROSTER, activity=ACTIVITY, issued=ISSUED, spent=SPENT, beds=BEDS,
                       streets=STREETS)


def by_key(row: dict) -> dict:
    return {i["key"]: i for i in row["indicators"]}


def test_the_city_is_the_sum_of_numerators_over_the_sum_of_denominators():
    rows = indicator_table(facts("2026-03", date(2026, 3, 15)), {"visit_rate": 1.0, "home_care_coverage": 0.13},
                           kinds={"community": "社区照护券"}, nursing_target=0.7)
    city, hailing, gaogang = (by_key(r) for r in rows)
    assert [r["area"] for r in rows] == ["全市", "海陵区", "高港区"]
    # 10/10 and 0/30: the city is 10/40 = 25 %, not the mean of 100 % and 0 %
    assert (hailing["visit_rate"]["value"], gaogang["visit_rate"]["value"], city["visit_rate"]["value"]) == (1.0, 0.0, 0.25)
    assert hailing["visit_rate"]["met"] is True and city["visit_rate"]["met"] is False
    # the row without a district is left out of the city too
    assert city["home_care_coverage"]["numerator"] == 50 and city["home_care_coverage"]["value"] == 0.125
    assert city["home_care_coverage"]["met"] is False and hailing["home_care_coverage"]["met"] is True  # 20 % ≥ 13 %
    assert hailing["nursing_share"]["value"] == 0.7 and hailing["nursing_share"]["met"] is True
    assert hailing["street_centre_coverage"]["display"] == "50.0%"
    assert hailing["voucher_uptake"]["value"] == 0.25 and hailing["voucher_uptake:community"]["value"] == 0.25
    assert gaogang["voucher_uptake"]["display"] == NO_DATA  # nothing issued: no data, not 0 %
    assert gaogang["nursing_share"]["display"] == NO_DATA and gaogang["meal_reach"]["display"] == "0.0%"
    assert hailing["overdue_share"]["value"] == 0.1 and hailing["overdue_share"]["direction"] == "at_most"
    assert all(i["definition"] for i in city.values())  # every indicator carries its definition for the page


@pytest.mark.parametrize(("month", "today", "has_beds", "has_roster"), [
    ("2026-03", date(2026, 3, 15), True, True),  # the current month: beds and streets as they are now
    ("2026-02", date(2026, 3, 15), False, True),  # a past month: no history of beds, so none
    ("2026-04", date(2026, 3, 31), False, False),  # a month to come: nothing at all
])
def test_snapshots_belong_to_the_current_month_only(month, today, has_beds, has_roster):
    got = facts(month, today)
    assert ("beds" in got.get(HAILING, {})) is has_beds
    assert ("streets" in got.get(HAILING, {})) is has_beds
    assert ("elders" in got.get(HAILING, {})) is has_roster


def test_targets_are_versioned_policy_data():
    policy = TargetsPolicy.parse(TARGETS_FILE.read_text(encoding="utf-8"))
    assert policy.for_month("2024-12").targets["home_care_coverage"] == 0.13  # the plan's start …
    assert policy.for_month("2025-01").targets["home_care_coverage"] == 0.18  # … and its goal, from its day
    assert policy.for_month("2026-03").targets["visit_rate"] == 1.0
    assert policy.for_month("2026-03").h3_resolution == 8


def test_the_trend_marks_the_part_month_and_uses_each_months_targets():
    policy = TargetsPolicy.parse(TARGETS_FILE.read_text(encoding="utf-8"))
    months = ["2024-12", "2025-01"]
    by_month = {m: {HAILING: {"served_elders": 15, "elders": 100}} for m in months}
    rows = [t for t in trend(months, date(2025, 1, 10), by_month, policy) if t["key"] == "home_care_coverage"]
    assert [(t["month"], t["met"], t["part_month"]) for t in rows] == [("2024-12", True, False), ("2025-01", False, True)]


# ---- the services' counting rules --------------------------------------------------------------


def at(y, mo, d, h=0, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def test_orders_by_the_citys_hour():
    hours = by_local_hour([at(2026, 3, 1, 15, 59), at(2026, 3, 1, 16, 0), at(2026, 3, 1, 1, 30)])
    assert hours[23] == 1 and hours[0] == 1 and hours[9] == 1 and sum(hours) == 3  # UTC+8


@pytest.mark.parametrize(("minutes", "band"), [
    (0, "5 分钟内"), (4.99, "5 分钟内"), (5, "5–15 分钟"), (59.9, "30–60 分钟"), (60, "1–2 小时"),
    (1439, "6–24 小时"), (1440, "超过 24 小时"), (-3, "5 分钟内"),  # an acceptance stamped before placing: 0
])
def test_acceptance_bands_at_their_boundaries(minutes, band):
    placed = at(2026, 3, 1, 8)
    bands, median = acceptance_bands([(placed, placed + timedelta(minutes=minutes))])
    assert [b["band"] for b in bands if b["orders"]] == [band]
    assert median == round(max(0, minutes), 1)


def test_the_median_time_to_acceptance():
    placed = at(2026, 3, 1, 8)
    assert acceptance_bands([(placed, placed + timedelta(minutes=m)) for m in (1, 3, 10, 20)])[1] == 6.5
    assert acceptance_bands([])[1] is None


def test_elder_positions_leave_only_as_neighbourhood_counts():
    assert rounded_points([(32.49041, 119.92011), (32.49049, 119.92002), (None, 119.9), (32.5, 119.95)]) == [
        {"lat": 32.49, "lon": 119.92, "elders": 2}, {"lat": 32.5, "lon": 119.95, "elders": 1}]


@pytest.mark.parametrize(("first", "last", "count"), [("2025-12", "2026-02", 3), ("2026-01", "2026-12", 12)])
def test_report_month_ranges(first, last, count):
    assert len(month_range(first, last)) == count and len(roster_months(first, last)) == count


@pytest.mark.parametrize(("first", "last"), [("2026-03", "2026-02"), ("2025-01", "2026-01"), ("2026-13", "2026-12"),
                                             ("0000-01", "0000-02"), ("9999-11", "9999-12")])
def test_report_month_ranges_refused(first, last):
    with pytest.raises(Invalid):
        month_range(first, last)
    with pytest.raises(Invalid):
        roster_months(first, last)


@pytest.mark.parametrize(("month", "today", "day"), [
    ("2026-03", date(2026, 3, 15), date(2026, 3, 15)),  # the running month: today
    ("2026-02", date(2026, 3, 15), date(2026, 2, 28)),
    ("2028-02", date(2028, 3, 1), date(2028, 2, 29)),  # leap year
    ("2026-04", date(2026, 3, 31), None),  # to come
])
def test_a_months_reference_day(month, today, day):
    assert reference_day(month, today) == day


@pytest.mark.parametrize(("finalised", "overdue"), [
    (at(2025, 9, 30, 10), True),  # 09-30 local: due 03-30, before 03-31
    (at(2025, 9, 30, 15, 59), True),  # 23:59 local, the same day
    (at(2025, 9, 30, 16), False),  # 10-01 00:00 local: due 04-01, not yet
    (at(2025, 8, 31, 16), True),  # 09-01 local: due 03-01, a month overdue
    (at(2026, 3, 1), False),  # reassessed this month
])
def test_who_is_overdue_on_a_day(finalised, overdue):
    """Overdue on 2026-03-31 (6-month period): the latest finalisation made the reassessment due
    before that day. The boundary is an instant, compared in SQL with the latest finalisation."""
    cutoff = overdue_before(date(2026, 3, 31), months=6)
    assert cutoff == at(2025, 9, 30, 16)
    assert (finalised < cutoff) is overdue


@pytest.mark.parametrize(("finalised", "overdue"), [
    (at(2025, 8, 30, 16), False),  # 08-31 local: due 02-28 (the month end clamps), due today, not overdue
    (at(2025, 8, 26, 16), True),  # 08-27 local: due 02-27
])
def test_overdue_at_a_short_months_end(finalised, overdue):
    assert (finalised < overdue_before(date(2026, 2, 28), months=6)) is overdue


def test_by_a_day_means_before_its_local_midnight():
    assert day_end_utc(date(2026, 3, 31)) == at(2026, 3, 31, 16)  # 04-01 00:00 Beijing time
    assert day_end_utc(date(2028, 2, 28)) == at(2028, 2, 28, 16)  # the leap day follows


# ---- the map of unmet demand -----------------------------------------------------------------


HOME = (32.49, 119.92)
FAR = (32.93, 119.85)  # 兴化, ~49 km north
PROVIDER = {"provider_id": "p1", "name": "城中居家养老服务中心", "kind_name": "居家养老服务中心", "lat": 32.491, "lon": 119.921,
            "area_radius_m": None}


def test_unmet_cells_gather_orders_and_elders_out_of_reach():
    orders = [{"state": "unmatched", "lat": FAR[0], "lon": FAR[1]}, {"state": "cancelled", "lat": FAR[0], "lon": FAR[1]},
              {"state": "unmatched", "lat": HOME[0], "lon": HOME[1]}]
    points = [{"lat": FAR[0], "lon": FAR[1], "elders": 4}, {"lat": HOME[0], "lon": HOME[1], "elders": 9}]
    cells = demand_map.unmet_cells(orders, points, [PROVIDER], resolution=8, reach_m=3000)
    far = cells[0]
    assert far["cell"] == h3.latlng_to_cell(*FAR, 8) and len(far["boundary"]) == 6
    assert (far["unmatched"], far["cancelled"], far["elders"], far["elders_out_of_reach"], far["total"]) == (1, 1, 4, 4, 6)
    near = cells[1]
    assert (near["unmatched"], near["elders"], near["elders_out_of_reach"], near["total"]) == (1, 9, 0, 1)


@pytest.mark.parametrize(("radius", "reach_m", "covered"), [
    (None, 3000, True),  # the policy's reach; the point is 0.03° of longitude east, about 2.8 km
    (None, 2000, False),
    (5000.0, 2000, True),  # the provider's own radius wins over the policy's
    (1000.0, 9000, False),
])
def test_reach_uses_the_providers_radius_or_the_policys(radius, reach_m, covered):
    provider = PROVIDER | {"area_radius_m": radius, "lat": HOME[0], "lon": HOME[1]}
    assert demand_map.within_reach(HOME[0], HOME[1] + 0.03, [provider], reach_m) is covered


def test_a_cells_detail_lists_its_orders_and_the_nearest_providers():
    cell = h3.latlng_to_cell(*FAR, 8)
    orders = [{"order_id": "o1", "state": "unmatched", "lat": FAR[0], "lon": FAR[1]},
              {"order_id": "o2", "state": "unmatched", "lat": HOME[0], "lon": HOME[1]}]
    second = PROVIDER | {"provider_id": "p2", "lat": 32.80, "lon": 119.85}
    detail = demand_map.cell_detail(cell, orders, [PROVIDER, second], reach_m=3000, k=5)
    assert [o["order_id"] for o in detail["orders"]] == ["o1"]
    assert [p["provider_id"] for p in detail["providers"]] == ["p2", "p1"]
    assert 14_000 < detail["providers"][0]["distance_m"] < 15_000 and detail["providers"][0]["reaches"] is False
    for bad in ("not-a-cell", "8" * 20, "-1", ""):
        with pytest.raises(ValueError):
            demand_map.cell_detail(bad, orders, [PROVIDER], reach_m=3000)


def test_a_district_officers_table_is_the_district_alone():
    rows = indicator_table(facts("2026-03", date(2026, 3, 15)), {"visit_rate": 1.0}, district=HAILING)
    assert [r["area"] for r in rows] == ["海陵区"]
    assert by_key(rows[0])["visit_rate"]["value"] == 1.0
    empty = indicator_table({}, {"visit_rate": 1.0}, district=HAILING)  # nothing known yet: no data, not an error
    assert by_key(empty[0])["visit_rate"]["display"] == NO_DATA
