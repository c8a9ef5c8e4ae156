"""Nearest-qualified search: each filter, ordering and ties, updates, and index == exhaustive."""
from __future__ import annotations

import math
import random

import pytest
from geopy.distance import geodesic, great_circle
from h3.api import basic_int as h3i
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.providers.nearest.rules import ring_search
from services.providers.nearest.rules.caregiver_index import Caregiver, CaregiverIndex
from services.providers.nearest.rules.geodesy import chord2_of_metres, ellipsoid_distance_m, metres_of_chord2
from services.providers.nearest.rules.ranking import ScoreWeights, match_score

BASE = (32.49, 119.92)  # 海陵区 centre
METRES_PER_DEGREE_LAT = 111_195.08  # on the 6,371,008.8 m sphere


def north_of(metres: float, east_m: float = 0.0) -> tuple[float, float]:
    lat = BASE[0] + metres / METRES_PER_DEGREE_LAT
    return lat, BASE[1] + east_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(BASE[0])))


def carer(cid, metres, *, provider="p1", skills=("助餐",), radius=5_000.0, east_m=0.0, **kwargs) -> Caregiver:
    lat, lon = north_of(metres, east_m)
    return Caregiver(cid, provider, lat, lon, frozenset(skills), radius, **kwargs)


def ids(answer) -> list:
    return [c.caregiver_id for c in answer]


def both(index: CaregiverIndex, lat: float, lon: float, **kwargs):
    indexed = index.nearest(lat, lon, **kwargs)
    assert indexed == index.nearest_exhaustive(lat, lon, **kwargs)
    return indexed


@pytest.fixture
def street() -> CaregiverIndex:
    """Caregivers lined up north of the base point, each rule excluding exactly one of them."""
    return CaregiverIndex(
        [
            carer("a", 100),
            carer("b", 300, provider="p2"),
            carer("busy", 150, daily_load=8, daily_limit=8),
            carer("inactive", 160, active=False),
            carer("short-reach", 170, radius=100.0),
            carer("bather", 180, skills=("助浴",)),
            carer("c", 900, skills=("助餐", "助浴")),
            carer("far", 12_000, radius=15_000.0),
            carer("too-far-for-own-radius", 8_000, radius=5_000.0),
        ]
    )


def test_only_qualified_caregivers_in_distance_order(street):
    answer = both(street, *BASE, skill="助餐")
    assert ids(answer) == ["a", "b", "c", "far"]
    assert [c.provider_id for c in answer] == ["p1", "p2", "p1", "p1"]
    assert [round(c.distance_m) for c in answer] == [100, 300, 900, 12_000]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"skill": "助浴"}, ["bather", "c"]),
        ({"skill": "助餐", "k": 2}, ["a", "b"]),
        ({"skill": "助餐", "max_distance_m": 1_000}, ["a", "b", "c"]),
        ({"skill": "助餐", "max_distance_m": 800}, ["a", "b"]),
        ({"skill": "助餐", "exclude_providers": ["p1"]}, ["b"]),
        ({"skill": "助餐", "exclude_providers": ["p2", "unknown"]}, ["a", "c", "far"]),
        ({"skill": "助行"}, []),
        ({"skill": "助餐", "k": 0}, []),
    ],
)
def test_filters(street, kwargs, expected):
    assert ids(both(street, *BASE, **kwargs)) == expected


@pytest.mark.parametrize(
    ("exclude", "expected"),
    [
        (["p2"], ["a0", "a1", "a2"]),  # none of the nearest three is p2's: the first search answers
        (["p1"], ["b0", "b1", "b2"]),  # the nearest are all p1's: searched again without them
        (["p1", "p2"], []),
        (("p" + str(i) for i in (1, 3)), ["b0", "b1", "b2"]),  # an iterator is read once
        (["p3"], ["a0", "a1", "a2"]),  # a provider nobody works for
        ([], ["a0", "a1", "a2"]),
    ],
)
def test_excluded_providers_are_checked_on_the_answer(exclude, expected):
    """`nearest` searches without the excluded providers and searches again, leaving them out,
    only where its first k hold one of theirs: the same answer as filtering while reading."""
    index = CaregiverIndex([carer(f"a{i}", 100 + 10 * i) for i in range(5)]
                           + [carer(f"b{i}", 300 + 10 * i, provider="p2") for i in range(5)])
    exclude = list(exclude) if not isinstance(exclude, list) else exclude
    answer = index.nearest(*BASE, skill="助餐", k=3, exclude_providers=iter(exclude))
    assert answer == index.nearest_exhaustive(*BASE, skill="助餐", k=3, exclude_providers=exclude)
    assert ids(answer) == expected


