"""The simulator's pure city and day generator (youfu/simulate): sizes, proportions, valid
identifiers, the keep-clear circle around the demo world, the day's two peaks, and fates."""
from __future__ import annotations

import math
import re
from collections import Counter
from datetime import date

import pytest

from services.assessment.rules.idcard import id_card_facts, validate_id_card
from services.providers.rules.credit_code import is_valid_credit_code
from shared.city import haversine_m
from youfu.simulate import day as D
from youfu.simulate import people as P
from youfu.simulate.city import SCALES, apportion, generate_world
from youfu.simulate.places import DISTRICTS, KeepClear

TODAY = date(2026, 3, 15)
DEMO_WORLD = KeepClear(32.484, 119.916)  # the demo provider of youfu/seed.py


def world(scale: str = "town", seed: int = 1, keep=(DEMO_WORLD,)):
    return generate_world(SCALES[scale], seed=seed, run_tag=4321, keep_clear=keep, today=TODAY)


@pytest.fixture(scope="module")
def city():
    return world("city")


@pytest.mark.parametrize("total, weights, minimum, expected", [
    (10, [1, 1, 1], 0, [4, 3, 3]),
    (5, [0.2, 0.8], 1, [1, 4]),
    (2, [1, 1, 1], 1, [1, 1, 0]),
    (18, [d.weight for d in DISTRICTS], 1, [4, 2, 3, 4, 2, 3]),
    (0, [1, 2], 0, [0, 0]),
])
def test_apportion_splits_by_weight_with_largest_remainders(total, weights, minimum, expected):
    assert apportion(total, weights, minimum) == expected
    assert sum(apportion(total, weights, minimum)) == total


@pytest.mark.parametrize("scale", ["demo", "town", "city", "soak"])
def test_each_scale_has_its_sizes_and_every_unit_has_elders(scale):
    w = world(scale)
    s = SCALES[scale]
    assert (len(w.elders), len(w.providers), len(w.caregivers)) == (s.elders, s.providers, s.caregivers)
    by_district = w.elders_by_district()
    assert by_district == dict(zip([d.code for d in DISTRICTS], apportion(s.elders, [d.weight for d in DISTRICTS], 1)))
    assert all(n >= 1 for n in by_district.values())
    assert {c.provider for c in w.caregivers} == {p.index for p in w.providers}  # nobody is unstaffed
    for c in w.caregivers:
        assert set(c.skills) <= set(w.providers[c.provider].services)
        assert c.daily_limit == s.daily_limit


def test_same_seed_same_city_other_seed_other_city():
    assert world(seed=3) == world(seed=3)
    assert [e.lat for e in world(seed=3).elders] != [e.lat for e in world(seed=4).elders]


@pytest.mark.parametrize("field, shares, tolerance", [
    ("economic_status", P.ECONOMIC_SHARES, 0.04),
    ("grade", P.GRADE_SHARES, 0.04),
    ("living_situation", P.LIVING_SHARES, 0.04),
    ("household", None, None),
])
def test_proportions_are_the_documented_ones(city, field, shares, tolerance):
    counts = Counter(getattr(e, field) for e in city.elders)
    if shares is None:  # who orders: the elder's own app only under 85 and grade 0–2
        assert all(e.grade <= 2 for e in city.elders if e.household == "self")
        assert 0.30 < counts["hotline"] / len(city.elders) < 0.50
        return
    for key, share in shares.items():
        assert abs(counts[key] / len(city.elders) - share) < tolerance, (key, counts[key])


def test_identifiers_are_valid_and_unique(city):
    cards = [e.id_card for e in city.elders]
    assert len(set(cards)) == len(cards)
    for e in city.elders[:400]:
        validate_id_card(e.id_card, birth_date=e.birth_date, today=TODAY)
        facts = id_card_facts(e.id_card)
        assert facts.gender.value == e.gender and e.id_card.startswith(e.district_code)
        assert (TODAY - e.birth_date).days // 365 >= 60
        total_low, total_high = P.GRADE_TOTALS[e.grade]
        assert total_low <= e.total <= total_high
    phones = [e.phone for e in city.elders] + [e.family_phone for e in city.elders if e.family_phone]
    phones += [p.admin_phone for p in city.providers] + [c.phone for c in city.caregivers]
    assert len(set(phones)) == len(phones) and all(re.fullmatch(r"1[3-9]\d{9}", x) for x in phones)
    codes = [p.credit_code for p in city.providers]
    assert len(set(codes)) == len(codes) and all(is_valid_credit_code(c) for c in codes)


