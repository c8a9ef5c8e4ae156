"""Ranking the nearest qualified caregivers: each candidate's score out of distance, rating, load
today and continuity, weighted by the bureau's `ScoreWeights` (settings). Pure arithmetic, no I/O."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """How candidates are ranked; loaded from settings so the bureau can tune them without a release.

    Each part is scaled to 0–1 (1 is best) and the total is the weighted mean of the parts.
    Distance leads because travel time is the elder's wait and the caregiver's unpaid time;
    rating and continuity reward good and familiar care; load spreads work across caregivers.
    """

    distance: float = 0.5
    rating: float = 0.2
    load: float = 0.15
    continuity: float = 0.15
    distance_half_m: float = 2_000.0  # the distance part is 0.5 here, 1 at the door, → 0 far away
    rating_prior: float = 4.0  # an unrated caregiver counts as rated this …
    rating_prior_count: int = 5  # … this many times, so one 5-star review does not top the list

    def __post_init__(self) -> None:
        weights = (self.distance, self.rating, self.load, self.continuity)
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
        if self.distance_half_m <= 0 or not 1 <= self.rating_prior <= 5 or self.rating_prior_count < 0:
            raise ValueError("distance_half_m must be positive, rating_prior within 1–5")


class MatchScore(NamedTuple):
    total: float  # 0–1
    parts: dict[str, float]  # each 0–1, for "why this caregiver"
    contributions: dict[str, float]  # weight share × part; they add up to `total`


def match_score(
    distance_m: float,
    rating: float | None,
    load_ratio: float,
    *,
    rating_count: int = 0,
    served_before: bool = False,
    weights: ScoreWeights = ScoreWeights(),
) -> MatchScore:
    """Score one candidate. `rating` is the 1–5 average over `rating_count` reviews (None: unrated);
    `load_ratio` is today's load / daily limit; `served_before`: this caregiver served the elder."""
    if distance_m < 0:
        raise ValueError("distance_m must not be negative")
    count = rating_count if rating is not None else 0
    if weights.rating_prior_count + count == 0:
        average = weights.rating_prior
    else:
        average = (weights.rating_prior * weights.rating_prior_count + (rating or 0.0) * count) / (
            weights.rating_prior_count + count
        )
    parts = {
        "distance": 1.0 / (1.0 + distance_m / weights.distance_half_m),
        "rating": min(max((average - 1.0) / 4.0, 0.0), 1.0),
        "load": 1.0 - min(max(load_ratio, 0.0), 1.0),
        "continuity": 1.0 if served_before else 0.0,
    }
    total_weight = weights.distance + weights.rating + weights.load + weights.continuity
    contributions = {name: getattr(weights, name) / total_weight * part for name, part in parts.items()}
    return MatchScore(sum(contributions.values()), parts, contributions)
