"""The simulated city's geography: docs/domain.md's six county-level units and, in each, a few streets
(街道, dense town quarters) and towns (镇, sparse countryside). Pure data and arithmetic.

Codes, names and centres are docs/domain.md's. Weights are each unit's rough share of the city's
residents aged 60+ (the same weights as bench/vouchers_batch.py; docs/domain.md asks demo data and
benchmarks to keep the city's proportions). Street-level coordinates are not published:
海陵区's streets and towns sit at the gateway's offline gazetteer points
(services/providers/gazetteer.json, themselves placed around the district centre), and the other
units' places sit at arbitrary offsets from their centres (streets 1–3 km, towns 8–20 km), only so
that people spread out like a town and its countryside. The names are real; their positions and
directions are not.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from shared.city import EARTH_MEAN_RADIUS_M, haversine_m


@dataclass(frozen=True)
class Place:
    name: str
    lat: float
    lon: float
    spread_m: float  # people live within about this distance of the point (one standard deviation)
    weight: float  # share of the unit's elders
    rural: bool = False  # countryside town: fewer providers, wider caregiver radius


@dataclass(frozen=True)
class District:
    code: str
    name: str
    lat: float
    lon: float
    weight: float
    places: tuple[Place, ...]


def offset(lat: float, lon: float, east_km: float, north_km: float) -> tuple[float, float]:
    """The point `east_km` east and `north_km` north of (lat, lon), flat-earth (fine at city scale)."""
    dlat = north_km * 1000 / EARTH_MEAN_RADIUS_M
    dlon = east_km * 1000 / (EARTH_MEAN_RADIUS_M * math.cos(math.radians(lat)))
    return round(lat + math.degrees(dlat), 6), round(lon + math.degrees(dlon), 6)


def _around(centre: tuple[float, float], rows) -> tuple[Place, ...]:
    """Places given as (name, east_km, north_km, spread_m, weight, rural) around a centre."""
    out = []
    for name, east, north, spread, weight, rural in rows:
        lat, lon = offset(centre[0], centre[1], east, north)
        out.append(Place(name, lat, lon, spread, weight, rural))
    return tuple(out)


HAILING = District("321202", "海陵区", 32.49, 119.92, 0.20, (
    Place("城中街道", 32.490, 119.920, 900, 0.17),
    Place("城东街道", 32.490, 119.941, 1000, 0.15),
    Place("城西街道", 32.490, 119.899, 1000, 0.14),
    Place("城南街道", 32.472, 119.920, 1000, 0.13),
    Place("城北街道", 32.508, 119.920, 1000, 0.12),
    Place("京泰路街道", 32.478, 119.936, 900, 0.09),
    Place("九龙镇", 32.500, 119.868, 1800, 0.07, True),
    Place("罡杨镇", 32.535, 119.945, 1800, 0.07, True),
    Place("苏陈镇", 32.520, 119.980, 1800, 0.06, True),
))

DISTRICTS: tuple[District, ...] = (
    HAILING,
    District("321203", "高港区", 32.32, 119.88, 0.10, _around((32.32, 119.88), (
        ("口岸街道", 0.0, 0.0, 1200, 0.38, False),
        ("刁铺街道", 2.5, 2.0, 1100, 0.17, False),
        ("永安洲镇", -6.0, -8.0, 2200, 0.15, True),
        ("胡庄镇", 9.0, 5.0, 2200, 0.15, True),
        ("大泗镇", 11.0, -3.0, 2200, 0.15, True),
    ))),
    District("321204", "姜堰区", 32.52, 120.13, 0.16, _around((32.52, 120.13), (
        ("罗塘街道", 0.0, 0.0, 1200, 0.30, False),
        ("三水街道", -2.0, -2.0, 1100, 0.18, False),
        ("溱潼镇", -4.0, 16.0, 2500, 0.18, True),
        ("张甸镇", 6.0, -12.0, 2500, 0.17, True),
        ("白米镇", 10.0, -4.0, 2500, 0.17, True),
    ))),
    District("321281", "兴化市", 32.93, 119.85, 0.22, _around((32.93, 119.85), (
        ("昭阳街道", 0.0, 0.0, 1300, 0.26, False),
        ("临城街道", 2.5, -2.0, 1200, 0.14, False),
        ("戴南镇", 14.0, -18.0, 2800, 0.22, True),
        ("安丰镇", 8.0, 14.0, 2800, 0.19, True),
        ("沙沟镇", -20.0, 12.0, 2800, 0.19, True),
    ))),
    District("321282", "靖江市", 32.02, 120.27, 0.14, _around((32.02, 120.27), (
        ("靖城街道", 0.0, 0.0, 1300, 0.45, False),
        ("新桥镇", -9.0, 3.0, 2300, 0.19, True),
        ("斜桥镇", 8.0, 4.0, 2300, 0.18, True),
        ("季市镇", 15.0, 6.0, 2300, 0.18, True),
    ))),
    District("321283", "泰兴市", 32.17, 120.02, 0.18, _around((32.17, 120.02), (
        ("济川街道", 0.0, 0.0, 1200, 0.26, False),
        ("延令街道", 1.5, 2.0, 1100, 0.16, False),
        ("黄桥镇", 16.0, 6.0, 2600, 0.22, True),
        ("宣堡镇", 4.0, 12.0, 2600, 0.18, True),
        ("古溪镇", 18.0, 14.0, 2600, 0.18, True),
    ))),
)

DISTRICT_BY_CODE = {d.code: d for d in DISTRICTS}


@dataclass(frozen=True)
class KeepClear:
    """A circle around people the simulation must not touch (the demo world of `youfu up`, and
    whatever tests place around it). Simulated elders live outside `reach_m` (so no outside
    caregiver, whose radius is at most that, reaches them); simulated caregivers and providers
    never reach within `people_m` (where the outside elders live)."""

    lat: float
    lon: float
    people_m: float = 3_000
    reach_m: float = 8_500

    def holds_elder(self, lat: float, lon: float) -> bool:
        return haversine_m(self.lat, self.lon, lat, lon) < self.reach_m

    def max_radius_from(self, lat: float, lon: float, margin_m: float = 300) -> float:
        """The widest radius around (lat, lon) that stays out of the people circle."""
        return haversine_m(self.lat, self.lon, lat, lon) - self.people_m - margin_m

    def push_out(self, lat: float, lon: float, extra_m: float) -> tuple[float, float]:
        """The point moved straight away from the centre to `reach_m + extra_m` from it."""
        east = (lon - self.lon) * math.cos(math.radians(self.lat)) * math.pi / 180 * EARTH_MEAN_RADIUS_M
        north = (lat - self.lat) * math.pi / 180 * EARTH_MEAN_RADIUS_M
        norm = math.hypot(east, north)
        if norm < 1.0:  # at the centre: go north
            east, north, norm = 0.0, 1.0, 1.0
        scale = (self.reach_m + extra_m) / norm / 1000
        return offset(self.lat, self.lon, east * scale, north * scale)
