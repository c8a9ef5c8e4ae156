"""Bed rules: who declares beds, the versioned policy, rates against the guide, the status
transitions (reserve, occupy, release, the desk's), room gender, the place ranking, capacity."""
from __future__ import annotations

import json
import uuid
from datetime import date

import pytest

from services.providers.beds import POLICY_FILE, load_bed_policies
from services.providers.rules import beds
from services.providers.rules.beds import BedState
from services.providers.rules.registry import KINDS
from shared.errors import Conflict

A, B, S, T = (uuid.UUID(int=n) for n in (1, 2, 3, 4))
POLICY = beds.BedPolicy("t", date(2026, 1, 1), {"self_care": 8000, "nursing": 12000, "dementia": 15000}, 0.7)


@pytest.mark.parametrize(("kind", "may"), [
    ("care_institution", True), ("home_care_centre", True), ("meal_point", False), ("bathing_point", False),
    ("mutual_aid_group", False), ("home_service_company", False)])
def test_only_institutions_and_home_care_centres_declare_beds(kind, may):
    assert kind in KINDS  # the kind codes are the registry's
    assert beds.may_declare_beds(kind) is may
    problem = beds.declare_problem(kind)
    assert (problem is None) is may
    if problem:
        assert problem.status == 422 and "养老机构" in problem.detail


def test_the_shipped_policy_is_versioned_data():
    raw = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    assert all({"version", "valid_from"} <= set(v) for v in raw["versions"])
    (first, *_) = load_bed_policies()
    assert first.guide_daily_rate_fen == {"self_care": 8000, "nursing": 12000, "dementia": 15000}
    assert first.nursing_share_target == 0.70


def test_the_version_in_force_is_the_latest_begun():
    data = {"versions": [
        {"version": "b", "valid_from": "2027-01-01", "guide_daily_rate_fen": {"self_care": 9000, "nursing": 13000,
                                                                           "dementia": 16000},
         "nursing_share_target": 0.75},
        {"version": "a", "valid_from": "2026-01-01", "guide_daily_rate_fen": {"self_care": 8000, "nursing": 12000,
                                                                           "dementia": 15000},
         "nursing_share_target": 0.7}]}
    policies = beds.parse_policies(data)
    assert [p.version for p in policies] == ["a", "b"]
    for day, version in ((date(2025, 6, 1), "a"), (date(2026, 1, 1), "a"), (date(2026, 12, 31), "a"),
                         (date(2027, 1, 1), "b"), (date(2030, 1, 1), "b")):
        assert beds.policy_on(policies, day).version == version


@pytest.mark.parametrize("broken", [
    {"versions": []},
    {"versions": [{"version": "x", "valid_from": "2026-01-01", "guide_daily_rate_fen": {"self_care": 1, "nursing": 1},
                   "nursing_share_target": 0.7}]},  # a care level missing
    {"versions": [{"version": "x", "valid_from": "2026-01-01",
                   "guide_daily_rate_fen": {"self_care": 1, "nursing": 1, "dementia": 1},
                   "nursing_share_target": 70}]},  # a percentage, not a share
])
def test_a_malformed_policy_is_refused(broken):
    with pytest.raises((ValueError, KeyError)):
        beds.parse_policies(broken)


@pytest.mark.parametrize(("rates", "fields"), [
    ([("self_care", 8000), ("nursing", 12000), ("dementia", 15000)], []),  # at the guide: allowed
    ([("nursing", 0)], []),
    ([("self_care", 8001)], ["rates.0.daily_rate_fen"]),
    ([("nursing", 11000), ("dementia", 15001)], ["rates.1.daily_rate_fen"]),
    ([("nursing", 11000), ("nursing", 10000)], ["rates.1.care_level"]),
])
def test_rates_are_capped_by_the_guide_per_care_level(rates, fields):
    errors = beds.rate_problems(rates, POLICY)
    assert [e.field for e in errors] == fields
    if fields and fields[-1].endswith("daily_rate_fen"):
        assert "指导价" in errors[-1].reason and "元/天" in errors[-1].reason


# ---- status ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("bed", "application", "after"), [
    (BedState("free"), A, BedState("reserved", A)),
    (BedState("reserved", A), A, None),  # the same application again: the same success
])
def test_reserve(bed, application, after):
    assert beds.after_reserve(bed, application) == after


@pytest.mark.parametrize(("bed", "detail"), [
    (BedState("reserved", B), "该床位已被占用"),
    (BedState("occupied", B, S), "该床位已被占用"),
    (BedState("occupied", A, S), "该床位已被占用"),  # the application's own stay moved in: not free
    (BedState("out_of_service"), "该床位已停用，不能预留"),
])
def test_reserve_refused_unless_free(bed, detail):
    with pytest.raises(Conflict) as caught:
        beds.after_reserve(bed, A)
    assert caught.value.detail == detail and caught.value.extra["current_state"] == bed.status


def test_a_suspended_institution_takes_no_new_reservation_but_keeps_its_own():
    with pytest.raises(Conflict, match="暂停"):
        beds.after_reserve(BedState("free"), A, provider_open=False)
    assert beds.after_reserve(BedState("reserved", A), A, provider_open=False) is None


@pytest.mark.parametrize(("bed", "holder", "stay", "after"), [
    (BedState("reserved", A), A, S, BedState("occupied", A, S)),
    (BedState("reserved", S), S, S, BedState("occupied", S, S)),  # a transfer reserved under the stay id
    (BedState("occupied", A, S), A, S, None),  # the same stay again
])
def test_occupy(bed, holder, stay, after):
    assert beds.after_occupy(bed, holder, stay) == after


