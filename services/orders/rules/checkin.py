"""The check-in rule: accept a check-in near the elder's address, else refuse it or record an
exception. The distance comes from `shared.city.haversine_m` (within 0.5 % of the WGS-84 geodesic:
under a metre at the 200 m limit, far below phone GPS error).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from shared.errors import FieldError, Invalid


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
