"""The monthly bed-day claim rules (services/vouchers/rules/stay_claims.py), at every boundary:
the admission day counts, the discharge or death day does not, leave is paid up to the month's
cap, a transfer splits the month between institutions, respite is billed by the day present,
and the voucher pays its share up to the month's face value."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.vouchers.rules.audit import HOME_SERVICE_DURING_STAY, AuditContext, run_rules
from services.vouchers.rules.policy import DEFAULT_POLICY, StayClaimRules, parse_policy
from services.vouchers.rules.stay_claims import (
    BedPeriod,
    DayStatus,
    Leave,
    Stay,
    StayKind,
    claims_for_month,
    days_of_month,
    elder_claims_for_month,
    open_stay_outside_leave,
    share_claims,
)
from shared.errors import Invalid

A, B = "inst-a", "inst-b"
RATE = 10_000  # 100 yuan a day
RULES = StayClaimRules()  # the policy default: 6 paid leave days a month


def stay(admitted: str, ended: str | None = None, *, kind: StayKind = StayKind.LONG_TERM,
         beds: tuple[tuple[str, str, int], ...] | None = None, leaves: tuple[tuple[str, str | None], ...] = ()) -> Stay:
    periods = beds or ((admitted, A, RATE),)
    return Stay("s1", "e1", kind, date.fromisoformat(admitted),
                tuple(BedPeriod(date.fromisoformat(d), p, "nursing", r) for d, p, r in periods),
                tuple(Leave(date.fromisoformat(f), date.fromisoformat(t) if t else None) for f, t in leaves),
                date.fromisoformat(ended) if ended else None)


def summary(claims) -> list[tuple]:
    return [(c.provider_id, c.first_day.day, c.last_day.day, c.present_days, c.paid_leave_days,
             c.unpaid_leave_days, c.amount_fen) for c in claims]


@pytest.mark.parametrize(("month", "days"), [
    ("2026-01", 31), ("2026-04", 30), ("2026-02", 28), ("2028-02", 29), ("2100-02", 28), ("2000-02", 29),
    ("2026-12", 31),
])
def test_days_of_month_know_31_day_months_and_leap_february(month, days):
    assert len(days_of_month(month)) == days


@pytest.mark.parametrize(("case", "the_stay", "month", "expected"), [
    ("a whole 31-day month", stay("2026-02-10"), "2026-03", [(A, 1, 31, 31, 0, 0, 31 * RATE)]),
    ("a whole 30-day month", stay("2026-02-10"), "2026-04", [(A, 1, 30, 30, 0, 0, 30 * RATE)]),
    ("a whole February", stay("2026-01-10"), "2026-02", [(A, 1, 28, 28, 0, 0, 28 * RATE)]),
    ("a whole leap February", stay("2028-01-10"), "2028-02", [(A, 1, 29, 29, 0, 0, 29 * RATE)]),
    ("admitted on the 17th: the admission day counts", stay("2026-03-17"), "2026-03",
     [(A, 17, 31, 15, 0, 0, 15 * RATE)]),
    ("admitted on the last day", stay("2026-03-31"), "2026-03", [(A, 31, 31, 1, 0, 0, RATE)]),
    ("admitted after the month", stay("2026-04-01"), "2026-03", []),
    ("discharged on the 3rd: the discharge day does not", stay("2026-02-10", "2026-03-03"), "2026-03",
     [(A, 1, 2, 2, 0, 0, 2 * RATE)]),
    ("death on the 1st: nothing that month", stay("2026-02-10", "2026-03-01"), "2026-03", []),
    ("death on the 1st: the month before is whole", stay("2026-02-10", "2026-03-01"), "2026-02",
     [(A, 10, 28, 19, 0, 0, 19 * RATE)]),
    ("discharged on the 1st of the next month: the last day counts", stay("2026-02-10", "2026-04-01"), "2026-03",
     [(A, 1, 31, 31, 0, 0, 31 * RATE)]),
    ("admitted and discharged the same day", stay("2026-03-05", "2026-03-05"), "2026-03", []),
    ("admitted the 17th, discharged the 3rd of the next month (March)", stay("2026-03-17", "2026-04-03"), "2026-03",
     [(A, 17, 31, 15, 0, 0, 15 * RATE)]),
    ("admitted the 17th, discharged the 3rd of the next month (April)", stay("2026-03-17", "2026-04-03"), "2026-04",
     [(A, 1, 2, 2, 0, 0, 2 * RATE)]),
    ("crossing leap February into March", stay("2028-02-20", "2028-03-02"), "2028-02",
     [(A, 20, 29, 10, 0, 0, 10 * RATE)]),
    ("a stay ended before the month", stay("2026-01-10", "2026-02-01"), "2026-03", []),
])
def test_days_present(case, the_stay, month, expected):
    assert summary(claims_for_month(the_stay, month, RULES)) == expected, case


@pytest.mark.parametrize(("case", "leaves", "expected"), [
    ("leave within the cap is paid", (("2026-03-05", "2026-03-08"),), (27, 4, 0, 31 * RATE)),
    ("leave of exactly the cap", (("2026-03-05", "2026-03-10"),), (25, 6, 0, 31 * RATE)),
    ("leave beyond the cap: the rest unpaid", (("2026-03-05", "2026-03-14"),), (21, 6, 4, 27 * RATE)),
    ("two leaves share one cap, first ones paid first",
     (("2026-03-02", "2026-03-05"), ("2026-03-20", "2026-03-24")), (22, 6, 3, 28 * RATE)),
    ("a leave from the month before counts its days in this month only",
     (("2026-02-20", "2026-03-03"),), (28, 3, 0, 31 * RATE)),
    ("a leave not yet back runs to the month's end", (("2026-03-25", None),), (24, 6, 1, 30 * RATE)),
])
def test_leave_is_paid_up_to_the_cap(case, leaves, expected):
    [claim] = claims_for_month(stay("2026-01-10", leaves=leaves), "2026-03", RULES)
    assert (claim.present_days, claim.paid_leave_days, claim.unpaid_leave_days, claim.amount_fen) == expected, case


def test_the_cap_is_the_policy_versions_data():
    long_leave = stay("2026-01-10", leaves=(("2026-03-05", "2026-03-14"),))
    [none_paid] = claims_for_month(long_leave, "2026-03", StayClaimRules(paid_leave_days_per_month=0))
    [all_paid] = claims_for_month(long_leave, "2026-03", StayClaimRules(paid_leave_days_per_month=10))
    assert (none_paid.paid_leave_days, none_paid.amount_fen) == (0, 21 * RATE)
    assert (all_paid.paid_leave_days, all_paid.amount_fen) == (10, 31 * RATE)
    assert DEFAULT_POLICY.stay_claims.paid_leave_days_per_month == 6
    stored_before = DEFAULT_POLICY.model_dump(mode="json")
    stored_before.pop("stay_claims")  # a version stored before the rules existed reads the default
    assert parse_policy(stored_before).stay_claims == RULES
    with pytest.raises(Invalid) as refused:
        parse_policy(stored_before | {"stay_claims": {"paid_leave_days_per_month": 40}})
    assert refused.value.errors[0].field == "stay_claims.paid_leave_days_per_month"


def test_a_return_day_is_a_day_present_and_leave_only_unpaid_when_whole_month_away():
    away = stay("2026-01-10", leaves=(("2026-03-01", "2026-03-31"),))
    [claim] = claims_for_month(away, "2026-03", RULES)
    assert (claim.present_days, claim.paid_leave_days, claim.unpaid_leave_days, claim.amount_fen) == (0, 6, 25, 6 * RATE)
    assert claims_for_month(away, "2026-03", StayClaimRules(paid_leave_days_per_month=0)) == []  # nothing billed


def test_transfer_mid_month_between_two_institutions_makes_two_claims():
    moved = stay("2026-02-01", beds=(("2026-02-01", A, RATE), ("2026-03-16", B, 15_000)),
                 leaves=(("2026-03-10", "2026-03-20"),))  # 11 days away across the move
    claims = claims_for_month(moved, "2026-03", RULES)
    # A: 1–15, away 10–15 (6 days, all paid); B: 16–31, away 16–20 (5 days, the cap already used)
    assert summary(claims) == [(A, 1, 15, 9, 6, 0, 15 * RATE), (B, 16, 31, 11, 0, 5, 11 * 15_000)]
    assert claims_for_month(moved, "2026-02", RULES)[0].provider_id == A


def test_transfer_within_one_institution_prices_each_day_at_its_bed():
    upgraded = stay("2026-02-01", beds=(("2026-02-01", A, 8_000), ("2026-03-11", A, 12_000)))
    [claim] = claims_for_month(upgraded, "2026-03", RULES)
    assert claim.amount_fen == 10 * 8_000 + 21 * 12_000
    assert sorted((line.daily_rate_fen, line.days) for line in claim.lines) == [(8_000, 10), (12_000, 21)]


def test_respite_is_billed_by_the_day_present():
    respite = stay("2026-03-10", "2026-03-24", kind=StayKind.RESPITE, leaves=(("2026-03-15", "2026-03-16"),))
    [claim] = claims_for_month(respite, "2026-03", RULES)
    assert (claim.present_days, claim.paid_leave_days, claim.unpaid_leave_days, claim.amount_fen) == (12, 0, 2, 12 * RATE)
    [paid] = claims_for_month(respite, "2026-03", StayClaimRules(respite_leave_paid=True))
    assert paid.amount_fen == 14 * RATE
    assert [line.status for line in claim.lines] == [DayStatus.PRESENT, DayStatus.UNPAID_LEAVE]


@pytest.mark.parametrize(("amounts", "share_bp", "face", "expected"), [
    ([100_000], 9_000, 80_000, [(80_000, 20_000)]),  # share 90 000 above the face value: capped
    ([50_000], 9_000, 80_000, [(45_000, 5_000)]),  # within the face value: the share
    ([50_000], 10_000, 80_000, [(50_000, 0)]),  # 特困 pays in full
    ([50_001], 7_000, 80_000, [(35_000, 15_001)]),  # rounded down to the fen: 35 000.7
    ([60_000, 60_000], 9_000, 80_000, [(54_000, 6_000), (26_000, 34_000)]),  # two claims share one face value
    ([0], 9_000, 80_000, [(0, 0)]),
    ([30_000], 9_000, 0, [(0, 30_000)]),  # no voucher left: the elder pays all
])
def test_the_voucher_pays_its_share_up_to_the_face_value(amounts, share_bp, face, expected):
    assert [(s.voucher_fen, s.elder_fen) for s in share_claims(amounts, share_bp, face)] == expected


def test_an_elders_claims_come_in_date_order():
    first = Stay("s1", "e1", StayKind.RESPITE, date(2026, 3, 2), (BedPeriod(date(2026, 3, 2), B, "nursing", RATE),),
                 ended_on=date(2026, 3, 9))
    second = Stay("s2", "e1", StayKind.LONG_TERM, date(2026, 3, 20), (BedPeriod(date(2026, 3, 20), A, "nursing", RATE),))
    claims = elder_claims_for_month([second, first], "2026-03", RULES)
    assert [(c.stay_id, c.provider_id, c.billed_days) for c in claims] == [("s1", B, 7), ("s2", A, 12)]


def _spend(day: int, *, kind: str = "community", elder: str = "e1") -> dict:
    return {"id": f"r{day}{kind}", "elder_id": elder, "provider_id": "p", "caregiver_id": None, "amount_fen": 5_000,
            "service_code": "meal", "checkin_distance_m": None, "duration_min": None, "kind": kind,
            "completed_at": datetime(2026, 3, day, 4, 0, tzinfo=UTC)}


def test_home_service_during_an_open_stay_outside_leave_is_a_finding():
    living_in = stay("2026-03-10", "2026-03-25", leaves=(("2026-03-15", "2026-03-17"),))
    assert open_stay_outside_leave([living_in], date(2026, 3, 12)) is living_in
    assert open_stay_outside_leave([living_in], date(2026, 3, 16)) is None
    records = [_spend(9), _spend(10), _spend(16), _spend(18), _spend(25), _spend(20, kind="mutual_aid"),
               _spend(20, elder="e2")]
    context = AuditContext(stays_by_elder={"e1": [living_in]})
    found = [f for f in run_rules(records, context=context) if f.rule == HOME_SERVICE_DURING_STAY]
    assert [f.records[0]["id"] for f in found] == ["r10community", "r18community"]
    assert found[0].title == "入住机构期间仍有居家服务消费"
    assert "2026-03-10" in found[0].explanation and "50.00" in found[0].explanation
    assert not [f for f in run_rules(records) if f.rule == HOME_SERVICE_DURING_STAY]  # no stays known
