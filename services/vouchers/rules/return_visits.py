"""Return visits (回访), pure: how many of a provider's completed orders the district officer
calls back, which ones (a seeded draw that reproduces), what a result means, and the oversight
policy data's shape (`oversight_policy.json`, read by `services/vouchers/oversight_policy.py`).

The draw: each provider's orders are put in a fixed order (completion time, then order id) and
drawn with its own `random.Random` seeded by the stored seed and the provider's id, so the same
seed and the same orders give the same sample whatever else the month holds, and one provider's
new order does not change another provider's sample."""
from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from shared.errors import invalid_field


class VisitResult(StrEnum):
    SATISFIED = "satisfied"
    DISSATISFIED = "dissatisfied"
    NOT_DELIVERED = "not_delivered"
    UNREACHABLE = "unreachable"

    @property
    def zh_name(self) -> str:
        return {"satisfied": "满意", "dissatisfied": "不满意", "not_delivered": "服务未发生",
                "unreachable": "联系不上"}[self.value]

    @property
    def opens_finding(self) -> bool:
        """服务未发生: the order is held out of the provider's settlement until a finding is resolved."""
        return self is VisitResult.NOT_DELIVERED

    @property
    def final(self) -> bool:
        """联系不上 may be called again and replaced by what the elder says; the others stand."""
        return self is not VisitResult.UNREACHABLE


class FindingOutcome(StrEnum):
    CLEARED = "cleared"  # the service did happen after all: the line is paid
    UPHELD = "upheld"    # it did not: the capture is reversed, the line stays out

    @property
    def zh_name(self) -> str:
        return {"cleared": "核实服务已发生，恢复结算", "upheld": "核实服务未发生，冲正退回"}[self.value]


@dataclass(frozen=True)
class OversightPolicy:
    version: str
    valid_from: date
    sample_rate_bp: int            # 500 = 5 %
    sample_minimum: int            # at least this many per provider (all, when it has fewer)
    complaint_working_days: int
    holidays: frozenset[date]
    make_up_workdays: frozenset[date]


def policy_from(document: dict) -> list[OversightPolicy]:
    """The versions of the policy file, sorted by `valid_from`."""
    versions = [OversightPolicy(version=str(v["version"]), valid_from=date.fromisoformat(v["valid_from"]),
                                sample_rate_bp=int(v["sample_rate_bp"]), sample_minimum=int(v["sample_minimum"]),
                                complaint_working_days=int(v["complaint_working_days"]),
                                holidays=frozenset(date.fromisoformat(d) for d in v.get("holidays", [])),
                                make_up_workdays=frozenset(date.fromisoformat(d) for d in v.get("make_up_workdays", [])))
                for v in document["versions"]]
    if not versions:
        raise ValueError("oversight policy has no version")
    return sorted(versions, key=lambda v: v.valid_from)


@dataclass(frozen=True)
class CompletedOrder:
    order_id: str
    provider_id: str
    completed_at: datetime


FIRST_YEAR = 2000  # the platform's records start long after; an earlier month is a typo


def check_oversight_month(year: int) -> None:
    if year < FIRST_YEAR:
        raise invalid_field("month", f"月份应在 {FIRST_YEAR} 年之后")


def sample_size(completed: int, *, rate_bp: int, minimum: int) -> int:
    """How many of a provider's `completed` orders are called: the rate rounded up, at least
    `minimum`, never more than there are."""
    if completed < 0 or rate_bp < 0 or minimum < 0:
        raise invalid_field("sample_rate_bp", "抽样比例和最少抽样数不能为负数")
    if rate_bp > 10_000:
        raise invalid_field("sample_rate_bp", "抽样比例不能超过 100%")
    wanted = max(minimum, math.ceil(completed * rate_bp / 10_000))
    return min(completed, wanted)


def draw_sample(orders: Iterable[CompletedOrder], *, seed: int, rate_bp: int, minimum: int) -> list[CompletedOrder]:
    """The sample: per provider (in id order), `sample_size` orders drawn with
    `random.Random(f"{seed}:{provider_id}")` from the provider's orders in a fixed order. The
    answer lists the drawn orders provider by provider, each provider's by completion time."""
    by_provider: dict[str, list[CompletedOrder]] = defaultdict(list)
    for order in orders:
        by_provider[order.provider_id].append(order)
    drawn: list[CompletedOrder] = []
    for provider in sorted(by_provider):
        pool = sorted(by_provider[provider], key=lambda o: (o.completed_at, o.order_id))
        rng = random.Random(f"{seed}:{provider}")
        picked = rng.sample(pool, sample_size(len(pool), rate_bp=rate_bp, minimum=minimum))
        drawn.extend(sorted(picked, key=lambda o: (o.completed_at, o.order_id)))
    return drawn


@dataclass(frozen=True)
class ProviderVisits:
    """One provider's return visits of a month, for the bureau's figures."""

    completed: int
    sampled: int
    called: int          # a result recorded (联系不上 included)
    reached: int         # a result other than 联系不上
    not_delivered: int
    dissatisfied: int


def coverage_figures(v: ProviderVisits) -> dict:
    """Coverage: the share of the provider's completed orders whose elder was reached; failure
    rate: the share of reached elders who said the service did not happen (None without any)."""
    return {"completed": v.completed, "sampled": v.sampled, "called": v.called, "reached": v.reached,
            "not_delivered": v.not_delivered, "dissatisfied": v.dissatisfied,
            "coverage": round(v.reached / v.completed, 4) if v.completed else None,
            "failure_rate": round(v.not_delivered / v.reached, 4) if v.reached else None}


def summarise(values: Sequence[float]) -> tuple[float | None, float | None]:
    """(median, mean) of `values`; (None, None) when empty."""
    if not values:
        return None, None
    ordered = sorted(values)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return round(median, 2), round(sum(ordered) / len(ordered), 2)
