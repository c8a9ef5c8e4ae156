"""The voucher ledger: two-phase holds, refusals, month-end expiry, and invariants under random use."""
from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.vouchers.ledger.rules import (
    SETTLED_ACCOUNT,
    Account,
    AccountBalance,
    LedgerState,
    Transfer,
    TransferKind,
    apply,
    capture_transfer,
    check_invariants,
    expire_month,
    expired_account,
    funding_account,
    hold_outcomes,
    hold_transfer,
    holds_account,
    issue_transfer,
    payable_account,
    replay,
    settle_transfer,
    void_transfer,
    wallet_account,
)
from services.vouchers.rules.policy import VoucherKind
from shared.errors import Conflict, DomainError, Invalid, NotFound

C = VoucherKind.COMMUNITY
MONTH = "2026-11"
WALLET = wallet_account("elder-1", C, MONTH)


def funded(amount_fen: int = 30_000) -> LedgerState:
    return apply(LedgerState(), issue_transfer("t-issue", "elder-1", C, MONTH, amount_fen))


def test_hold_then_partial_capture_releases_the_rest():
    hold = hold_transfer("h1", WALLET, 10_000)
    state = apply(funded(), hold)
    assert state.balance(WALLET).available_fen == 20_000
    assert state.balance(holds_account(C)).credits_pending == 10_000
    state = apply(state, capture_transfer("c1", hold, 8_000, "prov-1"))
    assert state.balance(WALLET) == AccountBalance(debits_pending=0, debits_posted=8_000, credits_posted=30_000)
    assert state.balance(WALLET).available_fen == 22_000
    assert state.balance(holds_account(C)) == AccountBalance()
    assert state.balance(payable_account("prov-1")).credits_posted == 8_000
    assert state.open_holds == {} and state.resolved_hold_ids == {"h1"}


def test_void_releases_everything():
    hold = hold_transfer("h1", WALLET, 10_000)
    state = apply(apply(funded(), hold), void_transfer("v1", hold))
    assert state.balance(WALLET).available_fen == 30_000
    assert state.balance(WALLET).debits_posted == 0


@pytest.mark.parametrize(("held", "ok"), [(30_000, True), (30_001, False), (1, True)])
def test_hold_against_exactly_enough_or_one_fen_short(held, ok):
    hold = hold_transfer("h1", WALLET, held)
    if ok:
        assert apply(funded(), hold).balance(WALLET).available_fen == 30_000 - held
    else:
        with pytest.raises(Conflict) as caught:
            apply(funded(), hold)
        assert "可用余额 300.00 元" in caught.value.detail
        assert caught.value.extra["available_fen"] == 30_000


def test_conflict_states_what_is_left_after_other_holds():
    state = apply(funded(), hold_transfer("h1", WALLET, 29_950))
    with pytest.raises(Conflict) as caught:
        apply(state, hold_transfer("h2", WALLET, 100))
    assert "社区照护券" in caught.value.detail and "0.50 元" in caught.value.detail


@pytest.mark.parametrize(
    ("first", "second"),
    [("capture", "capture"), ("capture", "void"), ("void", "capture"), ("void", "void")],
)
def test_a_hold_resolves_exactly_once(first, second):
    hold = hold_transfer("h1", WALLET, 10_000)
    make = {"capture": lambda i: capture_transfer(i, hold, 5_000, "p"), "void": lambda i: void_transfer(i, hold)}
    state = apply(apply(funded(), hold), make[first]("r1"))
    with pytest.raises(Conflict):
        apply(state, make[second]("r2"))


@pytest.mark.parametrize(("captured", "error"), [(10_000, None), (10_001, Invalid), (1, None)])
def test_capture_never_above_the_hold(captured, error):
    hold = hold_transfer("h1", WALLET, 10_000)
    state = apply(funded(), hold)
    capture = capture_transfer("c1", hold, captured, "p")
    if error:
        with pytest.raises(error):
            apply(state, capture)
    else:
        assert apply(state, capture).balance(WALLET).available_fen == 30_000 - captured


def test_unknown_hold_is_not_found():
    ghost = hold_transfer("ghost", WALLET, 100)
    with pytest.raises(NotFound):
        apply(funded(), capture_transfer("c1", ghost, 100, "p"))