@pytest.mark.parametrize(
    ("exclude", "expected", "searches"),
    [
        ([], ["x", 0, 1], 1),
        (["p2"], ["x", 0, 1], 1),  # nobody's: the first search answers
        (["p9"], [0, 1, 2], 1),  # the nearest is p9's: dropped from what was read, which still settles it
        (["p1"], ["x"], 2),  # all but one are p1's: what was read leaves fewer than k, searched again
    ],
)
def test_excluded_providers_among_the_nearest(monkeypatch, exclude, expected, searches):
    centre = h3i.cell_to_latlng(h3i.latlng_to_cell(*BASE, 8))  # the point at its cell's centre: little slack
    caregivers = [Caregiver(i, "p1", centre[0] + (110 + 10 * i) / METRES_PER_DEGREE_LAT, centre[1],
                            frozenset({"助餐"}), 5_000.0) for i in range(40)]
    index = CaregiverIndex([*caregivers, Caregiver("x", "p9", centre[0] + 100 / METRES_PER_DEGREE_LAT, centre[1],
                                                   frozenset({"助餐"}), 5_000.0)])
    calls = []
    real = CaregiverIndex._search
    monkeypatch.setattr(CaregiverIndex, "_search", lambda self, *args: (calls.append(1), real(self, *args))[1])
    assert ids(both(index, *centre, skill="助餐", k=3, exclude_providers=exclude)) == expected[:3]
    assert len(calls) == searches


@pytest.mark.parametrize(
    ("caregiver_id", "provider_id", "in_one_array"),
    [
        (7, 3, True),
        (-(2**63), 2**63 - 1, True),  # the int64 bounds
        (2**63, 3, False),
        (7, -(2**63) - 1, False),
        ("c7", 3, False),
        (7, "p3", False),
        (False, 3, False),  # a bool is not an id of the int kind, though it compares as one
    ],
)
def test_answers_read_ids_from_one_array_while_every_id_is_an_int(caregiver_id, provider_id, in_one_array):
    index = CaregiverIndex([Caregiver(i, i % 3, *north_of(100 * i), frozenset({"助餐"}), 5_000.0) for i in range(1, 6)])
    assert index._id_pairs is not None
    index.upsert(Caregiver(caregiver_id, provider_id, *north_of(50), frozenset({"助餐"}), 5_000.0))
    assert (index._id_pairs is not None) == in_one_array
    answer = both(index, *BASE, skill="助餐", k=3)
    assert [(c.caregiver_id, c.provider_id) for c in answer] == [(caregiver_id, provider_id), (1, 1), (2, 2)]
    assert [type(c.caregiver_id) for c in answer] == [type(caregiver_id), int, int]


@pytest.mark.parametrize(("listed", "first_read_at"), [(29, None), (30, 8)])
def test_a_list_shorter_than_its_head_sends_the_search_a_level_up(monkeypatch, listed, first_read_at):
    """With k = 10 a fine cell's list is read only if it lists 3k: shorter, the k-th is often
    beyond it once filters turn some away, and running out of list costs a second search."""
    index = CaregiverIndex([carer(i, 10 + i, radius=3_000.0) for i in range(listed)])
    read = []
    real = ring_search._read_disc
    monkeypatch.setattr(ring_search, "_read_disc", lambda discs, *args: (read.append(discs), real(discs, *args))[1])
    assert len(both(index, *BASE, skill="助餐")) == 10
    at = [level.table.resolution for level in index._levels if level.discs.get("助餐") is read[0]]
    assert (at == [8]) == (first_read_at == 8)