@pytest.mark.parametrize(("bed", "detail"), [
    (BedState("free"), "该床位没有为这份申请预留，请先预留"),
    (BedState("reserved", B), "该床位已被占用"),
    (BedState("occupied", B, T), "该床位已被占用"),
    (BedState("out_of_service"), "该床位已停用"),
])
def test_occupy_refused(bed, detail):
    with pytest.raises(Conflict) as caught:
        beds.after_occupy(bed, A, S)
    assert caught.value.detail == detail


@pytest.mark.parametrize(("bed", "holders", "after"), [
    (BedState("reserved", A), {A}, BedState("free")),
    (BedState("occupied", A, S), {S}, BedState("free")),
    (BedState("occupied", A, S), {A}, BedState("free")),
    (BedState("free"), {A}, None),  # released already: a retry changes nothing
    (BedState("reserved", B), {A}, None),  # someone else's reservation is left alone
    (BedState("occupied", B, T), {A, S}, None),
    (BedState("out_of_service"), {A}, None),
])
def test_release(bed, holders, after):
    assert beds.after_release(bed, holders) == after


@pytest.mark.parametrize(("bed", "status", "after"), [
    (BedState("free"), "out_of_service", BedState("out_of_service")),
    (BedState("out_of_service"), "free", BedState("free")),
    (BedState("free"), "free", None),
    (BedState("out_of_service"), "out_of_service", None),
])
def test_the_desk_takes_free_beds_out_of_service_and_back(bed, status, after):
    assert beds.after_desk_status(bed, status) == after


@pytest.mark.parametrize(("bed", "status"), [
    (BedState("reserved", A), "out_of_service"), (BedState("occupied", A, S), "out_of_service"),
    (BedState("reserved", A), "free"), (BedState("occupied", A, S), "free")])
def test_the_desk_cannot_touch_a_held_bed(bed, status):
    with pytest.raises(Conflict) as caught:
        beds.after_desk_status(bed, status)
    assert beds.STATUS_NAMES[bed.status] in caught.value.detail


@pytest.mark.parametrize(("room", "elder", "fits"), [
    (None, "female", True), (None, None, True), ("female", "female", True), ("female", "male", False),
    ("male", None, True)])
def test_room_gender(room, elder, fits):
    assert beds.room_fits(room, elder) is fits


# ---- ranking ----------------------------------------------------------------------------------

def place(n: int, *, north_m: float = 0.0, rating: float | None = None, count: int = 0, rate: int = 12000,
          guide: int = 12000) -> beds.Place:
    return beds.Place(uuid.UUID(int=n), 32.49 + north_m / 111_195.08, 119.92, rating, count, rate, guide, 1)


def order(places, **kw) -> list[int]:
    return [r.place.provider_id.int for r in beds.rank_places(places, lat=32.49, lon=119.92, limit=10, **kw)]


@pytest.mark.parametrize(("places", "expected"), [
    # nearer first, other things equal
    ([place(1, north_m=3000), place(2, north_m=500)], [2, 1]),
    # at the same distance the better rated, then the cheaper
    ([place(1, north_m=1000, rating=3.0, count=20), place(2, north_m=1000, rating=4.8, count=20)], [2, 1]),
    ([place(1, north_m=1000, rate=12000), place(2, north_m=1000, rate=9000)], [2, 1]),
    # one 5-star review does not beat twenty 4.6-star ones (the prior)
    ([place(1, north_m=1000, rating=5.0, count=1), place(2, north_m=1000, rating=4.6, count=20)], [2, 1]),
    # much cheaper and much better rated a little farther away beats the nearest
    ([place(1, north_m=800, rating=2.0, count=30, rate=12000),
      place(2, north_m=1500, rating=4.9, count=30, rate=6000)], [2, 1]),
    # equal in everything: by id, so the order is stable
    ([place(2, north_m=1000), place(1, north_m=1000)], [1, 2]),
])
def test_places_rank_by_distance_rating_and_price(places, expected):
    assert order(places) == expected


def test_ranking_answers_the_distance_and_stops_at_the_limit():
    ranked = beds.rank_places([place(n, north_m=1000 * n) for n in range(1, 6)], lat=32.49, lon=119.92, limit=3)
    assert [r.place.provider_id.int for r in ranked] == [1, 2, 3]
    assert ranked[0].distance_m == pytest.approx(1000, abs=1)
    assert 0 < ranked[-1].score < ranked[0].score <= 1


# ---- capacity ---------------------------------------------------------------------------------

def test_capacity_counts_beds_in_service_and_the_nursing_share():
    c = beds.Capacity()
    for status, level, n in (("free", "nursing", 3), ("occupied", "nursing", 4), ("reserved", "self_care", 1),
                             ("occupied", "dementia", 2), ("out_of_service", "nursing", 5)):
        c.add(status, level, n)
    figures = c.figures(0.7)
    assert figures == {"capacity": 10, "occupied": 6, "reserved": 1, "free": 3, "out_of_service": 5,
                       "nursing_beds": 7, "nursing_share": 0.7, "nursing_target_met": True}
    assert beds.Capacity().figures(0.7)["nursing_share"] is None
    c.add("free", "self_care", 1)
    assert c.figures(0.7)["nursing_target_met"] is False  # 7 of 11
