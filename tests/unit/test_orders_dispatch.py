"""Dispatch policy: sequential and grab offers, deadlines, declines, re-dispatch, unmatched."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from services.orders.rules.dispatch import (
    Candidate,
    DecisionKind,
    DispatchMode,
    DispatchPolicy,
    Offer,
    OfferOutcome,
    accept_offer,
    decide,
    decline_offer,
    untried_candidates,
)
from shared.errors import Conflict

T0 = datetime(2024, 6, 3, 3, 0, tzinfo=timezone.utc)  # 11:00 in Shanghai
SEQUENTIAL = DispatchPolicy(DispatchMode.SEQUENTIAL, offer_timeout_s=120)
GRAB = DispatchPolicy(DispatchMode.GRAB, offer_timeout_s=120, grab_size=3)
RANKED = [Candidate(f"p{i}", f"c{i}") for i in range(1, 6)]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def answered(offer: Offer, outcome: OfferOutcome) -> Offer:
    return replace(offer, outcome=outcome)


def test_first_offer_goes_to_the_best_candidate_with_a_deadline():
    decision = decide(RANKED, [], policy=SEQUENTIAL, now=T0)
    assert decision.kind is DecisionKind.OFFER
    (offer,) = decision.new_offers
    assert (offer.provider_id, offer.caregiver_id, offer.offered_at, offer.deadline) == ("p1", "c1", T0, at(120))
    assert decision.wake_at == at(120)


@pytest.mark.parametrize("seconds", [0, 1, 119.999])
def test_an_open_offer_is_waited_for(seconds):
    offer = decide(RANKED, [], policy=SEQUENTIAL, now=T0).new_offers[0]
    decision = decide(RANKED, [offer], policy=SEQUENTIAL, now=at(seconds))
    assert decision.kind is DecisionKind.WAIT and decision.wake_at == at(120) and not decision.expired


@pytest.mark.parametrize("seconds", [120, 121, 3600])
def test_a_missed_deadline_expires_the_offer_and_moves_on(seconds):
    offer = decide(RANKED, [], policy=SEQUENTIAL, now=T0).new_offers[0]
    decision = decide(RANKED, [offer], policy=SEQUENTIAL, now=at(seconds))
    assert decision.kind is DecisionKind.OFFER
    assert [o.outcome for o in decision.expired] == [OfferOutcome.EXPIRED]
    assert decision.new_offers[0].provider_id == "p2"
    assert decision.new_offers[0].deadline == at(seconds + 120)


def test_sequential_walks_the_ranking_through_declines_and_timeouts_then_gives_up():
    offers: list[Offer] = []
    now = T0
    script = [OfferOutcome.DECLINED, None, OfferOutcome.DECLINED, None, OfferOutcome.DECLINED]  # None: let it time out
    for expected_provider, outcome in zip(["p1", "p2", "p3", "p4", "p5"], script):
        decision = decide(RANKED, offers, policy=SEQUENTIAL, now=now)
        # The service stores what the decision says: lapsed offers become expired.
        expired = {o.provider_id: o for o in decision.expired}
        offers = [expired.get(o.provider_id, o) for o in offers]
        assert decision.kind is DecisionKind.OFFER
        (offer,) = decision.new_offers
        assert offer.provider_id == expected_provider
        if outcome is None:
            offers.append(offer)
            now = offer.deadline  # nobody answered
        else:
            offers.append(answered(offer, outcome))
            now += timedelta(seconds=30)
    final = decide(RANKED, offers, policy=SEQUENTIAL, now=now)
    assert final.kind is DecisionKind.UNMATCHED
    assert {o.provider_id for o in offers} == {"p1", "p2", "p3", "p4", "p5"}


def test_grab_mode_offers_the_top_n_at_once_and_the_first_acceptance_wins():
    decision = decide(RANKED, [], policy=GRAB, now=T0)
    assert [o.provider_id for o in decision.new_offers] == ["p1", "p2", "p3"]
    assert {o.deadline for o in decision.new_offers} == {at(120)}
    offers = list(decision.new_offers)
    offers[1] = accept_offer(offers, "p2", now=at(10))
    result = decide(RANKED, offers, policy=GRAB, now=at(11))
    assert result.kind is DecisionKind.ACCEPTED
    assert result.winner.provider_id == "p2"
    assert sorted(o.provider_id for o in result.revoked) == ["p1", "p3"]
    assert all(o.outcome is OfferOutcome.REVOKED for o in result.revoked)


def test_grab_mode_waits_while_any_offer_of_the_round_is_open():
    offers = list(decide(RANKED, [], policy=GRAB, now=T0).new_offers)
    offers[0] = answered(offers[0], OfferOutcome.DECLINED)
    assert decide(RANKED, offers, policy=GRAB, now=at(60)).kind is DecisionKind.WAIT


def test_grab_mode_next_round_takes_the_next_untried_candidates():
    offers = list(decide(RANKED, [], policy=GRAB, now=T0).new_offers)
    offers[0] = answered(offers[0], OfferOutcome.DECLINED)
    decision = decide(RANKED, offers, policy=GRAB, now=at(120))
    assert len(decision.expired) == 2
    assert [o.provider_id for o in decision.new_offers] == ["p4", "p5"]


def test_second_acceptance_in_a_grab_round_is_refused():
    offers = list(decide(RANKED, [], policy=GRAB, now=T0).new_offers)
    offers[0] = accept_offer(offers, "p1", now=at(5))
    with pytest.raises(Conflict) as raised:
        accept_offer(offers, "p3", now=at(6))
    assert raised.value.detail == "该订单已被其他服务商接单。"


def test_a_provider_is_offered_once_even_with_several_caregivers_ranked():
    ranked = [Candidate("p1", "c1"), Candidate("p1", "c9"), Candidate("p2", "c2"), Candidate("p3", "c3")]
    decision = decide(ranked, [], policy=GRAB, now=T0)
    assert [(o.provider_id, o.caregiver_id) for o in decision.new_offers] == [("p1", "c1"), ("p2", "c2"), ("p3", "c3")]


def test_redispatch_after_a_provider_gives_back_an_accepted_order():
    offers = list(decide(RANKED, [], policy=GRAB, now=T0).new_offers)
    offers[0] = accept_offer(offers, "p1", now=at(5))
    revoked = decide(RANKED, offers, policy=GRAB, now=at(6)).revoked
    offers = [offers[0], *revoked]
    offers[0] = answered(offers[0], OfferOutcome.WITHDRAWN)  # the provider cancelled after accepting
    decision = decide(RANKED, offers, policy=GRAB, now=at(600))
    # p1 gave it back and is not asked again; p2 and p3 only lost a race and may be asked again.
    assert [o.provider_id for o in decision.new_offers] == ["p2", "p3", "p4"]


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ({"p1": OfferOutcome.DECLINED}, ["p2", "p3", "p4", "p5"]),
        ({"p1": OfferOutcome.EXPIRED, "p3": OfferOutcome.WITHDRAWN}, ["p2", "p4", "p5"]),
        ({"p2": OfferOutcome.REVOKED}, ["p1", "p2", "p3", "p4", "p5"]),
    ],
)
def test_untried_candidates_exclude_declines_timeouts_and_withdrawals(outcomes, expected):
    offers = [Offer(p, None, T0, at(120), outcome) for p, outcome in outcomes.items()]
    assert [c.provider_id for c in untried_candidates(RANKED, offers)] == expected


def test_max_offers_caps_the_attempts():
    policy = DispatchPolicy(DispatchMode.GRAB, grab_size=3, max_offers=4)
    offers = [answered(o, OfferOutcome.DECLINED) for o in decide(RANKED, [], policy=policy, now=T0).new_offers]
    second = decide(RANKED, offers, policy=policy, now=at(30))
    assert [o.provider_id for o in second.new_offers] == ["p4"]  # one left in the budget
    offers += [answered(second.new_offers[0], OfferOutcome.DECLINED)]
    assert decide(RANKED, offers, policy=policy, now=at(60)).kind is DecisionKind.UNMATCHED


def test_no_candidates_at_all_is_unmatched():
    assert decide([], [], policy=SEQUENTIAL, now=T0).kind is DecisionKind.UNMATCHED


def test_accepting_an_expired_offer_names_the_deadline_in_shanghai_time():
    offer = Offer("p1", "c1", T0, at(120))
    with pytest.raises(Conflict) as raised:
        accept_offer([offer], "p1", now=at(120))
    assert raised.value.detail == "派单已于 11:02:00 过期，不能再接单。"
    assert raised.value.extra["reason"] == "expired"


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [(OfferOutcome.DECLINED, "declined"), (OfferOutcome.REVOKED, "revoked"), (OfferOutcome.WITHDRAWN, "withdrawn")],
)
def test_accepting_a_closed_offer_is_refused(outcome, reason):
    offer = Offer("p1", "c1", T0, at(120), outcome)
    with pytest.raises(Conflict) as raised:
        accept_offer([offer], "p1", now=at(1))
    assert raised.value.extra["reason"] == reason


def test_accepting_an_order_not_offered_to_you_is_refused():
    with pytest.raises(Conflict) as raised:
        accept_offer([Offer("p1", "c1", T0, at(120))], "p9", now=at(1))
    assert raised.value.extra["reason"] == "not_offered"


def test_accepting_twice_is_refused():
    offers = [accept_offer([Offer("p1", "c1", T0, at(120))], "p1", now=at(1))]
    with pytest.raises(Conflict) as raised:
        accept_offer(offers, "p1", now=at(2))
    assert raised.value.extra["reason"] == "already_accepted"


def test_the_latest_offer_to_a_provider_is_the_one_that_counts():
    old = Offer("p2", "c2", T0, at(120), OfferOutcome.REVOKED)
    new = Offer("p2", "c2", at(600), at(720))
    assert accept_offer([old, new], "p2", now=at(650)).outcome is OfferOutcome.ACCEPTED


def test_decline_marks_the_open_offer_and_only_once():
    offer = Offer("p1", "c1", T0, at(120))
    declined = decline_offer([offer], "p1", now=at(3))
    assert declined.outcome is OfferOutcome.DECLINED
    with pytest.raises(Conflict):
        decline_offer([declined], "p1", now=at(4))


@pytest.mark.parametrize(("seconds", "left"), [(0, 120), (0.5, 119), (119.5, 0), (120, 0), (500, 0)])
def test_seconds_left(seconds, left):
    assert Offer("p1", "c1", T0, at(120)).seconds_left(at(seconds)) == left


def test_naive_now_is_rejected():
    with pytest.raises(ValueError):
        decide(RANKED, [], policy=SEQUENTIAL, now=datetime(2024, 6, 3, 11, 0))


@pytest.mark.parametrize("kwargs", [{"offer_timeout_s": 0}, {"grab_size": 0}, {"max_offers": 0}])
def test_policy_rejects_nonsense(kwargs):
    with pytest.raises(ValueError):
        DispatchPolicy(**kwargs)


def test_two_accepted_offers_are_refused_loudly():
    offers = [Offer(p, None, T0, at(120), OfferOutcome.ACCEPTED) for p in ("p1", "p2")]
    with pytest.raises(ValueError):
        decide(RANKED, offers, policy=GRAB, now=at(1))
