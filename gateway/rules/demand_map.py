"""The map of unmet demand, pure: orders that found no provider, orders cancelled for lack of
one, and elders with no approved provider within reach, gathered into h3 cells of the resolution
the providers' nearest search uses for its finest level (policy data: dashboard_targets.json).
A provider reaches as far as its registered service radius, or the policy's `reach_m` when it has
none. No I/O: `gateway/dashboard.py` brings the orders, elder counts and providers."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import h3

from shared.city import haversine_m


def cell_of(lat: float, lon: float, resolution: int) -> str:
    return h3.latlng_to_cell(lat, lon, resolution)


def reach_of(provider: Mapping, reach_m: float) -> float:
    return float(provider.get("area_radius_m") or reach_m)


def within_reach(lat: float, lon: float, providers: Iterable[Mapping], reach_m: float) -> bool:
    """Whether any provider's reach covers the point (a cheap degree box before the distance)."""
    for p in providers:
        r = reach_of(p, reach_m)
        if abs(p["lat"] - lat) * 111_000 > r or abs(p["lon"] - lon) * 94_000 > r:  # 94 km a degree of longitude at 32°N
            continue
        if haversine_m(lat, lon, p["lat"], p["lon"]) <= r:
            return True
    return False


def unmet_cells(orders: Iterable[Mapping], elder_points: Iterable[Mapping], providers: list[Mapping], *,
                resolution: int, reach_m: float) -> list[dict]:
    """Cells with any unmet demand, most first: {cell, lat, lon (its centre), boundary [[lon, lat]…],
    unmatched, cancelled, elders, elders_out_of_reach, total}."""
    cells: dict[str, dict] = {}

    def at(cell: str) -> dict:
        if cell not in cells:
            lat, lon = h3.cell_to_latlng(cell)
            cells[cell] = {"cell": cell, "lat": round(lat, 6), "lon": round(lon, 6),
                           "boundary": [[round(x, 6), round(y, 6)] for y, x in h3.cell_to_boundary(cell)],
                           "unmatched": 0, "cancelled": 0, "elders": 0, "elders_out_of_reach": 0}
        return cells[cell]

    for o in orders:
        c = at(cell_of(o["lat"], o["lon"], resolution))
        c["unmatched" if o["state"] == "unmatched" else "cancelled"] += 1
    for point in elder_points:
        c = at(cell_of(point["lat"], point["lon"], resolution))
        c["elders"] += point["elders"]
        if not within_reach(point["lat"], point["lon"], providers, reach_m):
            c["elders_out_of_reach"] += point["elders"]
    out = []
    for c in cells.values():
        c["total"] = c["unmatched"] + c["cancelled"] + c["elders_out_of_reach"]
        if c["total"]:
            out.append(c)
    return sorted(out, key=lambda c: (-c["total"], c["cell"]))


def nearest_providers(lat: float, lon: float, providers: Iterable[Mapping], *, reach_m: float, k: int = 5) -> list[dict]:
    """The `k` nearest approved providers to a point, with the distance and whether it reaches."""
    ranked = sorted(((haversine_m(lat, lon, p["lat"], p["lon"]), p) for p in providers), key=lambda t: t[0])
    return [{"provider_id": p["provider_id"], "name": p["name"], "kind_name": p.get("kind_name"),
             "district_code": p.get("district_code"), "street": p.get("street"), "distance_m": round(d),
             "reach_m": round(reach_of(p, reach_m)), "reaches": d <= reach_of(p, reach_m)} for d, p in ranked[:k]]


def cell_detail(cell: str, orders: Iterable[Mapping], providers: Iterable[Mapping], *, reach_m: float,
                k: int = 5) -> dict:
    """One clicked cell: its unmet orders and the nearest providers to its centre."""
    try:
        valid = h3.is_valid_cell(cell)
    except (ValueError, OverflowError, TypeError):  # h3 overflows on digit strings too long for 64 bits
        valid = False
    if not valid:
        raise ValueError(cell)
    resolution = h3.get_resolution(cell)
    lat, lon = h3.cell_to_latlng(cell)
    inside = [o for o in orders if cell_of(o["lat"], o["lon"], resolution) == cell]
    return {"cell": cell, "lat": round(lat, 6), "lon": round(lon, 6), "orders": inside,
            "providers": nearest_providers(lat, lon, providers, reach_m=reach_m, k=k)}
