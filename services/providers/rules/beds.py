"""Pure rules of beds: who may declare them, care levels, the guide daily rate and the nursing
share target (versioned policy data, read by `beds.py` from `bed_policy.json`), the bed's status
transitions, and the ranking of places for an elder. No I/O; `beds.py` applies them.

Where the issue was silent, the choices are written next to the rule they shape (and in
docs/decisions.md, "Beds").
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from shared.city import haversine_m
from shared.errors import Conflict, FieldError, Invalid
from shared.policy_data import in_force as policy_on  # noqa: F401 - the one chooser of a version

# Institutions, and home-care centres for their respite (喘息) beds; kind codes of rules/registry.py.
BED_KINDS = ("care_institution", "home_care_centre")
CARE_LEVELS = {"self_care": "自理", "nursing": "护理型", "dementia": "失智照护"}
ROOM_GENDERS = {"male": "男", "female": "女"}
STATUS_NAMES = {"free": "空闲", "reserved": "已预留", "occupied": "已入住", "out_of_service": "停用"}
IN_SERVICE = ("free", "reserved", "occupied")  # capacity: beds that can hold someone


def may_declare_beds(provider_kind: str) -> bool:
    return provider_kind in BED_KINDS


def declare_problem(provider_kind: str) -> Invalid | None:
    if may_declare_beds(provider_kind):
        return None
    return Invalid("只有养老机构和居家养老服务中心（喘息床位）可以登记床位",
                   errors=[FieldError("provider.kind", "这类服务商不能登记床位")], provider_kind=provider_kind)


# ---- policy data ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BedPolicy:
    """One version of the bed policy: the guide daily rate per care level for a voucher-paid stay
    (fen a day) and the city plan's target share of nursing beds."""

    version: str
    valid_from: date
    guide_daily_rate_fen: dict[str, int]
    nursing_share_target: float


def parse_policies(data: dict) -> tuple[BedPolicy, ...]:
    """The versions of a policy document, oldest first; ValueError on a malformed one (the
    service refuses to start rather than check rates against nothing)."""
    policies = []
    for v in data["versions"]:
        rates = {level: int(v["guide_daily_rate_fen"][level]) for level in CARE_LEVELS}
        target = float(v["nursing_share_target"])
        if min(rates.values()) <= 0 or not 0 < target <= 1:
            raise ValueError(f"bed policy {v['version']}: rates must be positive and the target within (0, 1]")
        policies.append(BedPolicy(str(v["version"]), date.fromisoformat(v["valid_from"]), rates, target))
    if not policies:
        raise ValueError("bed policy: no version")
    return tuple(sorted(policies, key=lambda p: p.valid_from))


def rate_problems(rates: list[tuple[str, int]], policy: BedPolicy) -> list[FieldError]:
    """A provider's daily rate per care level may not exceed the guide daily rate; each offending
    rate named with its level and the guide (`rates.<i>.daily_rate_fen`)."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, (level, rate) in enumerate(rates):
        if level in seen:
            errors.append(FieldError(f"rates.{i}.care_level", f"“{CARE_LEVELS[level]}”重复填写"))
        seen.add(level)
        guide = policy.guide_daily_rate_fen[level]
        if rate > guide:
            errors.append(FieldError(f"rates.{i}.daily_rate_fen",
                                     f"{CARE_LEVELS[level]}床位日价格不能高于指导价 {guide / 100:.2f} 元/天"))
    return errors


# ---- status ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BedState:
    status: str
    application_id: uuid.UUID | None = None  # who holds the reservation (an application, or a stay moving in)
    stay_id: uuid.UUID | None = None  # who lives in it


TAKEN = "该床位已被占用"
OUT_OF_SERVICE = "该床位已停用"


def after_reserve(bed: BedState, application_id: uuid.UUID, *, provider_open: bool = True) -> BedState | None:
    """free → reserved for the application. The same application again: nothing changes (None),
    so a retried reservation answers the same success. Anything else: 409. `provider_open`: the
    institution is approved (a suspended one takes no new residents)."""
    if bed.status == "reserved" and bed.application_id == application_id:
        return None
    if bed.status == "free" and not provider_open:
        raise Conflict("该机构目前暂停接收入住", current_state=bed.status)
    if bed.status == "free":
        return BedState("reserved", application_id, None)
    if bed.status == "out_of_service":
        raise Conflict(f"{OUT_OF_SERVICE}，不能预留", current_state=bed.status)
    raise Conflict(TAKEN, current_state=bed.status)


def after_occupy(bed: BedState, application_id: uuid.UUID, stay_id: uuid.UUID) -> BedState | None:
    """reserved by the application → occupied by the stay; the same stay again: unchanged."""
    if bed.status == "reserved" and bed.application_id == application_id:
        return BedState("occupied", application_id, stay_id)
    if bed.status == "occupied" and bed.stay_id == stay_id:
        return None
    if bed.status == "free":
        raise Conflict("该床位没有为这份申请预留，请先预留", current_state=bed.status)
    if bed.status == "out_of_service":
        raise Conflict(OUT_OF_SERVICE, current_state=bed.status)
    raise Conflict(TAKEN, current_state=bed.status)


def after_release(bed: BedState, holders: set[uuid.UUID]) -> BedState | None:
    """→ free when the bed is held by one of `holders` (the application that reserved it, or the
    stay in it). A bed not held by them is left as it is (None): the caller's wish, that they no
    longer hold it, is already true, so a retried release after someone else reserved the bed
    neither fails nor frees the other's reservation."""
    if bed.status in ("reserved", "occupied") and ({bed.application_id, bed.stay_id} & holders):
        return BedState("free")
    return None


