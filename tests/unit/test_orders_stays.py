"""The pure rules of institutional stays (services/orders/rules/stays.py), as tables: the state
machine, the dates of a leave, a return, a transfer or a discharge, the respite limit from the
policy data, and whether a community-voucher home service may be placed during a stay."""
from __future__ import annotations

from datetime import date

import pytest

from services.orders.rules.stays import (
    OPEN_STATUSES,
    OpenStay,
    StayCommand,
    StayDates,
    StayPolicy,
    StayStatus,
    check_application,
    check_leave,
    check_move,
    check_return,
    community_order_refusal,
    death_day,
    next_status,
    policy_from,
    policy_on,
)
from services.orders.stays import stay_policies
from shared.errors import Conflict, Invalid

S, C = StayStatus, StayCommand
D = date.fromisoformat
POLICY = StayPolicy(version="t", valid_from=D("2026-01-01"), respite_max_days=30, community_during_leave=True)


@pytest.mark.parametrize("status,command,after", [
    (S.ADMITTED, C.LEAVE, S.ON_LEAVE),
    (S.ADMITTED, C.TRANSFER, S.TRANSFERRED),
    (S.ADMITTED, C.DISCHARGE, S.DISCHARGED),
    (S.ADMITTED, C.DIE, S.ENDED_BY_DEATH),
    (S.ON_LEAVE, C.RETURN, S.BACK),
    (S.ON_LEAVE, C.DISCHARGE, S.DISCHARGED),
    (S.ON_LEAVE, C.DIE, S.ENDED_BY_DEATH),
    (S.BACK, C.LEAVE, S.ON_LEAVE),
    (S.BACK, C.TRANSFER, S.TRANSFERRED),
    (S.TRANSFERRED, C.TRANSFER, S.TRANSFERRED),
    (S.TRANSFERRED, C.DISCHARGE, S.DISCHARGED),
])
def test_allowed_moves(status, command, after):
    assert next_status(status.value, command) == after


@pytest.mark.parametrize("status,command", [
    (S.ADMITTED, C.RETURN),
    (S.BACK, C.RETURN),
    (S.ON_LEAVE, C.LEAVE),
    (S.ON_LEAVE, C.TRANSFER),  # back first, then another bed
    (S.DISCHARGED, C.LEAVE),
    (S.DISCHARGED, C.DISCHARGE),
    (S.DISCHARGED, C.DIE),
    (S.ENDED_BY_DEATH, C.RETURN),
    (S.ENDED_BY_DEATH, C.DISCHARGE),
])
def test_refused_moves_name_the_current_status(status, command):
    with pytest.raises(Conflict) as refused:
        next_status(status.value, command)
    assert refused.value.extra["stay_status"] == status.value


def test_open_statuses():
    assert OPEN_STATUSES == {S.ADMITTED, S.ON_LEAVE, S.BACK, S.TRANSFERRED}


STAY = StayDates(admitted_on=D("2026-03-17"), since=D("2026-03-17"), planned_end=None)
RESPITE = StayDates(admitted_on=D("2026-03-17"), since=D("2026-03-17"), planned_end=D("2026-04-10"))
MOVED = StayDates(admitted_on=D("2026-03-17"), since=D("2026-04-02"), planned_end=None)


@pytest.mark.parametrize("stay,start,end,ok", [
    (STAY, "2026-03-17", "2026-03-17", True),  # the admission day itself
    (STAY, "2026-03-16", "2026-03-20", False),  # before admission
    (STAY, "2026-03-20", "2026-03-19", False),  # ends before it starts
    (STAY, "2026-05-01", "2027-01-01", True),  # a long stay has no planned end
    (RESPITE, "2026-04-08", "2026-04-10", True),  # up to the respite's last day
    (RESPITE, "2026-04-08", "2026-04-11", False),  # past it
    (MOVED, "2026-04-01", "2026-04-03", False),  # before the last movement (a transfer)
    (MOVED, "2026-04-02", "2026-04-03", True),
])
def test_leave_inside_the_stay(stay, start, end, ok):
    if ok:
        check_leave(stay, D(start), D(end))
    else:
        with pytest.raises(Invalid):
            check_leave(stay, D(start), D(end))


@pytest.mark.parametrize("on,ok", [("2026-04-05", True), ("2026-04-04", True), ("2026-04-03", False)])
def test_return_not_before_the_leave(on, ok):
    if ok:
        check_return(D("2026-04-04"), D(on))
    else:
        with pytest.raises(Invalid):
            check_return(D("2026-04-04"), D(on))


