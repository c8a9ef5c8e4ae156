"""Dispatch (派单) policy: who gets the order next, and until when.

Pure: the service stores every offer with its deadline and outcome, and calls `decide` whenever
something happens (order placed, offer declined, a deadline passed, the retry job runs). Because
the whole history is an input, a restart loses nothing: the next `decide` sees the same offers.

Two modes (a setting per service item):
- sequential: one offer at a time, to the best-ranked candidate not yet tried;
- grab (抢单): the top N untried candidates get the offer at once; the first to accept wins and
  the other open offers are revoked. The single winner under concurrency is enforced where the
  offers are stored (a conditional update); `accept_offer` here is the rule that update applies.

A provider that declined, let an offer expire, or gave back an order it had accepted is not asked
again for this order. Revoked offers (another provider won a grab round) do not count against a
provider: if the winner later gives the order back, they may be asked again.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Hashable, Iterable, Sequence

from shared.city import CITY_TZ
from shared.errors import Conflict


class DispatchMode(str, Enum):
    SEQUENTIAL = "sequential"
    GRAB = "grab"


class OfferOutcome(str, Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # the provider accepted, then gave the order back
    REVOKED = "revoked"  # closed by the platform: another provider won the grab round


# Outcomes that take a provider out of the running for this order.
EXCLUDING_OUTCOMES = frozenset({OfferOutcome.DECLINED, OfferOutcome.EXPIRED, OfferOutcome.WITHDRAWN})


@dataclass(frozen=True, slots=True)
class Candidate:
    """One ranked candidate from the providers' search; rank is its position in the list."""

    provider_id: Hashable
    caregiver_id: Hashable | None = None


@dataclass(frozen=True, slots=True)
class Offer:
    provider_id: Hashable
    caregiver_id: Hashable | None
    offered_at: datetime
    deadline: datetime
    outcome: OfferOutcome = OfferOutcome.PENDING

    def is_open(self, now: datetime) -> bool:
        """Pending and before its deadline (an offer is dead at the deadline instant itself)."""
        return self.outcome is OfferOutcome.PENDING and now < self.deadline

    def has_lapsed(self, now: datetime) -> bool:
        """Still recorded as pending, but its deadline has passed: it counts as expired."""
        return self.outcome is OfferOutcome.PENDING and now >= self.deadline

    def seconds_left(self, now: datetime) -> int:
        """Whole seconds a provider still has to answer (0 once closed), for the offers list."""
        if not self.is_open(now):
            return 0
        return int((self.deadline - now).total_seconds())


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    mode: DispatchMode = DispatchMode.SEQUENTIAL
    offer_timeout_s: int = 120
    grab_size: int = 3  # N in grab mode
    max_offers: int | None = None  # give up (unmatched) after this many offers in total; None: try everyone

    def __post_init__(self) -> None:
        if self.offer_timeout_s <= 0:
            raise ValueError("offer_timeout_s must be positive")
        if self.grab_size < 1:
            raise ValueError("grab_size must be at least 1")
        if self.max_offers is not None and self.max_offers < 1:
            raise ValueError("max_offers must be at least 1")

    @property
    def batch_size(self) -> int:
        return self.grab_size if self.mode is DispatchMode.GRAB else 1


class DecisionKind(str, Enum):
    OFFER = "offer"  # send `new_offers`
    WAIT = "wait"  # offers are open: call again at `wake_at` (or when one is answered)
    ACCEPTED = "accepted"  # `winner` has the order
    UNMATCHED = "unmatched"  # nobody left to ask: the order becomes 未匹配 and waits for a retry


@dataclass(frozen=True, slots=True)
class DispatchDecision:
    kind: DecisionKind
    new_offers: tuple[Offer, ...] = ()
    expired: tuple[Offer, ...] = ()  # pending offers whose deadline passed: store them as expired
    revoked: tuple[Offer, ...] = ()  # open offers to close because a provider accepted
    winner: Offer | None = None
    wake_at: datetime | None = None  # the earliest deadline among open and new offers


