"""Turning an address into a WGS-84 point: the datum transforms Chinese maps need, an offline
gazetteer of the city's districts and streets (the default: nothing needs the network), and an
optional Baidu geocoder (geopy's BaiduV3) in front of it.

Datums. Every distance in this service is on WGS-84 (GPS). Maps published in China are not:
GCJ-02 is WGS-84 put through a state-mandated obfuscation, and Baidu's BD-09 is GCJ-02 with a
further offset of its own; in Taizhou the two together move a point by about 1 km (BD-09 minus
WGS-84: ~+0.004° lat, ~+0.011° lon). The forward formulas below are the ones published by the
community (eviltransform, coordtransform); they reproduce GCJ-02 to within metres. Neither has a
closed-form inverse, so the inverses iterate the forward formula until it returns the input point
(to 1e-9°, ~0.1 mm): the conversion adds nothing to the formulas' own error of a few metres.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol

log = logging.getLogger("youfu.providers.geocoding")

Precision = Literal["address", "street", "district"]
Source = Literal["gazetteer", "baidu"]
NOT_RECOGNISED = "无法识别这个地址，请在地图上选点或填写经纬度"
GAZETTEER_FILE = Path(__file__).with_name("gazetteer.json")

# ---- datum transforms --------------------------------------------------------------------------

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as GCJ-02 uses it
_EE = 0.00669342162296594323  # its first eccentricity squared
_BD_PI = math.pi * 3000.0 / 180.0


def out_of_china(lat: float, lon: float) -> bool:
    """GCJ-02 applies only inside this box (the published implementations' own test)."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _gcj_delta(lat: float, lon: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + common
             + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
             + (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0)
    d_lon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + common
             + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
             + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0)
    rad_lat = math.radians(lat)
    magic = 1.0 - _EE * math.sin(rad_lat) ** 2
    d_lat = d_lat * 180.0 / ((_A * (1.0 - _EE)) / (magic * math.sqrt(magic)) * math.pi)
    d_lon = d_lon * 180.0 / (_A / math.sqrt(magic) * math.cos(rad_lat) * math.pi)
    return d_lat, d_lon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    if out_of_china(lat, lon):
        return lat, lon
    d_lat, d_lon = _gcj_delta(lat, lon)
    return lat + d_lat, lon + d_lon


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _BD_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _BD_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def _invert(forward: Callable[[float, float], tuple[float, float]], lat: float, lon: float,
            start: tuple[float, float]) -> tuple[float, float]:
    """The point p with forward(p) == (lat, lon): both offsets change slowly with position, so
    p ← p + (target − forward(p)) converges in a few steps (each step shrinks the error ~10⁴×)."""
    p_lat, p_lon = start
    for _ in range(10):
        f_lat, f_lon = forward(p_lat, p_lon)
        e_lat, e_lon = lat - f_lat, lon - f_lon
        p_lat, p_lon = p_lat + e_lat, p_lon + e_lon
        if abs(e_lat) < 1e-9 and abs(e_lon) < 1e-9:
            break
    return p_lat, p_lon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """Inverse of `wgs84_to_gcj02` (iterated; exact to ~0.1 mm against the forward formula)."""
    if out_of_china(lat, lon):
        return lat, lon
    d_lat, d_lon = _gcj_delta(lat, lon)
    return _invert(wgs84_to_gcj02, lat, lon, (lat - d_lat, lon - d_lon))


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """Inverse of `gcj02_to_bd09`: the published closed form, then polished by iteration."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _BD_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _BD_PI)
    return _invert(gcj02_to_bd09, lat, lon, (z * math.sin(theta), z * math.cos(theta)))


def bd09_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """A Baidu map point (BD-09) as WGS-84: BD-09 → GCJ-02 → WGS-84. Accurate to a few metres
    (the error of the published GCJ-02 formula; the inversions themselves add ~0.1 mm)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


def wgs84_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))


# ---- the answer --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class GeocodeResult:
    """A WGS-84 point for an address. `precision`: how fine the point is ("address": a door or
    road from a map provider; "street": a street or town, "district": a county-level unit — the
    gazetteer's points for both are approximate centres). `matched`: the place name recognised
    (for a map provider, the address as it was sent)."""

    lat: float
    lon: float
    precision: Precision
    matched: str
    source: Source

    def view(self) -> dict:
        return asdict(self)