def test_another_run_tag_gives_other_phones_and_codes():
    a, b = world("demo"), generate_world(SCALES["demo"], seed=1, run_tag=1234, keep_clear=(DEMO_WORLD,), today=TODAY)
    assert not {e.phone for e in a.elders} & {e.phone for e in b.elders}
    assert not {p.credit_code for p in a.providers} & {p.credit_code for p in b.providers}


@pytest.mark.parametrize("scale", ["demo", "town", "city"])
def test_nobody_simulated_comes_near_the_demo_world(scale):
    w = world(scale)
    for e in w.elders:  # out of reach of any caregiver living inside the circle
        assert haversine_m(DEMO_WORLD.lat, DEMO_WORLD.lon, e.lat, e.lon) >= DEMO_WORLD.reach_m
    for c in w.caregivers:  # and no simulated caregiver reaches the people inside it (a provider's
        # area may: an order needs both the area and a caregiver whose own radius reaches it)
        assert haversine_m(DEMO_WORLD.lat, DEMO_WORLD.lon, c.lat, c.lon) - c.radius_m >= DEMO_WORLD.people_m


def test_without_a_demo_world_hailing_elders_live_in_its_streets():
    w = world("town", keep=())
    hailing = [e for e in w.elders if e.district_code == "321202"]
    assert sum(haversine_m(32.49, 119.92, e.lat, e.lon) < 5000 for e in hailing) > len(hailing) / 2


def test_dense_town_quarters_and_sparse_countryside(city):
    urban = [e for e in city.elders if not e.rural]
    rural = [e for e in city.elders if e.rural]
    assert urban and rural

    def spread(group):  # mean distance to the group's own place centre
        by_place = {}
        for e in group:
            by_place.setdefault((e.district_code, e.street), []).append(e)
        out = []
        for members in by_place.values():
            lat = sum(e.lat for e in members) / len(members)
            lon = sum(e.lon for e in members) / len(members)
            out += [haversine_m(lat, lon, e.lat, e.lon) for e in members]
        return sum(out) / len(out)

    assert spread(urban) < spread(rural)
    radii = {c.radius_m for c in city.caregivers}
    assert 9000 in radii and 5000 in radii  # countryside caregivers ride further


def test_most_elders_have_someone_in_reach(city):
    def reachable(e):
        return any(haversine_m(c.lat, c.lon, e.lat, e.lon) <= c.radius_m
                   and haversine_m(city.providers[c.provider].lat, city.providers[c.provider].lon, e.lat, e.lon)
                   <= city.providers[c.provider].area_radius_m for c in city.caregivers)
    assert sum(map(reachable, city.elders)) / len(city.elders) > 0.85


@pytest.mark.parametrize("total", [90, 89, 66, 65, 46, 45, 30, 29, 12, 0, 200])
def test_item_scores_add_up_to_the_total_within_allowed_values(total):
    items = [("eating", [0, 1, 2, 3, 4]), ("stairs", [0, 1, 2, 3]), ("aggression", [0, 1]), ("consciousness", [0, 1, 2]),
             *[(f"x{i}", [0, 1, 2, 3, 4]) for i in range(20)]]
    best = sum(max(a) for _, a in items)
    scores = item_scores_of(items, total)
    assert sum(scores.values()) == min(best, max(total, 2))
    assert scores["consciousness"] == 2
    assert all(scores[code] in allowed for code, allowed in items)


def item_scores_of(items, total):
    return P.item_scores(items, total, frozenset({"consciousness"}))