def test_max_distance_includes_its_boundary(street):
    c = street.nearest(*BASE, skill="助餐")[2]
    assert ids(both(street, *BASE, skill="助餐", max_distance_m=c.distance_m)) == ["a", "b", "c"]
    assert ids(both(street, *BASE, skill="助餐", max_distance_m=c.distance_m - 1e-6)) == ["a", "b"]


def test_own_radius_decides_at_the_point_itself(street):
    # 6 km north: 'too-far-for-own-radius' (at 8 km, radius 5 km) is 2 km away and now qualifies.
    lat, lon = north_of(6_000)
    assert ids(both(street, lat, lon, skill="助餐", k=2)) == ["too-far-for-own-radius", "far"]


def test_equal_distances_are_ordered_by_id():
    index = CaregiverIndex([carer(name, 500, east_m=0.0) for name in ("m", "k", "z", "a")] + [carer("x", 400)])
    assert ids(both(index, *BASE, skill="助餐", k=3)) == ["x", "a", "k"]


def test_distances_agree_with_geopy_great_circle(street):
    for candidate in street.nearest(*BASE, skill="助餐"):
        caregiver = street.get(candidate.caregiver_id)
        reference = great_circle(BASE, (caregiver.lat, caregiver.lon)).meters
        assert candidate.distance_m == pytest.approx(reference, rel=1e-6)


def test_updates_take_effect(street):
    street.set_load("a", 8)
    assert "a" not in ids(both(street, *BASE, skill="助餐"))
    street.set_load("a", 7)
    street.set_active("b", False)
    assert ids(both(street, *BASE, skill="助餐")) == ["a", "c", "far"]
    street.remove("c")
    assert "c" not in street and len(street) == 8
    street.upsert(carer("a", 2_000, skills=("助餐", "助行")))  # moved and learned a skill
    street.upsert(carer("new", 50, provider="p3"))
    assert ids(both(street, *BASE, skill="助餐")) == ["new", "a", "far"]
    assert ids(both(street, *BASE, skill="助行")) == ["a"]


def test_a_lone_caregiver_far_out_in_the_countryside_is_found():
    index = CaregiverIndex([carer("town", 0, skills=("助浴",)), carer("rural", 40_000, radius=60_000.0)])
    assert ids(both(index, *BASE, skill="助餐")) == ["rural"]
    assert both(index, *north_of(-15_000), skill="助餐")[0].distance_m == pytest.approx(55_000, rel=1e-4)
    assert both(index, *north_of(-25_000), skill="助餐") == []  # 65 km: beyond the caregiver's 60 km


def test_prewarm_changes_cost_not_answers():
    caregivers = [carer(i, 37 * i % 5000, east_m=53 * i % 4000 - 2000) for i in range(300)]
    warm, lazy = CaregiverIndex(caregivers), CaregiverIndex(caregivers, prewarm=False)
    for metres in range(-6000, 6000, 700):
        lat, lon = north_of(metres, metres / 2)
        assert warm.nearest(lat, lon, skill="助餐") == lazy.nearest(lat, lon, skill="助餐")


def test_searches_read_only_what_the_index_built():
    """Issue 27: every list a search reads is built with the index, so a first search from a cell
    costs what later ones do: searches in the caregivers' area add no rings, cells or lists, and
    change none."""
    caregivers = [carer(i, 37 * i % 5000, east_m=53 * i % 4000 - 2000, skills=("助餐", "助浴")[: 1 + i % 2])
                  for i in range(300)]
    index = CaregiverIndex(caregivers)

    def built():
        return [(len(level.table.cells), len(level.table._around), {s: id(d.slots) for s, d in level.discs.items()},
                 {s: bytes(d.stale) for s, d in level.discs.items()}) for level in index._levels]

    before = built()
    assert all(level.discs for level in index._levels)
    for metres in range(0, 5000, 350):  # the caregivers' area (outside it, rings are met on the way)
        lat, lon = north_of(metres, metres * 0.8 - 2000)
        for skill in ("助餐", "助浴"):
            both(index, lat, lon, skill=skill)
    assert built() == before


