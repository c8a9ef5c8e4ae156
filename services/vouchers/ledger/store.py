"""The ledger in the database: post transfers through the pure rules (`rules.apply`), and read
the book back for the invariant check.

Posting locks every account a batch touches before reading its balance, in one global order
(elder wallets and provider payables by code first, then the city-wide clearing accounts by
code), so concurrent postings queue on the rows they share and never deadlock. On SQLite the
kernel's BEGIN IMMEDIATE already serialises writers.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers.ledger import spend_summary
from services.vouchers.ledger.rules import (
    Account,
    AccountBalance,
    AccountType,
    InvariantReport,
    LedgerState,
    Transfer,
    TransferKind,
    check_invariants,
    holds_account,
    replay,
)
from services.vouchers.models import HoldRow, LedgerAccountRow, SpendSummaryRow, TransferRow
from shared.fast_sql import FastTx, Lock, Query, insert_query

_OWNED = frozenset({AccountType.WALLET, AccountType.PAYABLE})


@dataclass(frozen=True)
class Posting:
    """A transfer plus what it is about, for history and audit queries."""

    transfer: Transfer
    elder_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    provider_id: uuid.UUID | None = None
    reverses_id: str | None = None
    memo: str = ""


def insert_ignoring_duplicates(session: AsyncSession, table, rows: list[dict]):
    """INSERT … ON CONFLICT DO NOTHING on either backend."""
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return session.execute(insert(table).values(rows).on_conflict_do_nothing())


def _lock_order(account: Account) -> tuple[int, str]:
    return (0 if account.type in _OWNED else 1, account.code)


def _account_values(account: Account) -> dict:
    return {"code": account.code, "type": str(account.type), "kind": str(account.kind) if account.kind else None,
            "elder_id": uuid.UUID(account.elder_id) if account.elder_id else None, "month": account.month,
            "provider_id": uuid.UUID(account.provider_id) if account.provider_id else None,
            "debits_pending": 0, "debits_posted": 0, "credits_pending": 0, "credits_posted": 0}


def _balance(row) -> AccountBalance:
    return AccountBalance(row.debits_pending, row.debits_posted, row.credits_pending, row.credits_posted)


def to_transfer(row: TransferRow) -> Transfer:
    return Transfer(row.id, Account.parse(row.debit_account), Account.parse(row.credit_account), row.amount_fen,
                    TransferKind(row.kind), pending_id=row.pending_id)


async def lock_balances(session: AsyncSession, *, accounts: Iterable[Account]) -> dict[Account, AccountBalance]:
    """Create missing account rows, lock them all in the global order, return their balances."""
    ordered = sorted(set(accounts), key=_lock_order)
    if not ordered:
        return {}
    for start in range(0, len(ordered), 500):  # bound the statement's parameter count
        await insert_ignoring_duplicates(session, LedgerAccountRow.__table__,
                                         [_account_values(a) for a in ordered[start:start + 500]])
    balances: dict[Account, AccountBalance] = {}
    table = LedgerAccountRow.__table__
    for group in ([a for a in ordered if a.type in _OWNED], [a for a in ordered if a.type not in _OWNED]):
        by_code = {a.code: a for a in group}
        for start in range(0, len(group), 500):
            codes = [a.code for a in group[start:start + 500]]
            rows = await session.execute(sa.select(table).where(table.c.code.in_(codes))
                                         .order_by(table.c.code).with_for_update())
            for row in rows:
                balances[by_code[row.code]] = _balance(row)
    return balances


async def post(session: AsyncSession, *, postings: Sequence[Posting], now: datetime) -> LedgerState:
    """Book the postings in order or raise the ledger's `DomainError` (nothing is written then,
    since the caller's transaction rolls back)."""
    transfers = [p.transfer for p in postings]
    pending_ids = [t.pending_id for t in transfers if t.pending_id]
    open_holds: dict[str, Transfer] = {}
    resolved: set[str] = set()
    if pending_ids:
        rows = (await session.execute(sa.select(TransferRow).where(TransferRow.id.in_(pending_ids)))).scalars()
        open_holds = {row.id: to_transfer(row) for row in rows if row.kind == TransferKind.HOLD}
        resolved = set((await session.execute(sa.select(TransferRow.pending_id)
                                              .where(TransferRow.pending_id.in_(pending_ids)))).scalars())
        for hold_id in resolved:
            open_holds.pop(hold_id, None)
    touched = {a for t in transfers for a in (t.debit_account, t.credit_account)}
    touched |= {holds_account(h.debit_account.kind) for h in open_holds.values()}  # released by capture
    before = await lock_balances(session, accounts=touched)
    after = replay(transfers, LedgerState(before, open_holds, frozenset(resolved)))
    session.add_all(TransferRow(
        id=p.transfer.id, kind=str(p.transfer.kind), debit_account=p.transfer.debit_account.code,
        credit_account=p.transfer.credit_account.code, amount_fen=p.transfer.amount_fen,
        pending_id=p.transfer.pending_id, reverses_id=p.reverses_id, elder_id=p.elder_id, order_id=p.order_id,
        provider_id=p.provider_id, memo=p.memo[:200], created_at=now) for p in postings)
    table = LedgerAccountRow.__table__
    for account, balance in after.balances.items():
        if before.get(account) != balance:
            await session.execute(table.update().where(table.c.code == account.code).values(
                debits_pending=balance.debits_pending, debits_posted=balance.debits_posted,
                credits_pending=balance.credits_pending, credits_posted=balance.credits_posted))
    await session.flush()
    return after