# ---- the offline gazetteer ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Place:
    name: str
    kind: Literal["district", "street"]
    district_code: str
    lat: float
    lon: float
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class OfflineGazetteer:
    """The city's districts and the streets/towns it knows, from `gazetteer.json`. An address is
    matched to the most specific place whose name it contains: a street or town (full name, e.g.
    "城东街道", never the bare "城东", which is also a road name) before a district. A street is
    taken only if the address names no other district than its own."""

    def __init__(self, places: list[Place], bounds: dict[str, float]) -> None:
        self.places = places
        self.bounds = bounds
        self.districts = {p.district_code: p for p in places if p.kind == "district"}

    @classmethod
    def from_file(cls, path: Path = GAZETTEER_FILE) -> OfflineGazetteer:
        data = json.loads(path.read_text(encoding="utf-8"))
        places = [Place(name=p["name"], kind=p["kind"], district_code=p["district_code"], lat=p["lat"], lon=p["lon"],
                        aliases=tuple(p.get("aliases", ()))) for p in data["places"]]
        return cls(places, data["city"]["bounds"])

    def geocode(self, address: str) -> GeocodeResult | None:
        text = "".join(address.split())
        named = {p.district_code for p in self.districts.values() if any(n in text for n in p.names)}
        streets = [p for p in self.places if p.kind == "street" and p.name in text
                   and (not named or named == {p.district_code})]
        if streets:
            best = max(streets, key=lambda p: (len(p.name), -text.find(p.name)))
            return GeocodeResult(best.lat, best.lon, "street", best.name, "gazetteer")
        if len(named) == 1:  # two districts named: say nothing rather than pick one
            district = self.districts[named.pop()]
            return GeocodeResult(district.lat, district.lon, "district", district.name, "gazetteer")
        return None

    def in_city(self, lat: float, lon: float) -> bool:
        b = self.bounds
        return b["south"] <= lat <= b["north"] and b["west"] <= lon <= b["east"]


@lru_cache(maxsize=1)
def default_gazetteer() -> OfflineGazetteer:
    return OfflineGazetteer.from_file()


# ---- the configurable geocoder -----------------------------------------------------------------

class RemoteGeocoder(Protocol):
    """What this module needs of a geopy geocoder (geopy.geocoders.BaiduV3 has it)."""

    def geocode(self, query: str, *, exactly_one: bool = True, timeout: float | None = None): ...


# Baidu's "level" of an answer → our precision; None: too coarse to place anyone (a city centre
# is what Baidu answers for an address it cannot read).
BAIDU_LEVELS: dict[str, Precision | None] = {"国家": None, "省": None, "城市": None, "区县": "district",
                                             "乡镇": "street"}


class Geocoder:
    """The gazetteer, with a map provider in front of it when one is configured. The provider's
    answer is taken only if it lies in the city and is finer than the city; when it fails, times
    out or answers nothing usable, the gazetteer answers (and may answer nothing: None)."""

    def __init__(self, gazetteer: OfflineGazetteer | None = None, remote: RemoteGeocoder | None = None, *,
                 timeout_s: float = 3.0, city_prefix: str = "泰州市") -> None:
        self.gazetteer = gazetteer or default_gazetteer()
        self.remote = remote
        self.timeout_s = timeout_s
        self.city_prefix = city_prefix

    async def geocode(self, address: str) -> GeocodeResult | None:
        address = address.strip()
        if not address:
            return None
        if self.remote is not None:
            found = await self._remote(address)
            if found is not None:
                return found
        return self.gazetteer.geocode(address)

    async def _remote(self, address: str) -> GeocodeResult | None:
        # Baidu reads an address better with its city; our county-level cities all belong to 泰州
        query = address if self.city_prefix[:2] in address else self.city_prefix + address
        try:
            location = await asyncio.wait_for(
                asyncio.to_thread(self.remote.geocode, query, exactly_one=True, timeout=self.timeout_s),
                timeout=self.timeout_s + 0.5)
        except Exception as exc:  # timeout, quota, bad key, network down: the gazetteer answers
            log.warning("map geocoder failed (%s: %s); using the offline gazetteer", type(exc).__name__, exc)
            return None
        if location is None:
            return None
        raw = getattr(location, "raw", None) or {}
        precision = BAIDU_LEVELS.get(raw.get("level", ""), "address")
        lat, lon = bd09_to_wgs84(location.latitude, location.longitude)  # Baidu answers in BD-09
        if precision is None or not self.gazetteer.in_city(lat, lon):
            log.info("map geocoder's answer for %r is too coarse or outside the city; ignored", query)
            return None
        return GeocodeResult(round(lat, 7), round(lon, 7), precision, query, "baidu")


def make_geocoder(kind: str, baidu_ak: str | None, timeout_s: float) -> Geocoder:
    """From the settings: "offline" (default) or "baidu" (used only when a key is set)."""
    if kind == "baidu" and baidu_ak:
        from geopy.geocoders import BaiduV3  # no network until the first call

        return Geocoder(remote=BaiduV3(api_key=baidu_ak, timeout=timeout_s, user_agent="youfu-providers"),
                        timeout_s=timeout_s)
    if kind == "baidu":
        log.warning("YOUFU_PROVIDERS_GEOCODER=baidu but YOUFU_PROVIDERS_BAIDU_AK is empty; using the gazetteer only")
    return Geocoder(timeout_s=timeout_s)
