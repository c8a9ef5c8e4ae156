"""Haversine against geopy, and the check-in distance rule at its boundary."""
from __future__ import annotations

import random

import pytest
from geopy.distance import geodesic, great_circle

from services.orders.rules.checkin import CheckInOutcome, check_in_decision
from shared.city import haversine_m
from shared.errors import Invalid

HAILING = (32.49, 119.92)  # 海陵区 centre (docs/domain.md)
XINGHUA = (32.93, 119.85)  # 兴化市 centre


def test_zero_and_symmetry():
    assert haversine_m(*HAILING, *HAILING) == 0.0
    assert haversine_m(*HAILING, *XINGHUA) == pytest.approx(haversine_m(*XINGHUA, *HAILING), rel=1e-12)


def test_one_degree_of_latitude_is_about_111_km():
    assert haversine_m(32.0, 120.0, 33.0, 120.0) == pytest.approx(111_195, abs=5)


def test_agrees_with_geopy_great_circle_on_random_pairs_in_taizhou():
    rng = random.Random(42)
    for _ in range(500):
        a = (rng.uniform(31.9, 33.3), rng.uniform(119.6, 120.5))
        b = (a[0] + rng.uniform(-0.02, 0.02), a[1] + rng.uniform(-0.02, 0.02))
        # geopy's sphere is 6371.009 km against our 6371.0088 km: a 3e-8 relative difference.
        assert haversine_m(*a, *b) == pytest.approx(great_circle(a, b).meters, rel=1e-7, abs=1e-6)


def test_within_half_a_percent_of_the_wgs84_geodesic():
    rng = random.Random(7)
    for _ in range(200):
        a = (rng.uniform(31.9, 33.3), rng.uniform(119.6, 120.5))
        b = (rng.uniform(31.9, 33.3), rng.uniform(119.6, 120.5))
        assert haversine_m(*a, *b) == pytest.approx(geodesic(a, b).meters, rel=5e-3)


def test_county_centres_are_about_49_km_apart():
    assert haversine_m(*HAILING, *XINGHUA) == pytest.approx(geodesic(HAILING, XINGHUA).meters, rel=5e-3)
    assert 48_000 < haversine_m(*HAILING, *XINGHUA) < 50_000


@pytest.mark.parametrize(
    ("distance_m", "reason", "outcome", "shown"),
    [
        (0, None, CheckInOutcome.ACCEPTED, 0),
        (199, None, CheckInOutcome.ACCEPTED, 199),
        (200, None, CheckInOutcome.ACCEPTED, 200),
        (200.49, None, CheckInOutcome.ACCEPTED, 200),  # shown as 200 米, so it is within 200 米
        (200.5, None, CheckInOutcome.REFUSED, 201),
        (201, None, CheckInOutcome.REFUSED, 201),
        (201, "老人住址定位偏差，实际已到门口", CheckInOutcome.EXCEPTION, 201),
        (201, "   ", CheckInOutcome.REFUSED, 201),  # a blank reason is no reason
        (356, None, CheckInOutcome.REFUSED, 356),
        (5_000, "老人临时住在女儿家", CheckInOutcome.EXCEPTION, 5_000),
    ],
)
def test_check_in_at_the_200_m_boundary(distance_m, reason, outcome, shown):
    decision = check_in_decision(distance_m, 200, reason)
    assert decision.outcome is outcome
    assert decision.distance_m == shown
    assert decision.limit_m == 200
    assert f"{shown} 米" in decision.message


def test_refusal_message_names_the_distance_and_the_limit():
    decision = check_in_decision(356.2, 200)
    assert decision.message.startswith("距老人住址 356 米，超过 200 米的签到范围")
    assert "异常签到" in decision.message  # says how to proceed
    with pytest.raises(Invalid) as raised:
        decision.raise_if_refused()
    assert raised.value.status == 422
    assert raised.value.extra == {"distance_m": 356, "limit_m": 200}
    assert raised.value.errors[0].field == "location"


def test_exception_keeps_the_reason_and_does_not_raise():
    decision = check_in_decision(356, 200, "  小区封闭施工，在东门等候  ")
    assert decision.reason == "小区封闭施工，在东门等候"
    assert "距老人住址 356 米，超过 200 米的签到范围" in decision.message
    decision.raise_if_refused()


def test_accepted_has_no_reason_even_if_one_was_given():
    decision = check_in_decision(50, 200, "顺路")
    assert decision.outcome is CheckInOutcome.ACCEPTED and decision.reason is None


def test_limit_is_a_setting():
    assert check_in_decision(350, 500).outcome is CheckInOutcome.ACCEPTED
    assert check_in_decision(350, 300).outcome is CheckInOutcome.REFUSED


@pytest.mark.parametrize(("distance_m", "limit_m"), [(-1, 200), (float("nan"), 200), (10, 0)])
def test_nonsense_inputs(distance_m, limit_m):
    with pytest.raises(ValueError):
        check_in_decision(distance_m, limit_m)


def test_a_real_check_in_from_coordinates():
    home = (32.4900, 119.9200)
    caregiver = (32.4932, 119.9200)  # about 356 m north
    distance = haversine_m(*home, *caregiver)
    assert check_in_decision(distance, 200).distance_m == 356