@pytest.mark.parametrize("stay,on,ok", [
    (STAY, "2026-03-17", True),  # discharged the day of admission
    (STAY, "2026-03-16", False),  # before admission: 422
    (MOVED, "2026-04-01", False),  # before the last transfer
    (MOVED, "2026-04-02", True),
])
def test_discharge_and_transfer_dates(stay, on, ok):
    if ok:
        check_move(stay, D(on), "出院")
    else:
        with pytest.raises(Invalid):
            check_move(stay, D(on), "出院")


@pytest.mark.parametrize("kind,start,end,ok", [
    ("long_term", "2026-03-01", None, True),
    ("long_term", "2026-03-01", "2026-03-10", False),
    ("respite", "2026-03-01", None, False),
    ("respite", "2026-03-01", "2026-03-30", True),  # 30 days, both ends counted
    ("respite", "2026-03-01", "2026-03-31", False),  # 31
    ("respite", "2026-03-10", "2026-03-09", False),
    ("respite", "2028-02-15", "2028-03-15", True),  # leap February: 30 days
])
def test_application_respite_limit(kind, start, end, ok):
    args = (kind, "nursing", D(start), D(end) if end else None, POLICY)
    if ok:
        check_application(*args)
    else:
        with pytest.raises(Invalid):
            check_application(*args)


def test_application_names_the_policy_version_when_too_long():
    with pytest.raises(Invalid) as refused:
        check_application("respite", "nursing", D("2026-03-01"), D("2026-04-15"), POLICY)
    assert refused.value.extra["respite_max_days"] == 30 and refused.value.extra["policy_version"] == "t"


def test_policy_versions_pick_the_one_in_force():
    versions = policy_from({"versions": [
        {"version": "b", "valid_from": "2027-01-01", "respite_max_days": 21, "community_during_leave": False},
        {"version": "a", "valid_from": "2026-01-01", "respite_max_days": 30, "community_during_leave": True}]})
    assert [v.version for v in versions] == ["a", "b"]
    assert policy_on(versions, D("2026-12-31")).version == "a"
    assert policy_on(versions, D("2027-01-01")).respite_max_days == 21
    assert policy_on(versions, D("2025-06-01")).version == "a"  # before any: the oldest


def test_the_shipped_policy_data_reads():
    shipped = stay_policies()
    assert shipped and shipped[0].respite_max_days == 30 and shipped[0].community_during_leave


def _stay(status: S, leave: tuple[str, str] | None = None) -> OpenStay:
    return OpenStay(stay_id="s1", provider_name="颐和养老院", status=status.value, admitted_on=D("2026-03-17"),
                    leave_from=D(leave[0]) if leave else None, leave_to=D(leave[1]) if leave else None)


NO_LEAVE = StayPolicy(version="n", valid_from=D("2026-01-01"), respite_max_days=30, community_during_leave=False)


@pytest.mark.parametrize("payment,stay,day,policy,refused", [
    ("community", None, "2026-04-01", POLICY, False),  # no stay
    ("self_pay", _stay(S.ADMITTED), "2026-04-01", POLICY, False),  # only the community voucher
    ("mutual_aid", _stay(S.ADMITTED), "2026-04-01", POLICY, False),
    ("community", _stay(S.ADMITTED), "2026-04-01", POLICY, True),
    ("community", _stay(S.BACK), "2026-04-01", POLICY, True),
    ("community", _stay(S.TRANSFERRED), "2026-04-01", POLICY, True),
    ("community", _stay(S.ADMITTED), "2026-03-16", POLICY, False),  # before admission
    ("community", _stay(S.ON_LEAVE, ("2026-04-01", "2026-04-05")), "2026-04-03", POLICY, False),
    ("community", _stay(S.ON_LEAVE, ("2026-04-01", "2026-04-05")), "2026-04-05", POLICY, False),
    ("community", _stay(S.ON_LEAVE, ("2026-04-01", "2026-04-05")), "2026-04-06", POLICY, True),  # after the leave
    ("community", _stay(S.ON_LEAVE, ("2026-04-01", "2026-04-05")), "2026-04-03", NO_LEAVE, True),
    ("community", _stay(S.DISCHARGED), "2026-04-01", POLICY, False),  # not open
])
def test_community_orders_during_a_stay(payment, stay, day, policy, refused):
    reason = community_order_refusal(payment, stay, D(day), policy)
    assert (reason is not None) == refused
    if refused:
        assert "s1" in reason and "颐和养老院" in reason


@pytest.mark.parametrize("died,ends", [("2026-04-02", "2026-04-02"), ("2026-03-10", "2026-03-17")])
def test_death_day_never_before_admission(died, ends):
    assert death_day(STAY, D(died)) == D(ends)
