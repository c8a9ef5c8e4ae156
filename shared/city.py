"""Facts about the city every part of the platform shares: its time zone, its county-level units
and distances on the ground. Pure data and arithmetic, no I/O; the one place these are written
(the pages get the district table rendered into them by the gateway, never a copy of their own)."""
from __future__ import annotations

import math
from datetime import date, datetime
from zoneinfo import ZoneInfo

# Taizhou, like all of China, keeps one zone with no daylight saving; storage is UTC, people speak
# in local dates and wall-clock times.
CITY_TZ = ZoneInfo("Asia/Shanghai")

# The county-level units of Taizhou (泰州市), by administrative division code (GB/T 2260).
DISTRICTS: dict[str, str] = {
    "321202": "海陵区",
    "321203": "高港区",
    "321204": "姜堰区",
    "321281": "兴化市",
    "321282": "靖江市",
    "321283": "泰兴市",
}

# IUGG mean Earth radius. Haversine on this sphere is within 0.5 % of the WGS-84 geodesic: under
# a metre at the 200 m check-in limit, far below phone GPS error.
EARTH_MEAN_RADIUS_M = 6_371_008.8


def local_day(instant: datetime) -> date:
    """The city's calendar day of an aware instant. A naive time is refused: it is ambiguous
    between UTC and local, and guessing would shift a day or a month edge by eight hours."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(CITY_TZ).date()


def district_name(code: str) -> str:
    return DISTRICTS.get(code, code)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres on the mean-radius sphere."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlmb / 2) ** 2
    # min() guards asin against a rounding error above 1 for antipodal points
    return 2 * EARTH_MEAN_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