def test_updates_mark_lists_stale_and_searches_stay_exact():
    """An update marks the lists around its cell stale (they are not rebuilt): searches from there
    read the cells themselves, and answer what the scan answers."""
    index = CaregiverIndex([carer(i, 40 * i, east_m=25.0 * (i % 9)) for i in range(120)])
    fine = index._levels[0]
    assert not any(fine.discs["助餐"].stale)
    index.upsert(carer("new", 10))
    assert any(fine.discs["助餐"].stale)
    assert ids(both(index, *BASE, skill="助餐", k=3))[0] == 0
    index.remove(0)
    assert ids(both(index, *BASE, skill="助餐", k=3))[0] == "new"
    for level in index._levels:  # the density counts follow the updates too
        counts, lists = level.counts["助餐"], level.lists["助餐"]
        assert (counts[:, 0] == [lists.count(cell) for cell in range(len(counts))]).all()


@pytest.mark.parametrize(
    "caregiver",
    [
        Caregiver("x", "p", 91.0, 120.0, frozenset({"助餐"}), 1_000.0),
        Caregiver("x", "p", 32.0, 120.0, frozenset({"助餐"}), -1.0),
        Caregiver("x", "p", 32.0, 120.0, frozenset({"助餐"}), 250_000.0),
    ],
)
def test_bad_caregivers_are_refused(caregiver):
    with pytest.raises(ValueError):
        CaregiverIndex([caregiver])
    with pytest.raises(ValueError):
        CaregiverIndex().upsert(caregiver)


def test_duplicate_ids_are_refused():
    with pytest.raises(ValueError):
        CaregiverIndex([carer("a", 1), carer("a", 2)])


def test_chord_conversions_round_trip():
    for metres in (0.0, 0.5, 199.0, 200.0, 12_345.6, 200_000.0):
        assert metres_of_chord2(chord2_of_metres(metres)) == pytest.approx(metres, abs=1e-6)


def test_ellipsoid_distance_agrees_with_geopy_geodesic():
    rng = random.Random(7)
    pairs = [(*north_of(rng.uniform(-30_000, 30_000), rng.uniform(-30_000, 30_000)),
              *north_of(rng.uniform(-30_000, 30_000), rng.uniform(-30_000, 30_000))) for _ in range(300)]
    pairs += [(*BASE, *north_of(rng.uniform(-50, 50), rng.uniform(-50, 50))) for _ in range(100)]
    pairs += [(*BASE, *BASE), (0.0, 0.0, 0.0, 10.0), (0.0, 0.0, 0.0, 179.8), (40.0, 116.4, -33.9, 151.2)]
    for lat1, lon1, lat2, lon2 in pairs:  # the last two: nearly antipodal, and across the world
        reference = geodesic((lat1, lon1), (lat2, lon2)).meters
        assert ellipsoid_distance_m(lat1, lon1, lat2, lon2) == pytest.approx(reference, abs=1e-3)


