"""Distances on the ground and the check-in rule.

Haversine on a sphere of the mean Earth radius is within 0.5% of the WGS-84 geodesic, i.e. under
a metre at the 200 m check-in limit and far below phone GPS error, so the pure formula is enough
here; geopy's geodesic is only used in the tests as the reference.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from shared.errors import FieldError, Invalid

EARTH_MEAN_RADIUS_M = 6_371_008.8  # IUGG mean radius R1


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points given in degrees."""
    for lat, lon in ((lat1, lon1), (lat2, lon2)):
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise ValueError(f"not a coordinate: ({lat}, {lon})")
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    # min() guards asin against h a rounding error above 1 for antipodal points.
    return 2 * EARTH_MEAN_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class CheckInOutcome(str, Enum):
    ACCEPTED = "accepted"  # within the limit
    EXCEPTION = "exception"  # too far, but the caregiver gave a reason: recorded and reviewed later
    REFUSED = "refused"  # too far and no reason


@dataclass(frozen=True, slots=True)
class CheckInDecision:
    outcome: CheckInOutcome
    distance_m: int  # whole metres, as shown and stored
    limit_m: int
    reason: str | None  # the caregiver's reason, kept only for an exception
    message: str  # zh-CN, for the caregiver's screen

    def raise_if_refused(self) -> None:
        """Turn a refusal into the 422 the API answers with."""
        if self.outcome is CheckInOutcome.REFUSED:
            raise Invalid(
                self.message,
                errors=[FieldError("location", self.message)],
                distance_m=self.distance_m,
                limit_m=self.limit_m,
            )


def check_in_decision(distance_m: float, limit_m: float, reason: str | None = None) -> CheckInDecision:
    """Accept a check-in within `limit_m` of the elder's address, else refuse or record an exception.

    The distance is rounded to whole metres before comparing, so the rule agrees with the number
    the caregiver is shown: "201 米" is refused at a 200 m limit, "200 米" is accepted.
    """
    if distance_m < 0 or math.isnan(distance_m):
        raise ValueError("distance_m must be a non-negative number")
    if limit_m <= 0:
        raise ValueError("limit_m must be positive")
    shown = math.floor(distance_m + 0.5)  # round half up; round() would send 200.5 to 200
    limit = math.floor(limit_m + 0.5)
    if shown <= limit:
        return CheckInDecision(CheckInOutcome.ACCEPTED, shown, limit, None, f"签到成功，距老人住址 {shown} 米。")
    too_far = f"距老人住址 {shown} 米，超过 {limit} 米的签到范围"
    reason = (reason or "").strip() or None
    if reason is None:
        return CheckInDecision(
            CheckInOutcome.REFUSED, shown, limit, None, f"{too_far}。请到老人住址附近签到，或填写原因后按异常签到。"
        )
    return CheckInDecision(CheckInOutcome.EXCEPTION, shown, limit, reason, f"{too_far}，已按异常签到记录（原因：{reason}）。")