# ---- the hot paths (shared/fast_sql.py): an order's hold; a meal's hold and capture booked at once ----

_ACCOUNTS = LedgerAccountRow.__table__
_BALANCE_COLUMNS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
LOCK_TWO_OWNED = Query(
    sa.select(_ACCOUNTS.c.code, *(_ACCOUNTS.c[name] for name in _BALANCE_COLUMNS))
    .where(sa.or_(_ACCOUNTS.c.code == sa.bindparam("first_code"), _ACCOUNTS.c.code == sa.bindparam("second_code")))
    .order_by(_ACCOUNTS.c.code).with_for_update())
_ACCOUNT_PARAMS = {c.key: sa.bindparam(c.key) for c in _ACCOUNTS.columns}
ENSURE_ACCOUNT = Query(postgresql.insert(_ACCOUNTS).values(_ACCOUNT_PARAMS).on_conflict_do_nothing(),
                       sqlite=sqlite.insert(_ACCOUNTS).values(_ACCOUNT_PARAMS).on_conflict_do_nothing())
SET_BALANCE = Query(sa.update(_ACCOUNTS).where(_ACCOUNTS.c.code == sa.bindparam("account_code"))
                    .values({name: sa.bindparam(name) for name in _BALANCE_COLUMNS}))
ADD_TO_BALANCE = Query(sa.update(_ACCOUNTS).where(_ACCOUNTS.c.code == sa.bindparam("account_code"))
                       .values({name: _ACCOUNTS.c[name] + sa.bindparam(f"add_{name}") for name in _BALANCE_COLUMNS}))
INSERT_TRANSFER = insert_query(TransferRow.__table__)
_TRANSFER_NAMES = [c.key for c in TransferRow.__table__.columns if c.key != "seq"]
# two transfers in one INSERT: the journal's seq is taken in the rows' order (a hold before its
# capture), which two statements of one deferred batch would not promise
INSERT_TRANSFER_PAIR = Query(sa.insert(TransferRow.__table__).values(
    [{name: sa.bindparam(f"{n}_{name}") for name in _TRANSFER_NAMES} for n in ("first", "second")]))


async def lock_owned(tx: FastTx, *, accounts: Sequence[Account]) -> dict[Account, AccountBalance]:
    """`lock_balances` for one or two owned accounts (an elder's wallet, a provider's payable) on
    the hot paths: one locked read in the book's order (by code), the rows created only when missing."""
    wanted = {a.code: a for a in accounts}
    assert 1 <= len(wanted) <= 2 and all(a.type in _OWNED for a in wanted.values())
    first, second = (list(wanted) * 2)[:2]
    rows = await tx.rows(LOCK_TWO_OWNED, first_code=first, second_code=second)
    if len(rows) < len(wanted):
        for account in sorted(wanted.values(), key=_lock_order):
            await tx.run(ENSURE_ACCOUNT, **_account_values(account))
        rows = await tx.rows(LOCK_TWO_OWNED, first_code=first, second_code=second)
    return {wanted[row["code"]]: AccountBalance(*(row[name] for name in _BALANCE_COLUMNS)) for row in rows}


def owned_lock(accounts: Sequence[Account]) -> Lock:
    """One or two owned accounts' rows locked with BEGIN (shared/fast_sql.py), in the book's
    order; the first statement then reads them with `owned_balance_columns`."""
    assert all(a.type in _OWNED for a in accounts)
    return Lock.rows(_ACCOUNTS, "code", [a.code for a in accounts])


def owned_balance_columns(prefix: str, code_param: str) -> tuple[sa.FromClause, sa.ColumnElement, list]:
    """For a larger statement under `owned_lock`: the account's row as an alias to outer-join, the
    join's condition (its code is the parameter `code_param`), and its columns, each `prefix_…`."""
    alias = _ACCOUNTS.alias(prefix)
    columns = [alias.c.code.label(f"{prefix}_code"), *(alias.c[n].label(f"{prefix}_{n}") for n in _BALANCE_COLUMNS)]
    return alias, alias.c.code == sa.bindparam(code_param), columns