@pytest.mark.parametrize(
    "transfer",
    [
        issue_transfer("t", "e", C, MONTH, 0),
        issue_transfer("t", "e", C, MONTH, -1),
        issue_transfer("t", "e", C, MONTH, 1.5),  # type: ignore[arg-type]
        Transfer("t", WALLET, funding_account(C), 100, TransferKind.ISSUE),  # backwards
        Transfer("t", funding_account(VoucherKind.MUTUAL_AID), WALLET, 100, TransferKind.ISSUE),  # kinds differ
        Transfer("t", WALLET, holds_account(C), 100, TransferKind.HOLD, pending_id="x"),
        Transfer("t", WALLET, payable_account("p"), 100, TransferKind.CAPTURE),  # no pending id
        replace(void_transfer("v", hold_transfer("h1", WALLET, 100)), amount_fen=50),
    ],
)
def test_malformed_transfers_are_invalid(transfer):
    state = apply(funded(), hold_transfer("h1", WALLET, 100))
    with pytest.raises(Invalid):
        apply(state, transfer)


def test_apply_leaves_its_input_alone():
    state = funded()
    before = dict(state.balances)
    apply(state, hold_transfer("h1", WALLET, 100))
    assert state.balances == before and state.open_holds == {}


def test_settlement_cannot_pay_more_than_is_payable():
    hold = hold_transfer("h1", WALLET, 10_000)
    state = replay([hold, capture_transfer("c1", hold, 10_000, "p")], funded())
    state = apply(state, settle_transfer("s1", "p", 6_000))
    assert state.balance(SETTLED_ACCOUNT).credits_posted == 6_000
    with pytest.raises(Conflict):
        apply(state, settle_transfer("s2", "p", 4_001))


def test_reversed_redemption_restores_the_wallet():
    hold = hold_transfer("h1", WALLET, 10_000)
    state = replay([hold, capture_transfer("c1", hold, 10_000, "p")], funded())
    state = apply(state, Transfer("r1", payable_account("p"), WALLET, 10_000, TransferKind.REVERSE))
    assert state.balance(WALLET).available_fen == 30_000


def test_expiry_leaves_open_holds_and_is_safe_to_repeat():
    other_month = wallet_account("elder-1", C, "2026-12")
    hold = hold_transfer("h1", WALLET, 10_000)
    state = replay([hold, issue_transfer("t2", "elder-1", C, "2026-12", 5_000)], funded())
    ids = iter(f"x{i}" for i in range(10))
    expiring = expire_month(state.balances, MONTH, new_id=lambda: next(ids))
    assert [(t.debit_account, t.credit_account, t.amount_fen) for t in expiring] == [(WALLET, expired_account(C), 20_000)]
    state = replay(expiring, state)
    assert expire_month(state.balances, MONTH) == []  # nothing twice
    assert state.balance(other_month).available_fen == 5_000
    state = apply(state, void_transfer("v1", hold))  # the order was cancelled after month end
    late = expire_month(state.balances, MONTH)
    assert [t.amount_fen for t in late] == [10_000]
    state = replay(late, state)
    assert state.balance(expired_account(C)).credits_posted == 30_000
    assert check_invariants([]).ok


@pytest.mark.parametrize("account", [WALLET, funding_account(C), holds_account(C), payable_account("p"),
                                     expired_account(C), SETTLED_ACCOUNT])
def test_account_codes_round_trip(account):
    assert Account.parse(account.code) == account


def book() -> list[Transfer]:
    hold = hold_transfer("h1", WALLET, 10_000)
    return [issue_transfer("t1", "elder-1", C, MONTH, 30_000), hold, capture_transfer("c1", hold, 7_000, "p")]


def test_check_invariants_passes_a_good_book_with_its_stored_balances():
    report = check_invariants(book(), stored_balances=replay(book()).balances)
    assert report.ok and report.transfers_checked == 3 and report.open_holds == 0


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        (capture_transfer("c2", hold_transfer("h1", WALLET, 10_000), 1_000, "p"), "hold_resolved_twice"),
        (hold_transfer("h2", WALLET, 23_001), "overdrawn"),
        (issue_transfer("t1", "elder-1", C, MONTH, 5), "duplicate_id"),
        (capture_transfer("c9", hold_transfer("nope", WALLET, 1), 1, "p"), "unknown_hold"),
    ],
)
def test_check_invariants_reports_each_broken_rule(extra, code):
    report = check_invariants([*book(), extra])
    assert [v.code for v in report.violations] == [code]