def test_points_are_located_in_their_cell_or_a_neighbour():
    index = CaregiverIndex([carer(i, 4_000 * (i % 7) - 12_000, east_m=5_000 * (i // 7) - 10_000) for i in range(35)])
    rng = random.Random(3)
    for level in index._levels:
        table = level.table
        assert len(table._grid)  # built for the caregivers' area
        for _ in range(3_000):
            lat, lon = north_of(rng.uniform(-14_000, 14_000), rng.uniform(-12_000, 12_000))
            located = table.cells[table.locate(lat, lon)]
            assert h3i.grid_distance(located, h3i.latlng_to_cell(lat, lon, table.resolution)) <= 1


def test_searches_from_the_locating_grid_equal_the_exhaustive_scan():
    """The property test below builds without prewarm (points located by h3); here the grid
    locates them, so a search may start from a neighbour of the point's cell."""
    rng = random.Random(11)
    data = []
    for i in range(1_500):
        metres = rng.gauss(0, 1_500) if i % 3 else rng.uniform(-25_000, 25_000)  # a town, and countryside
        limit = rng.randint(1, 3)
        data.append(carer(i, metres, east_m=rng.gauss(0, 1_500) if i % 3 else rng.uniform(-25_000, 25_000),
                          provider=rng.randrange(40), skills=rng.sample(SKILLS, rng.randint(1, 2)),
                          radius=rng.choice([800.0, 3_000.0, 8_000.0, 20_000.0]), daily_limit=limit,
                          daily_load=rng.randint(0, limit), active=rng.random() > 0.05))
    index = CaregiverIndex(data)
    for _ in range(600):
        lat, lon = north_of(rng.uniform(-32_000, 32_000), rng.uniform(-32_000, 32_000))  # some beyond the grid
        both(index, lat, lon, skill=rng.choice(SKILLS), k=rng.randint(1, 12),
             max_distance_m=rng.choice([None, None, rng.uniform(0, 10_000)]),
             exclude_providers=rng.sample(range(40), rng.choice([0, 0, 1, 3, 6])))


def test_searches_stay_exact_when_caregivers_change_after_being_searched():
    """Searches read nearest-first lists built with the index (`discs`): moving, adding and
    removing caregivers after searches near them must not leave a stale list read."""
    rng = random.Random(5)

    def someone(i):
        limit = rng.randint(1, 3)
        return carer(i, rng.gauss(0, 2_000), east_m=rng.gauss(0, 2_000), provider=rng.randrange(20),
                     skills=rng.sample(SKILLS, rng.randint(1, 2)), radius=rng.choice([1_500.0, 4_000.0, 12_000.0]),
                     daily_limit=limit, daily_load=rng.randint(0, limit))

    index = CaregiverIndex([someone(i) for i in range(400)])
    points = [north_of(rng.gauss(0, 2_500), rng.gauss(0, 2_500)) for _ in range(60)]
    for round_ in range(6):
        for lat, lon in points:
            for skill in SKILLS:
                both(index, lat, lon, skill=skill, k=rng.choice([1, 5, 10]),
                     exclude_providers=rng.sample(range(20), rng.choice([0, 0, 2])))
        for i in rng.sample(range(400 + round_ * 50), 60):  # move, remove, load, and add some
            if i in index and rng.random() < 0.3:
                index.remove(i)
            elif i in index and rng.random() < 0.5:
                index.set_load(i, rng.randint(0, 3))
            else:
                index.upsert(someone(i))
        for i in range(400 + round_ * 50, 450 + round_ * 50):
            index.upsert(someone(i))


def test_searches_far_beyond_the_first_list_are_exact():
    """A few caregivers with a rare skill far apart: searches grow their lists ring by ring."""
    far = [carer(f"r{i}", 3_000 * i, east_m=(-1) ** i * 2_500.0 * i, skills=("助浴",), radius=60_000.0)
           for i in range(12)]
    index = CaregiverIndex([carer(i, 20 * i, east_m=30.0 * (i % 7)) for i in range(200)] + far)
    for metres in range(-20_000, 40_000, 2_500):
        for k in (1, 3, 10, 12):
            assert len(both(index, *north_of(metres, metres / 3), skill="助浴", k=k)) == min(k, 12)


# ---- the property: the index answers exactly what the exhaustive scan answers --------------------

SKILLS = ("助餐", "助浴", "助洁")
LEVELS = [((8, 4), (7, 1_000)), ((8, 1_000),), ((9, 2), (8, 2), (6, 1_000)), ((7, 1_000),)]


@st.composite
def caregivers(draw) -> list[Caregiver]:
    n = draw(st.integers(0, 60))
    spots = draw(st.lists(st.tuples(st.floats(-0.12, 0.12), st.floats(-0.12, 0.12)), min_size=1, max_size=8))
    result = []
    for i in range(n):
        if draw(st.booleans()):  # many share a spot exactly: equal distances, decided by id
            dlat, dlon = draw(st.sampled_from(spots))
        else:
            dlat, dlon = draw(st.floats(-0.3, 0.3)), draw(st.floats(-0.3, 0.3))
        limit = draw(st.integers(1, 3))
        result.append(
            Caregiver(
                caregiver_id=i,
                provider_id=draw(st.integers(0, 5)),
                lat=BASE[0] + dlat,
                lon=BASE[1] + dlon,
                skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), min_size=1))),
                service_radius_m=draw(st.sampled_from([0.0, 500.0, 3_000.0, 8_000.0, 20_000.0, 45_000.0])),
                active=draw(st.booleans()) or draw(st.booleans()),
                daily_load=draw(st.integers(0, limit)),
                daily_limit=limit,
            )
        )
    return result


