"""Geocoding without the network: the WGS-84 / GCJ-02 / BD-09 transforms against published
reference values, and the offline gazetteer's matching of addresses to districts and streets."""
from __future__ import annotations

import json

import pytest
from geopy.distance import geodesic

from services.providers import geocoding
from services.providers.geocoding import (
    GAZETTEER_FILE,
    bd09_to_gcj02,
    bd09_to_wgs84,
    default_gazetteer,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from shared.city import DISTRICTS

# (lat, lon) pairs published with the community implementations of the forward formulas:
# googollee/eviltransform's test vectors (WGS-84 → GCJ-02) and coordtransform's (Beijing).
WGS_GCJ = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
    ((39.915, 116.404), (39.91640428150164, 116.41024449916938)),
]
GCJ_BD = [((39.915, 116.404), (39.92133699351021, 116.41036949371029))]
WGS_BD = [((39.915, 116.404), (39.922699552216216, 116.41662724378733))]
# inverses published with a one-step approximation (ours iterates to the exact inverse): metres
BD_WGS_APPROX = [((39.915, 116.404), (39.907253214522164, 116.3913836995125))]
GCJ_WGS_APPROX = [((39.915, 116.404), (39.91359571849836, 116.39775550083061))]

TAIZHOU = [(32.49, 119.92), (32.32, 119.88), (32.52, 120.13), (32.93, 119.85), (32.02, 120.27), (32.17, 120.02),
           (32.4906, 119.9118)]


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return geodesic(a, b).m


@pytest.mark.parametrize(("wgs", "gcj"), WGS_GCJ)
def test_wgs84_to_gcj02_reproduces_the_published_values(wgs, gcj):
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), WGS_GCJ)
def test_gcj02_to_wgs84_is_the_exact_inverse(wgs, gcj):
    assert metres(gcj02_to_wgs84(*gcj), wgs) < 0.01


@pytest.mark.parametrize(("forward", "pairs"), [(gcj02_to_bd09, GCJ_BD), (wgs84_to_bd09, WGS_BD)])
def test_bd09_forward_reproduces_the_published_values(forward, pairs):
    for source, expected in pairs:
        assert forward(*source) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("inverse", "pairs"), [(bd09_to_wgs84, BD_WGS_APPROX), (gcj02_to_wgs84, GCJ_WGS_APPROX)])
def test_inverses_agree_with_the_published_approximations_within_a_metre(inverse, pairs):
    for source, expected in pairs:
        assert metres(inverse(*source), expected) < 1.0


@pytest.mark.parametrize("wgs", TAIZHOU)
def test_round_trip_through_gcj02_and_bd09_comes_back_within_a_metre(wgs):
    bd = gcj02_to_bd09(*wgs84_to_gcj02(*wgs))
    assert 500 < metres(bd, wgs) < 2_000  # Baidu's map really is ~1 km off GPS here
    assert metres(bd09_to_gcj02(*bd), wgs84_to_gcj02(*wgs)) < 0.01
    assert metres(bd09_to_wgs84(*bd), wgs) < 1.0


def test_a_fixed_taizhou_point_in_bd09():
    # derived from the forward formulas: the 海陵区 centre as Baidu's map shows it
    assert wgs84_to_bd09(32.49, 119.92) == pytest.approx((32.4935244, 119.9312876), abs=1e-7)
    assert bd09_to_wgs84(32.4935244, 119.9312876) == pytest.approx((32.49, 119.92), abs=1e-6)


def test_outside_china_gcj02_is_the_identity():
    assert wgs84_to_gcj02(51.5, -0.12) == (51.5, -0.12)
    assert gcj02_to_wgs84(51.5, -0.12) == (51.5, -0.12)


# ---- the gazetteer -----------------------------------------------------------------------------

@pytest.mark.parametrize(("address", "matched", "precision"), [
    ("泰州市海陵区城东街道东进东路 18 号", "城东街道", "street"),
    ("江苏省泰州市海陵区京泰路街道某小区 3 幢", "京泰路街道", "street"),
    ("海陵区九龙镇九龙村", "九龙镇", "street"),
    ("城北街道老街 5 号", "城北街道", "street"),  # no district named: the street is still known
    ("泰州市靖江市人民南路 1 号", "靖江市", "district"),
    ("江苏省兴化市昭阳路", "兴化市", "district"),
    ("姜堰 三水大道", "姜堰区", "district"),  # short names of the districts
    ("泰州市海陵区某某路", "海陵区", "district"),
    ("姜堰区城东街道", "姜堰区", "district"),  # a 海陵 street under another district: not trusted
    ("泰州市 高 港 区 口岸", "高港区", "district"),  # spaces typed on a phone
])
def test_gazetteer_matches_the_most_specific_known_name(address, matched, precision):
    found = default_gazetteer().geocode(address)
    assert found is not None and (found.matched, found.precision, found.source) == (matched, precision, "gazetteer")


@pytest.mark.parametrize("address", [
    "北京市朝阳区建国路", "泰州市", "城东路 8 号",  # a road named 城东 is not 城东街道
    "海陵区或靖江市",  # two districts and no street: refuse to guess
    "   ",
])
def test_gazetteer_answers_nothing_for_what_it_does_not_know(address):
    assert default_gazetteer().geocode(address) is None


def test_gazetteer_data_file_is_labelled_and_matches_the_districts():
    data = json.loads(GAZETTEER_FILE.read_text(encoding="utf-8"))
    assert "NOT SURVEYED" in data["description"] and data["datum"] == "WGS-84"
    assert all(p["approximate"] is True and p["placement"] for p in data["places"])
    gazetteer = default_gazetteer()
    assert {code: p.name for code, p in gazetteer.districts.items()} == DISTRICTS
    streets = {p.name for p in gazetteer.places if p.kind == "street"}
    assert streets == {"城中街道", "城东街道", "城西街道", "城南街道", "城北街道", "京泰路街道", "九龙镇", "罡杨镇", "苏陈镇"}
    centre = gazetteer.districts["321202"]
    for place in gazetteer.places:
        assert gazetteer.in_city(place.lat, place.lon)
        if place.kind == "street":  # demo placements stay around their district's centre
            assert metres((place.lat, place.lon), (centre.lat, centre.lon)) < 8_000


# ---- the configurable geocoder without a map provider ------------------------------------------

async def test_offline_geocoder_is_the_default_and_needs_no_network():
    geocoder = geocoding.make_geocoder("offline", None, 1.0)
    assert geocoder.remote is None
    assert (await geocoder.geocode("泰州市海陵区城南街道")).matched == "城南街道"
    assert geocoding.make_geocoder("baidu", None, 1.0).remote is None  # no key: gazetteer only
    assert type(geocoding.make_geocoder("baidu", "k", 1.0).remote).__name__ == "BaiduV3"  # built, not called