def decide(
    candidates: Sequence[Candidate],
    offers: Iterable[Offer],
    *,
    policy: DispatchPolicy,
    now: datetime,
) -> DispatchDecision:
    """The next dispatch step for one order, from its ranked candidates and its offer history."""
    _require_aware(now)
    offers = list(offers)
    lapsed = tuple(replace(o, outcome=OfferOutcome.EXPIRED) for o in offers if o.has_lapsed(now))
    accepted = [o for o in offers if o.outcome is OfferOutcome.ACCEPTED]
    if len(accepted) > 1:
        # The store must never let this happen; refusing loudly beats picking one silently.
        raise ValueError("more than one accepted offer for one order")
    if accepted:
        revoked = tuple(replace(o, outcome=OfferOutcome.REVOKED) for o in offers if o.is_open(now))
        return DispatchDecision(DecisionKind.ACCEPTED, expired=lapsed, revoked=revoked, winner=accepted[0])

    open_offers = [o for o in offers if o.is_open(now)]
    if open_offers:
        return DispatchDecision(DecisionKind.WAIT, expired=lapsed, wake_at=min(o.deadline for o in open_offers))

    budget = policy.batch_size
    if policy.max_offers is not None:
        budget = min(budget, policy.max_offers - len(offers))
    chosen = untried_candidates(candidates, [*offers, *lapsed])[: max(budget, 0)]
    if not chosen:
        return DispatchDecision(DecisionKind.UNMATCHED, expired=lapsed)
    deadline = now + timedelta(seconds=policy.offer_timeout_s)
    new_offers = tuple(Offer(c.provider_id, c.caregiver_id, now, deadline) for c in chosen)
    return DispatchDecision(DecisionKind.OFFER, new_offers=new_offers, expired=lapsed, wake_at=deadline)


def prefer_provider(candidates: Sequence[Candidate], provider_id: Hashable) -> list[Candidate]:
    """The preferred provider's candidates first (a care plan's chosen provider), the rest in rank
    order. A provider absent from the list (no qualified caregiver free, or declined) is skipped:
    dispatch goes on to the others as for any order."""
    first = [c for c in candidates if c.provider_id == provider_id]
    return [*first, *(c for c in candidates if c.provider_id != provider_id)] if first else list(candidates)


def untried_candidates(candidates: Sequence[Candidate], offers: Iterable[Offer]) -> list[Candidate]:
    """Candidates in rank order, without excluded providers and with each provider once (its best)."""
    excluded = {o.provider_id for o in offers if o.outcome in EXCLUDING_OUTCOMES}
    seen: set[Hashable] = set()
    untried: list[Candidate] = []
    for candidate in candidates:
        if candidate.provider_id in excluded or candidate.provider_id in seen:
            continue
        seen.add(candidate.provider_id)
        untried.append(candidate)
    return untried


def accept_offer(offers: Iterable[Offer], provider_id: Hashable, *, now: datetime) -> Offer:
    """The provider's offer marked accepted, or `Conflict` saying why it cannot be taken."""
    offers = list(offers)
    winner = next((o for o in offers if o.outcome is OfferOutcome.ACCEPTED), None)
    if winner is not None and winner.provider_id != provider_id:
        raise Conflict("该订单已被其他服务商接单。", reason="taken")
    offer = _latest_offer(offers, provider_id)
    if offer.outcome is OfferOutcome.ACCEPTED:
        raise Conflict("您已接过该订单，无需重复接单。", reason="already_accepted")
    _require_open(offer, now, action="接单")
    return replace(offer, outcome=OfferOutcome.ACCEPTED)


def decline_offer(offers: Iterable[Offer], provider_id: Hashable, *, now: datetime) -> Offer:
    """The provider's open offer marked declined, or `Conflict` if there is none to decline."""
    offer = _latest_offer(list(offers), provider_id)
    _require_open(offer, now, action="拒单")
    return replace(offer, outcome=OfferOutcome.DECLINED)


def _latest_offer(offers: list[Offer], provider_id: Hashable) -> Offer:
    mine = [o for o in offers if o.provider_id == provider_id]
    if not mine:
        raise Conflict("该订单没有派给您的机构。", reason="not_offered")
    return max(mine, key=lambda o: o.offered_at)


def _require_open(offer: Offer, now: datetime, *, action: str) -> None:
    _require_aware(now)
    if offer.is_open(now):
        return
    if offer.outcome is OfferOutcome.PENDING or offer.outcome is OfferOutcome.EXPIRED:
        local = offer.deadline.astimezone(CITY_TZ).strftime("%H:%M:%S")
        raise Conflict(f"派单已于 {local} 过期，不能再{action}。", reason="expired")
    reasons = {
        OfferOutcome.DECLINED: "您已拒绝该派单。",
        OfferOutcome.REVOKED: "该派单已撤回（订单已由其他服务商接单）。",
        OfferOutcome.WITHDRAWN: "您已退回该订单。",
        OfferOutcome.ACCEPTED: "您已接过该订单。",
    }
    raise Conflict(f"{reasons[offer.outcome]}不能{action}。", reason=offer.outcome.value)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