def test_day_has_a_morning_and_a_noon_peak():
    shares = D.hourly_shares()
    assert math.isclose(sum(shares), 1.0, abs_tol=1e-6)
    hour = {6 + i: s for i, s in enumerate(shares)}
    assert hour[8] > 2 * hour[12] and hour[10] > 2 * hour[12]  # 08:00–09:00 and 10:00–11:00 against noon's lull
    assert max(hour, key=hour.get) == 10  # meals for the 11:00 round
    plan = D.plan_day(world("city"))
    placed = Counter(int(p.at_s // 3600) + 6 for p in plan)
    assert placed[8] > placed[12] and placed[10] > placed[12] and placed[10] > placed[13]


def test_meals_are_for_the_eleven_or_five_oclock_round():
    for p in D.plan_day(world("town")):
        if p.service == "meal":
            starts = D.DAY_START_H + p.at_s / 3600 + p.lead_min / 60
            assert min(abs(starts - 11), abs(starts - 17)) < 0.05 or p.lead_min == 10, p


def test_order_volume_follows_propensity_and_boost(city):
    plan = D.plan_day(city)
    expected = sum(e.propensity for e in city.elders) * SCALES["city"].boost
    assert abs(len(plan) - expected) < 4 * math.sqrt(expected)
    assert [p.seq for p in plan] == list(range(len(plan))) and plan == sorted(plan, key=lambda p: p.at_s)


@pytest.mark.parametrize("attribute, rate", [
    (lambda f: f.cancel == "early", D.P_CANCEL_EARLY), (lambda f: f.cancel == "late", D.P_CANCEL_LATE),
    (lambda f: f.declines > 0, D.P_ONE_DECLINE + D.P_TWO_DECLINES), (lambda f: f.offsite, D.P_OFFSITE),
    (lambda f: f.rating > 0, D.P_REVIEW),
])
def test_fates_come_at_their_rates(attribute, rate):
    import random

    rng = random.Random(7)
    fates = [D.fate(rng, "clean") for _ in range(20_000)]
    assert abs(sum(map(attribute, fates)) / len(fates) - rate) < 0.01


@pytest.mark.parametrize("status, grade, service, expected", [
    ("none", 3, "meal", {"self_pay"}),
    ("dibao", 2, "meal", {"community"}),
    ("dibao", 0, "meal", {"self_pay"}),
    ("tekun", 2, "companionship", {"community", "mutual_aid"}),
])
def test_payment_follows_the_default_voucher_policy(status, grade, service, expected):
    import random
    from dataclasses import replace

    e = replace(world("demo").elders[0], economic_status=status, grade=grade, living_situation="alone")
    rng = random.Random(1)
    assert {D.payment_for(e, service, rng) for _ in range(50)} == expected


def test_city_peak_rate_is_derived_from_the_documented_figures():
    peak = P.CITY_PLATFORM_ELDERS * P.mean_propensity() * max(D.hourly_shares()) / 3600
    assert P.CITY_PLATFORM_ELDERS == 169_000  # 13 % of 1.3 million
    assert math.isclose(D.city_peak_orders_per_s(), peak)
    assert 2.0 < peak < 3.0  # some 33,000 orders a day, a quarter of them in the busiest hour


def test_steady_traffic_arrives_at_its_rate():
    w = world("soak")
    orders = list(D.steady_orders(w, rate_per_s=5.0, duration_s=200))
    assert abs(len(orders) - 1000) < 4 * math.sqrt(1000)
    assert all(0 < o.at_s < 200 for o in orders) and all(o.lead_min <= 90 for o in orders)


def test_id_numbers_move_with_the_run_tag_and_keep_their_gender():
    a, b = world("demo"), generate_world(SCALES["demo"], seed=1, run_tag=1234, keep_clear=(DEMO_WORLD,), today=TODAY)
    assert [e.birth_date for e in a.elders] == [e.birth_date for e in b.elders]  # same seed, same people
    assert not {e.id_card for e in a.elders} & {e.id_card for e in b.elders}  # a repeated run registers no clash
    for e in a.elders + b.elders:
        assert 100 <= e.id_seq <= 989
        validate_id_card(e.id_card, birth_date=e.birth_date, today=TODAY)
        assert id_card_facts(e.id_card).gender.value == e.gender


def test_demo_caregivers_have_no_accounts_of_their_own():
    assert SCALES["demo"].caregiver_accounts is False
    assert all(SCALES[s].caregiver_accounts for s in ("town", "city", "full", "soak"))


def test_staff_kept_for_the_same_platform_only(tmp_path):
    import os
    from types import SimpleNamespace

    from youfu.simulate import staff

    path = tmp_path / "simulation-staff.json"
    assert staff.load(path, "admin-1") == []
    kept = [{"role": "officer", "district_code": "321202", "name": "海陵区民政 模拟科员1", "phone": "19000150001",
             "password": "sim-x", "session": SimpleNamespace(refresh="r-new")},
            {"role": "assessor", "district_code": "321203", "name": "高港区 模拟评估员1", "phone": "19000150002",
             "password": "sim-y", "refresh_token": "r-old"}]
    staff.save(path, "admin-1", kept)
    assert os.stat(path).st_mode & 0o777 == 0o600  # passwords and tokens: the owner's only
    loaded = staff.load(path, "admin-1")
    assert [(x["phone"], x["refresh_token"]) for x in loaded] == [("19000150001", "r-new"), ("19000150002", "r-old")]
    assert staff.load(path, "admin-2") == []  # another platform (new databases): start afresh
    path.write_text("not json")
    assert staff.load(path, "admin-1") == []