def owned_balances(row, accounts: dict[str, Account]) -> dict[Account, AccountBalance] | None:
    """The balances a statement read with `owned_balance_columns` (by prefix), or None if an
    account has no row yet (then `lock_owned` creates and locks it)."""
    if any(row[f"{prefix}_code"] is None for prefix in accounts):
        return None
    return {account: AccountBalance(*(row[f"{prefix}_{n}"] for n in _BALANCE_COLUMNS))
            for prefix, account in accounts.items()}


def _transfer_values(p: Posting, now: datetime) -> dict:
    return dict(id=p.transfer.id, kind=str(p.transfer.kind), debit_account=p.transfer.debit_account.code,
                credit_account=p.transfer.credit_account.code, amount_fen=p.transfer.amount_fen,
                pending_id=p.transfer.pending_id, reverses_id=p.reverses_id, elder_id=p.elder_id,
                order_id=p.order_id, provider_id=p.provider_id, memo=p.memo[:200], created_at=now)


def _balance_values(account: Account, balance: AccountBalance) -> dict:
    return dict(account_code=account.code, debits_pending=balance.debits_pending, debits_posted=balance.debits_posted,
                credits_pending=balance.credits_pending, credits_posted=balance.credits_posted)


# shared accounts (the kinds' holds clearing rows) seen committed, per database this process
# writes to: rows of the book are never deleted, so one seen stays
_KNOWN_SHARED: WeakKeyDictionary[object, set[str]] = WeakKeyDictionary()


async def post_hold(tx: FastTx, *, hold: Posting, wallet_before: AccountBalance, now: datetime) -> None:
    """Book an order's hold on the hot path (placing a voucher-paid order). The wallet is locked
    by the caller (`lock_owned`) and set from the rules' replay; the kind's holds clearing account,
    which every hold in the city shares, is not read: its pending credit grows by the rules' own
    delta in one atomic UPDATE, so concurrent holds queue on it only for that statement's row
    lock until commit, not for a read-then-write (its CHECK constraint still guards it)."""
    wallet, clearing = hold.transfer.debit_account, hold.transfer.credit_account
    after = replay([hold.transfer], LedgerState({wallet: wallet_before, clearing: AccountBalance()}))
    delta = after.balances[clearing]
    add = {f"add_{n}": getattr(delta, n) for n in _BALANCE_COLUMNS}
    # deferred writes (shared/fast_sql.py): sent with the outbox row and the key's answer in one
    # round trip just before COMMIT, so the shared clearing row is locked for that round trip and
    # the commit only, not from here on. Its row must exist by then: made once per database.
    tx.later(INSERT_TRANSFER, **_transfer_values(hold, now))
    tx.later(SET_BALANCE, **_balance_values(wallet, after.balances[wallet]))
    known = _KNOWN_SHARED.setdefault(tx.db, set())
    if clearing.code in known:
        tx.later(ADD_TO_BALANCE, account_code=clearing.code, **add)
        return
    if not await tx.run(ADD_TO_BALANCE, account_code=clearing.code, **add):
        await tx.run(ENSURE_ACCOUNT, **_account_values(clearing))
        await tx.run(ADD_TO_BALANCE, account_code=clearing.code, **add)
    tx.after_commit.append(lambda: known.add(clearing.code))


async def post_hold_and_capture(tx: FastTx, *, hold: Posting, capture: Posting,
                                before: dict[Account, AccountBalance], now: datetime) -> None:
    """Book a hold and its whole capture at once (a meal at the counter: no order waits between
    them). `before` holds the wallet's and the payable's balances, locked by the caller
    (`lock_owned`). The pair leaves the kind's holds clearing account as it was (pending up,
    then down), so that row, which every hold in the city shares, is neither locked nor written
    on the lunch peak."""
    after = replay([hold.transfer, capture.transfer], LedgerState(before))
    # deferred writes (shared/fast_sql.py), sent with the caller's last ones in one round trip: the
    # rows are locked already (`lock_owned`), and each balance row is written once
    tx.later(INSERT_TRANSFER_PAIR, **{f"{n}_{name}": value for n, p in (("first", hold), ("second", capture))
                                      for name, value in _transfer_values(p, now).items()})
    for account in sorted(before, key=_lock_order):
        tx.later(SET_BALANCE, **_balance_values(account, after.balances[account]))