def test_check_invariants_reports_stored_balances_that_are_not_the_sums():
    stored = dict(replay(book()).balances)
    stored[WALLET] = replace(stored[WALLET], credits_posted=40_000)
    assert [v.code for v in check_invariants(book(), stored).violations] == ["balance_mismatch"]


# --- properties: random sequences of issue / hold / capture / void / expire -------------------

WALLETS = [wallet_account(f"e{i}", kind, month) for i, kind, month in
           [(0, C, "2026-11"), (0, VoucherKind.MUTUAL_AID, "2026-11"), (1, C, "2026-11"), (1, C, "2026-12")]]
# Weighted so that most holds meet a funded wallet and most captures and voids meet an open hold,
# while refusals (overdraw, a second resolution) still occur.
operations = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), st.sampled_from(WALLETS), st.integers(1, 50_000)),
        # hold amounts are a share (bp) of a little more than what is available: mostly fits
        *[st.tuples(st.just("hold"), st.sampled_from(WALLETS), st.integers(0, 10_000))] * 3,
        *[st.tuples(st.just("capture"), st.integers(0, 30), st.integers(0, 10_000))] * 2,
        st.tuples(st.just("void"), st.integers(0, 30), st.just(0)),
        st.tuples(st.just("expire"), st.sampled_from(["2026-11", "2026-12"]), st.just(0)),
    ),
    min_size=5,
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_random_use_keeps_every_invariant(ops):
    # Every wallet starts funded, so that most random holds have something to reserve.
    accepted = [issue_transfer(f"start-{i}", w.elder_id, w.kind, w.month, 20_000) for i, w in enumerate(WALLETS)]
    state, holds = replay(accepted), []
    for number, (op, target, amount) in enumerate(ops):
        tid = f"t{number}"
        if op == "issue":
            candidates = [issue_transfer(tid, target.elder_id, target.kind, target.month, amount)]
        elif op == "hold":
            reachable = state.balance(target).available_fen + 2_000
            candidates = [hold_transfer(tid, target, max(1, reachable * amount // 10_000))]
        elif op == "expire":
            sweep = iter(range(len(WALLETS)))
            candidates = expire_month(state.balances, target, new_id=lambda: f"{tid}-{next(sweep)}")
        else:
            # Mostly an open hold; now and then any hold, so that second resolutions are tried.
            pool = [h for h in holds if h.id in state.open_holds] if target < 25 else holds
            if not pool:
                continue
            hold = pool[target % len(pool)]
            candidates = [capture_transfer(tid, hold, max(1, hold.amount_fen * amount // 10_000), "p")
                          if op == "capture" else void_transfer(tid, hold)]
        for transfer in candidates:
            expected_ok = _should_succeed(state, transfer)
            try:
                state = apply(state, transfer)
            except DomainError:
                assert not expected_ok, transfer
                continue
            assert expected_ok, transfer
            accepted.append(transfer)
            if transfer.kind is TransferKind.HOLD:
                holds.append(transfer)
        assert all(balance.available_fen >= 0 for account, balance in state.balances.items()
                   if account.type.value == "wallet")

    report = check_invariants(accepted, stored_balances=state.balances)
    assert report.ok, report.violations
    assert replay(accepted).balances == state.balances
    for hold_id, outcome in hold_outcomes(accepted).items():
        if outcome.resolved_by is None:
            assert hold_id in state.open_holds
        else:
            assert outcome.captured_fen + outcome.released_fen == outcome.held_fen
    captured = sum(outcome.captured_fen for outcome in hold_outcomes(accepted).values())
    assert state.balance(payable_account("p")).credits_posted == captured
    total_held = sum(t.amount_fen for t in state.open_holds.values())
    assert sum(b.debits_pending for b in state.balances.values()) == total_held


def _should_succeed(state: LedgerState, transfer: Transfer) -> bool:
    """An independent model of when the ledger must accept a transfer."""
    if transfer.kind is TransferKind.ISSUE:
        return True
    if transfer.kind in (TransferKind.HOLD, TransferKind.EXPIRE):
        return transfer.amount_fen <= state.balance(transfer.debit_account).available_fen
    return transfer.pending_id in state.open_holds
