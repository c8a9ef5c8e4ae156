"""Distances on the Earth for the caregiver search: the sphere the index compares on (squared
chords between unit vectors, see `caregiver_index`) and the WGS-84 ellipsoid the answers are shown on.
Pure functions, no I/O."""
from __future__ import annotations

import math

import numpy as np

from shared.city import EARTH_MEAN_RADIUS_M  # the city's one sphere (6 371 008.8 m, IUGG mean radius)


def chord2_of_metres(distance_m: float) -> float:
    """Squared chord (unit sphere) of a great-circle distance; monotone, so order is kept."""
    chord = 2.0 * math.sin(min(distance_m, math.pi * EARTH_MEAN_RADIUS_M) / (2.0 * EARTH_MEAN_RADIUS_M))
    return chord * chord


def metres_of_chord2(chord2: float) -> float:
    return 2.0 * EARTH_MEAN_RADIUS_M * math.asin(min(1.0, math.sqrt(chord2) / 2.0))


def unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    return math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)


WGS84_A, WGS84_F = 6_378_137.0, 1 / 298.257223563
WGS84_B = WGS84_A * (1 - WGS84_F)


def ellipsoid_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance on the WGS-84 ellipsoid (Vincenty's inverse formula): within a millimetre
    of geopy's `geodesic` and some twenty times faster. Nearly antipodal points, where the
    iteration may not converge, go to geopy."""
    if lat1 == lat2 and lon1 == lon2:
        return 0.0
    f, a, b = WGS84_F, WGS84_A, WGS84_B
    u1, u2 = math.atan((1 - f) * math.tan(math.radians(lat1))), math.atan((1 - f) * math.tan(math.radians(lat2)))
    sin_u1, cos_u1, sin_u2, cos_u2 = math.sin(u1), math.cos(u1), math.sin(u2), math.cos(u2)
    big_l = lam = math.radians(lon2 - lon1)
    for _ in range(100):
        sin_lam, cos_lam = math.sin(lam), math.cos(lam)
        sin_sigma = math.hypot(cos_u2 * sin_lam, cos_u1 * sin_u2 - sin_u1 * cos_u2 * cos_lam)
        cos_sigma = sin_u1 * sin_u2 + cos_u1 * cos_u2 * cos_lam
        sigma = math.atan2(sin_sigma, cos_sigma)
        sin_alpha = cos_u1 * cos_u2 * sin_lam / sin_sigma
        cos2_alpha = 1 - sin_alpha * sin_alpha
        cos_2sm = cos_sigma - 2 * sin_u1 * sin_u2 / cos2_alpha if cos2_alpha else 0.0  # 0 on the equator
        c = f / 16 * cos2_alpha * (4 + f * (4 - 3 * cos2_alpha))
        previous = lam
        lam = big_l + (1 - c) * f * sin_alpha * (
            sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (2 * cos_2sm**2 - 1))
        )
        if abs(lam - previous) < 1e-12:
            break
    else:
        from geopy.distance import geodesic

        return geodesic((lat1, lon1), (lat2, lon2)).meters
    u_2 = cos2_alpha * (a * a - b * b) / (b * b)
    big_a = 1 + u_2 / 16384 * (4096 + u_2 * (-768 + u_2 * (320 - 175 * u_2)))
    big_b = u_2 / 1024 * (256 + u_2 * (-128 + u_2 * (74 - 47 * u_2)))
    delta_sigma = big_b * sin_sigma * (cos_2sm + big_b / 4 * (cos_sigma * (2 * cos_2sm**2 - 1)
                                       - big_b / 6 * cos_2sm * (4 * sin_sigma**2 - 3) * (4 * cos_2sm**2 - 3)))
    return b * big_a * (sigma - delta_sigma)


def unit_vectors(latlng: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(latlng[..., 0]), np.radians(latlng[..., 1])
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)