queries = st.fixed_dictionaries(
    {
        "dlat": st.floats(-0.4, 0.4),
        "dlon": st.floats(-0.4, 0.4),
        "skill": st.sampled_from(SKILLS),
        "k": st.integers(1, 12),
        "max_distance_m": st.none() | st.floats(0, 30_000),
        "exclude_providers": st.lists(st.integers(0, 6), max_size=3),
    }
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=caregivers(), asked=st.lists(queries, min_size=1, max_size=5), levels=st.sampled_from(LEVELS))
def test_index_equals_exhaustive_scan(data, asked, levels):
    index = CaregiverIndex(data, levels=levels, prewarm=False)
    for q in asked:
        lat, lon = BASE[0] + q.pop("dlat"), BASE[1] + q.pop("dlon")
        assert index.nearest(lat, lon, **q) == index.nearest_exhaustive(lat, lon, **q)


@settings(max_examples=40, deadline=None)
@given(data=caregivers(), moves=st.lists(st.tuples(st.integers(0, 59), st.integers(0, 3)), max_size=15), q=queries)
def test_index_stays_exact_through_updates(data, moves, q):
    index = CaregiverIndex(data[: len(data) // 2], prewarm=False)
    for caregiver in data[len(data) // 2 :]:
        index.upsert(caregiver)
    for caregiver_id, action in moves:
        if caregiver_id not in index:
            continue
        if action == 0:
            index.remove(caregiver_id)
        elif action == 1:
            index.set_load(caregiver_id, 0)
        elif action == 2:
            index.set_active(caregiver_id, not index.get(caregiver_id).active)
        else:
            moved = index.get(caregiver_id)
            index.upsert(Caregiver(caregiver_id, moved.provider_id, moved.lat + 0.01, moved.lon, moved.skills, 9_000.0))
    lat, lon = BASE[0] + q.pop("dlat"), BASE[1] + q.pop("dlon")
    assert index.nearest(lat, lon, **q) == index.nearest_exhaustive(lat, lon, **q)


# ---- ranking ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        ({"distance_m": 300}, {"distance_m": 3_000}),
        ({"rating": 4.9, "rating_count": 40}, {"rating": 3.0, "rating_count": 40}),
        ({"load_ratio": 0.0}, {"load_ratio": 0.9}),
        ({"served_before": True}, {"served_before": False}),
        ({"rating": 4.8, "rating_count": 50}, {"rating": 5.0, "rating_count": 1}),  # one review is not a record
    ],
)
def test_each_part_ranks_the_right_way(better, worse):
    base = {"distance_m": 1_000, "rating": 4.0, "rating_count": 10, "load_ratio": 0.5}
    assert match_score(**{**base, **better}).total > match_score(**{**base, **worse}).total


def test_parts_are_explained_and_add_up():
    score = match_score(2_000, None, 0.25, served_before=True)
    assert score.parts == {"distance": 0.5, "rating": 0.75, "load": 0.75, "continuity": 1.0}
    assert sum(score.contributions.values()) == pytest.approx(score.total)
    assert score.total == pytest.approx(0.5 * 0.5 + 0.2 * 0.75 + 0.15 * 0.75 + 0.15 * 1.0)


def test_scores_stay_within_zero_and_one():
    for distance in (0, 10, 10_000, 1e6):
        for rating in (None, 1.0, 5.0):
            for load in (-1.0, 0.0, 1.0, 3.0):
                score = match_score(distance, rating, load, rating_count=3)
                assert 0.0 <= score.total <= 1.0
                assert all(0.0 <= part <= 1.0 for part in score.parts.values())


def test_weights_come_from_settings_and_are_normalised():
    only_distance = ScoreWeights(distance=2.0, rating=0.0, load=0.0, continuity=0.0)
    assert match_score(0, 1.0, 1.0, weights=only_distance).total == pytest.approx(1.0)
    with pytest.raises(ValueError):
        ScoreWeights(distance=-1.0)
    with pytest.raises(ValueError):
        ScoreWeights(distance=0.0, rating=0.0, load=0.0, continuity=0.0)
    with pytest.raises(ValueError):
        match_score(-5, None, 0.0)