def after_desk_status(bed: BedState, status: str) -> BedState | None:
    """The institution's desk takes a free bed out of service or puts it back; a reserved or
    occupied bed changes only through its application or stay (reserve, occupy, release)."""
    if bed.status == status:
        return None
    if bed.status in ("free", "out_of_service") and status in ("free", "out_of_service"):
        return BedState(status)
    raise Conflict(f"床位当前为“{STATUS_NAMES[bed.status]}”，不能改为“{STATUS_NAMES[status]}”",
                   current_state=bed.status)


# ---- finding a place ---------------------------------------------------------------------------

def room_fits(room_gender: str | None, gender: str | None) -> bool:
    """A mixed room (no gender) fits anyone; a gendered room only that gender. Without the elder's
    gender every room counts (the desk decides at acceptance)."""
    return room_gender is None or gender is None or room_gender == gender


@dataclass(frozen=True, slots=True)
class PlaceWeights:
    """Distance leads: families visit, and the elder stays near their street; rating and price
    then separate places at similar distances. Each part 0–1 (1 best); total their weighted mean."""

    distance: float = 0.5
    rating: float = 0.3
    price: float = 0.2
    distance_half_m: float = 5_000.0  # institutions are fewer and farther apart than caregivers
    rating_prior: float = 4.0  # an unrated institution counts as rated this …
    rating_prior_count: int = 5  # … this many times


@dataclass(frozen=True, slots=True)
class Place:
    provider_id: uuid.UUID
    lat: float
    lon: float
    rating: float | None  # the 1–5 average, None: unrated
    rating_count: int
    daily_rate_fen: int
    guide_daily_rate_fen: int
    free_beds: int


@dataclass(frozen=True, slots=True)
class RankedPlace:
    place: Place
    distance_m: float
    score: float
    parts: dict[str, float] = field(default_factory=dict)


def place_score(place: Place, distance_m: float, weights: PlaceWeights = PlaceWeights()) -> tuple[float, dict]:
    count = place.rating_count if place.rating is not None else 0
    prior_n = weights.rating_prior_count
    average = ((weights.rating_prior * prior_n + (place.rating or 0.0) * count) / (prior_n + count)
               if prior_n + count else weights.rating_prior)
    parts = {
        "distance": 1.0 / (1.0 + distance_m / weights.distance_half_m),
        "rating": min(max((average - 1.0) / 4.0, 0.0), 1.0),
        # at the guide rate 0, free of charge 1: price counts against the guide, not other places
        "price": 1.0 - min(max(place.daily_rate_fen / place.guide_daily_rate_fen, 0.0), 1.0),
    }
    total_weight = weights.distance + weights.rating + weights.price
    total = sum(getattr(weights, name) / total_weight * part for name, part in parts.items())
    return total, parts


def rank_places(places: list[Place], *, lat: float, lon: float, limit: int,
                weights: PlaceWeights = PlaceWeights()) -> list[RankedPlace]:
    """Every place scored exactly (no approximation: the filters were exact and the list is a
    city's institutions), best first; ties by distance, then id so the order is stable."""
    ranked = []
    for place in places:
        distance = haversine_m(lat, lon, place.lat, place.lon)
        score, parts = place_score(place, distance, weights)
        ranked.append(RankedPlace(place, distance, score, parts))
    ranked.sort(key=lambda r: (-r.score, r.distance_m, str(r.place.provider_id)))
    return ranked[:limit]


# ---- capacity ---------------------------------------------------------------------------------

@dataclass
class Capacity:
    """Counts of one institution, one district or the city. Capacity: beds in service (free,
    reserved, occupied); out-of-service beds are counted beside it, not in it."""

    free: int = 0
    reserved: int = 0
    occupied: int = 0
    out_of_service: int = 0
    nursing: int = 0  # nursing beds in service

    def add(self, status: str, care_level: str, n: int) -> None:
        setattr(self, status, getattr(self, status) + n)
        if care_level == "nursing" and status in IN_SERVICE:
            self.nursing += n

    @property
    def capacity(self) -> int:
        return self.free + self.reserved + self.occupied

    def figures(self, target: float) -> dict:
        share = round(self.nursing / self.capacity, 4) if self.capacity else None
        return {"capacity": self.capacity, "occupied": self.occupied, "reserved": self.reserved, "free": self.free,
                "out_of_service": self.out_of_service, "nursing_beds": self.nursing, "nursing_share": share,
                "nursing_target_met": None if share is None else share >= target}