async def wallet_balances(session: AsyncSession, *, codes: Iterable[str]) -> dict[str, AccountBalance]:
    """Unlocked read, for quotes and wallet pages."""
    codes = list(codes)
    if not codes:
        return {}
    rows = await session.execute(sa.select(LedgerAccountRow).where(LedgerAccountRow.code.in_(codes)))
    return {row.code: _balance(row) for row in rows.scalars()}


@dataclass(frozen=True)
class BookCheck:
    report: InvariantReport
    extra: list[dict]  # violations found by comparing the book with the holds table

    @property
    def ok(self) -> bool:
        return self.report.ok and not self.extra


async def check_book(session: AsyncSession) -> BookCheck:
    """Replay the whole journal against the stored balances (see `rules.check_invariants`),
    check that every hold row's status agrees with the journal, and that the spend summary
    agrees with the redemptions and with the journal's captures and reversals."""
    # plain rows, not ORM objects, and each account code parsed once: over a city's book (hundreds
    # of thousands of transfers, a few accounts each) the objects and the parsing were the check's time
    journal, book, holds = TransferRow.__table__, LedgerAccountRow.__table__, HoldRow.__table__
    rows = (await session.execute(sa.select(
        journal.c.id, journal.c.kind, journal.c.debit_account, journal.c.credit_account, journal.c.amount_fen,
        journal.c.pending_id, journal.c.reverses_id).order_by(journal.c.seq))).all()
    accounts: dict[str, Account] = {}

    def account(code: str) -> Account:
        found = accounts.get(code)
        if found is None:
            found = accounts[code] = Account.parse(code)
        return found

    transfers = [Transfer(row.id, account(row.debit_account), account(row.credit_account), row.amount_fen,
                          TransferKind(row.kind), pending_id=row.pending_id) for row in rows]
    stored = {account(row.code): _balance(row) for row in await session.execute(
        sa.select(book.c.code, *(book.c[name] for name in _BALANCE_COLUMNS)))}
    report = check_invariants(transfers, stored)
    holds_in_book = {t.id for t in transfers if t.kind is TransferKind.HOLD}
    resolved_in_book = {t.pending_id for t in transfers if t.pending_id}
    extra = []
    for hold in await session.execute(sa.select(holds.c.id, holds.c.status).where(holds.c.voucher_fen > 0)):
        hold_id = str(hold.id)
        resolved = hold_id in resolved_in_book
        if hold_id not in holds_in_book or resolved != (hold.status != "held"):
            extra.append({"code": "hold_status_mismatch", "message": "预扣记录的状态与账本不一致",
                          "transfer_id": hold_id, "account": None})
    extra += await _spend_summary_problems(session, rows)
    return BookCheck(report, extra)


async def _spend_summary_problems(session: AsyncSession, rows: Sequence) -> list[dict]:
    """The spend summary against the raw rows: line by line against the redemptions and their
    reversals, and per month, kind and provider against the journal's captures and reversals."""
    problems = [{"code": "spend_summary_mismatch", "message": f"消费汇总与核销、冲正记录不一致：{' '.join(m['key'])}",
                 "transfer_id": None, "account": None} for m in await spend_summary.mismatches(session)]
    captures = {row.id: Account.parse(row.debit_account) for row in rows if row.kind == TransferKind.CAPTURE}
    providers = {row.id: Account.parse(row.credit_account).provider_id for row in rows if row.id in captures}
    journal: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        if row.id in captures:
            wallet = captures[row.id]
            line = journal[(wallet.month, str(wallet.kind), providers[row.id])]
            line[0] += 1
            line[1] += row.amount_fen
        elif row.kind == TransferKind.REVERSE and row.reverses_id in captures:
            wallet = captures[row.reverses_id]
            journal[(wallet.month, str(wallet.kind), providers[row.reverses_id])][2] += row.amount_fen
    table = SpendSummaryRow.__table__
    rolled = await session.execute(sa.select(
        table.c.month, table.c.kind, table.c.provider_id, sa.func.sum(table.c.redemption_count),
        sa.func.sum(table.c.voucher_fen), sa.func.sum(table.c.reversed_fen),
    ).group_by(table.c.month, table.c.kind, table.c.provider_id))
    summary = {(month, kind, str(provider)): [int(n), int(paid), int(back)] for month, kind, provider, n, paid, back in rolled}
    for key in sorted(set(summary) | set(journal)):
        if summary.get(key, [0, 0, 0]) != journal.get(key, [0, 0, 0]):
            problems.append({"code": "spend_summary_mismatch", "account": f"payable:{key[2]}", "transfer_id": None,
                             "message": f"消费汇总与账本的核销、冲正分录不一致：{key[0]} {key[1]}"})
    return problems
