"""The voucher ledger: an append-only, double-entry book of transfers, after TigerBeetle.

Every movement of voucher money is one `Transfer` from a debit account to a credit account, so the
book balances by construction; balances are only ever sums of transfers, and a correction is a
new (reversing) transfer, never an edit. Spending is two-phase, as TigerBeetle's pending
transfers: a HOLD reserves money (the wallet's `debits_pending`), then exactly one CAPTURE posts
up to the held amount (releasing the rest) or one VOID releases all of it.

One deliberate difference from TigerBeetle: a capture names its own credit account. The order
places its hold before any provider has accepted it, so the hold is credited to the kind's HOLDS
clearing account (whose `credits_pending` is the money reserved for open orders), and the
capture pays the provider's PAYABLE account that is known only by then.

Pure: `apply` takes a state and returns a new one; the caller persists it.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from services.vouchers.rules.money import format_yuan
from services.vouchers.rules.policy import VoucherKind
from shared.errors import Conflict, DomainError, FieldError, Invalid, NotFound


class AccountType(StrEnum):
    FUNDING = "funding"  # city budget per kind; debit-normal: its balance is what was issued
    WALLET = "wallet"  # one elder, one kind, one month
    HOLDS = "holds"  # per kind: money reserved for open orders (pending credits only)
    PAYABLE = "payable"  # per provider: redeemed, not yet paid out
    EXPIRED = "expired"  # per kind: unspent when the month ended
    SETTLED = "settled"  # paid out to providers


_DEBIT_NORMAL = frozenset({AccountType.FUNDING})


@dataclass(frozen=True)
class Account:
    type: AccountType
    kind: VoucherKind | None = None
    elder_id: str | None = None
    month: str | None = None
    provider_id: str | None = None

    @property
    def code(self) -> str:
        """The stable text key stored in the database, e.g. "wallet:community:2026-11:<elder>"."""
        match self.type:
            case AccountType.WALLET:
                return f"wallet:{self.kind}:{self.month}:{self.elder_id}"
            case AccountType.PAYABLE:
                return f"payable:{self.provider_id}"
            case AccountType.SETTLED:
                return "settled"
            case _:
                return f"{self.type}:{self.kind}"

    @classmethod
    def parse(cls, code: str) -> Account:
        head, _, rest = code.partition(":")
        kind_type = AccountType(head)
        if kind_type is AccountType.WALLET:
            kind, month, elder_id = rest.split(":", 2)
            return wallet_account(elder_id, VoucherKind(kind), month)
        if kind_type is AccountType.PAYABLE:
            return payable_account(rest)
        if kind_type is AccountType.SETTLED:
            return SETTLED_ACCOUNT
        return cls(kind_type, kind=VoucherKind(rest))

    def __str__(self) -> str:
        return self.code


def wallet_account(elder_id: object, kind: VoucherKind, month: str) -> Account:
    return Account(AccountType.WALLET, kind=VoucherKind(kind), elder_id=str(elder_id), month=month)


def funding_account(kind: VoucherKind) -> Account:
    return Account(AccountType.FUNDING, kind=VoucherKind(kind))


def holds_account(kind: VoucherKind) -> Account:
    return Account(AccountType.HOLDS, kind=VoucherKind(kind))


def payable_account(provider_id: object) -> Account:
    return Account(AccountType.PAYABLE, provider_id=str(provider_id))


def expired_account(kind: VoucherKind) -> Account:
    return Account(AccountType.EXPIRED, kind=VoucherKind(kind))


SETTLED_ACCOUNT = Account(AccountType.SETTLED)


@dataclass(frozen=True)
class AccountBalance:
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    @property
    def available_fen(self) -> int:
        """For credit-normal accounts (wallets): what a new hold may still take."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    def overdrawn_by(self, account: Account) -> int:
        """How far the account is past zero on its normal side, counting pending; 0 if not."""
        if account.type in _DEBIT_NORMAL:
            return max(0, self.credits_posted + self.credits_pending - self.debits_posted)
        return max(0, -self.available_fen)


class TransferKind(StrEnum):
    ISSUE = "issue"  # funding → wallet, on the 1st or on approval
    HOLD = "hold"  # wallet → holds, pending
    CAPTURE = "capture"  # wallet → payable, resolves a hold
    VOID = "void"  # wallet → holds, resolves a hold, posts nothing
    EXPIRE = "expire"  # wallet → expired, at month end
    SETTLE = "settle"  # payable → settled, when the provider is paid
    REVERSE = "reverse"  # a correction against an earlier posted transfer


_ALLOWED_ACCOUNTS: dict[TransferKind, frozenset[tuple[AccountType, AccountType]]] = {
    TransferKind.ISSUE: frozenset({(AccountType.FUNDING, AccountType.WALLET)}),
    TransferKind.HOLD: frozenset({(AccountType.WALLET, AccountType.HOLDS)}),
    TransferKind.CAPTURE: frozenset({(AccountType.WALLET, AccountType.PAYABLE)}),
    TransferKind.VOID: frozenset({(AccountType.WALLET, AccountType.HOLDS)}),
    TransferKind.EXPIRE: frozenset({(AccountType.WALLET, AccountType.EXPIRED)}),
    TransferKind.SETTLE: frozenset({(AccountType.PAYABLE, AccountType.SETTLED)}),
    # A reversed redemption goes back to the wallet while its month lasts, else to the budget;
    # a voucher issued in error goes back to the budget.
    TransferKind.REVERSE: frozenset({
        (AccountType.PAYABLE, AccountType.WALLET),
        (AccountType.PAYABLE, AccountType.FUNDING),
        (AccountType.WALLET, AccountType.FUNDING),
    }),
}
_RESOLVES_HOLD = frozenset({TransferKind.CAPTURE, TransferKind.VOID})


@dataclass(frozen=True)
class Transfer:
    id: str
    debit_account: Account
    credit_account: Account
    amount_fen: int
    kind: TransferKind
    pending_id: str | None = None  # the hold a capture or void resolves

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", str(self.id))
        object.__setattr__(self, "kind", TransferKind(self.kind))
        if self.pending_id is not None:
            object.__setattr__(self, "pending_id", str(self.pending_id))


def issue_transfer(transfer_id: object, elder_id: object, kind: VoucherKind, month: str, amount_fen: int) -> Transfer:
    return Transfer(str(transfer_id), funding_account(kind), wallet_account(elder_id, kind, month), amount_fen,
                    TransferKind.ISSUE)


def hold_transfer(transfer_id: object, wallet: Account, amount_fen: int) -> Transfer:
    return Transfer(str(transfer_id), wallet, holds_account(wallet.kind), amount_fen, TransferKind.HOLD)  # type: ignore[arg-type]


def capture_transfer(transfer_id: object, hold: Transfer, amount_fen: int, provider_id: object) -> Transfer:
    return Transfer(str(transfer_id), hold.debit_account, payable_account(provider_id), amount_fen,
                    TransferKind.CAPTURE, pending_id=hold.id)


def void_transfer(transfer_id: object, hold: Transfer) -> Transfer:
    return Transfer(str(transfer_id), hold.debit_account, hold.credit_account, hold.amount_fen,
                    TransferKind.VOID, pending_id=hold.id)


def settle_transfer(transfer_id: object, provider_id: object, amount_fen: int) -> Transfer:
    return Transfer(str(transfer_id), payable_account(provider_id), SETTLED_ACCOUNT, amount_fen, TransferKind.SETTLE)


@dataclass(frozen=True)
class LedgerState:
    """What `apply` needs: balances of the accounts involved (missing = zero), the open holds a
    capture or void may name, and the ids of holds already resolved. A caller may pass only the
    rows a transfer touches."""

    balances: Mapping[Account, AccountBalance] = field(default_factory=dict)
    open_holds: Mapping[str, Transfer] = field(default_factory=dict)
    resolved_hold_ids: frozenset[str] = frozenset()

    def balance(self, account: Account) -> AccountBalance:
        return self.balances.get(account, AccountBalance())


@dataclass(frozen=True)
class _Problem:
    code: str
    error: DomainError


def _shape_problem(transfer: Transfer) -> _Problem | None:
    amount = transfer.amount_fen
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        return _Problem("malformed", Invalid("金额应为正整数（分）", errors=[FieldError("amount_fen", "金额应为正整数（分）")]))
    debit, credit = transfer.debit_account, transfer.credit_account
    if (debit.type, credit.type) not in _ALLOWED_ACCOUNTS[transfer.kind]:
        return _Problem("malformed", Invalid(f"{transfer.kind} 不能从 {debit} 转到 {credit}"))
    if debit.kind and credit.kind and debit.kind != credit.kind:
        return _Problem("malformed", Invalid(f"券种不一致：{debit.kind.zh_name} 与 {credit.kind.zh_name}"))
    if (transfer.pending_id is not None) != (transfer.kind in _RESOLVES_HOLD):
        return _Problem("malformed", Invalid("只有结算（capture）与撤销（void）引用预扣记录"))
    return None


def _effect(transfer: Transfer, hold: Transfer | None,
            balance: Callable[[Account], AccountBalance]) -> dict[Account, AccountBalance]:
    """New balances of the accounts a transfer touches. `hold` is the pending transfer a capture
    or void resolves (None when it cannot be found: then only the posted part is booked)."""
    debit, credit, amount = transfer.debit_account, transfer.credit_account, transfer.amount_fen
    changed: dict[Account, AccountBalance] = {}

    def add(account: Account, **delta: int) -> None:
        current = changed.get(account) or balance(account)
        changed[account] = replace(current, **{k: getattr(current, k) + v for k, v in delta.items()})

    if transfer.kind is TransferKind.HOLD:
        add(debit, debits_pending=amount)
        add(credit, credits_pending=amount)
        return changed
    if hold is not None:
        add(hold.debit_account, debits_pending=-hold.amount_fen)
        add(hold.credit_account, credits_pending=-hold.amount_fen)
    if transfer.kind is not TransferKind.VOID:
        add(debit, debits_posted=amount)
        add(credit, credits_posted=amount)
    return changed


class _Book:
    """Mutable working copy shared by `apply` (one transfer) and replays (many)."""

    def __init__(self, state: LedgerState) -> None:
        self.balances = dict(state.balances)
        self.open_holds = dict(state.open_holds)
        self.resolved = set(state.resolved_hold_ids)

    def balance(self, account: Account) -> AccountBalance:
        return self.balances.get(account, AccountBalance())

    def problem(self, transfer: Transfer) -> _Problem | None:
        shape = _shape_problem(transfer)
        if shape:
            return shape
        hold = None
        if transfer.kind in _RESOLVES_HOLD:
            hold = self.open_holds.get(transfer.pending_id)  # type: ignore[arg-type]
            if hold is None and transfer.pending_id in self.resolved:
                return _Problem("hold_resolved_twice", Conflict("该预扣已结算或撤销，不能再次处理", hold_id=transfer.pending_id))
            if hold is None:
                return _Problem("unknown_hold", NotFound(f"预扣记录 {transfer.pending_id} 不存在"))
            if hold.debit_account != transfer.debit_account:
                return _Problem("malformed", Invalid("结算或撤销的账户与预扣不一致"))
            if transfer.kind is TransferKind.VOID and (
                transfer.credit_account != hold.credit_account or transfer.amount_fen != hold.amount_fen
            ):
                return _Problem("malformed", Invalid("撤销须针对预扣的全部金额"))
            if transfer.amount_fen > hold.amount_fen:
                message = f"结算金额 {format_yuan(transfer.amount_fen)} 元超过预扣金额 {format_yuan(hold.amount_fen)} 元"
                return _Problem("capture_exceeds_hold", Invalid(message, errors=[FieldError("amount_fen", message)]))
        for account, after in _effect(transfer, hold, self.balance).items():
            if after.overdrawn_by(account) > self.balance(account).overdrawn_by(account):
                return _Problem("overdrawn", _insufficient(account, self.balance(account), transfer.amount_fen))
        return None

    def post(self, transfer: Transfer) -> None:
        hold = self.open_holds.pop(transfer.pending_id, None) if transfer.pending_id else None
        if transfer.kind in _RESOLVES_HOLD:
            self.resolved.add(transfer.pending_id)  # type: ignore[arg-type]
        self.balances.update(_effect(transfer, hold, self.balance))
        if transfer.kind is TransferKind.HOLD:
            self.open_holds[transfer.id] = transfer

    def state(self) -> LedgerState:
        return LedgerState(self.balances, self.open_holds, frozenset(self.resolved))


def _insufficient(account: Account, before: AccountBalance, needed_fen: int) -> Conflict:
    available = before.available_fen if account.type not in _DEBIT_NORMAL else before.debits_posted - before.credits_posted
    available = max(available, 0)
    if account.type is AccountType.WALLET:
        what = f"{account.kind.zh_name}（{account.month}）"  # type: ignore[union-attr]
    else:
        what = f"账户 {account.code} "
    return Conflict(
        f"{what}余额不足：本次需 {format_yuan(needed_fen)} 元，可用余额 {format_yuan(available)} 元",
        account=account.code,
        available_fen=available,
    )


def apply(state: LedgerState, transfer: Transfer) -> LedgerState:
    """Book one transfer, or raise: `Invalid` for a malformed transfer or a capture above its
    hold, `NotFound` for an unknown hold, `Conflict` for a hold resolved twice or a debit beyond
    the available balance (with `available_fen` in the error). The input state is not changed."""
    book = _Book(state)
    found = book.problem(transfer)
    if found:
        raise found.error
    book.post(transfer)
    return book.state()


def replay(transfers: Iterable[Transfer], state: LedgerState | None = None) -> LedgerState:
    """`apply` over a sequence, without copying the state at every step."""
    book = _Book(state or LedgerState())
    for transfer in transfers:
        found = book.problem(transfer)
        if found:
            raise found.error
        book.post(transfer)
    return book.state()


@dataclass(frozen=True)
class Violation:
    code: str
    message: str  # zh-CN
    transfer_id: str | None = None
    account: str | None = None


@dataclass(frozen=True)
class InvariantReport:
    transfers_checked: int
    open_holds: int
    balances: Mapping[Account, AccountBalance]  # the sums of the transfers
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations


def check_invariants(transfers: Iterable[Transfer],
                     stored_balances: Mapping[Account, AccountBalance] | None = None) -> InvariantReport:
    """Replay the whole book and report every broken rule instead of stopping at the first:
    well-formed positive transfers with unique ids, no account past zero, every hold resolved at
    most once and never captured above its amount, debits equal credits over the book, and (if
    given) stored balances equal to the sums of the transfers. Bad transfers are still booked,
    since they are in the book; the report says where it went wrong."""
    book = _Book(LedgerState())
    seen: set[str] = set()
    violations: list[Violation] = []
    count = 0
    for transfer in transfers:
        count += 1
        if transfer.id in seen:
            violations.append(Violation("duplicate_id", "转账编号重复", transfer.id))
            continue
        seen.add(transfer.id)
        found = book.problem(transfer)
        if found:
            violations.append(Violation(found.code, found.error.detail, transfer.id))
            if not isinstance(transfer.amount_fen, int):
                continue  # cannot be booked at all; every other bad transfer is in the sums
        book.post(transfer)
    totals = [sum(getattr(b, name) for b in book.balances.values())
              for name in ("debits_posted", "credits_posted", "debits_pending", "credits_pending")]
    if totals[0] != totals[1] or totals[2] != totals[3]:
        violations.append(Violation("unbalanced", f"借贷不平：借方 {totals[0]} 分，贷方 {totals[1]} 分"))
    if stored_balances is not None:
        for account in sorted(set(stored_balances) | set(book.balances), key=lambda a: a.code):
            stored = stored_balances.get(account, AccountBalance())
            if stored != book.balance(account):
                violations.append(Violation("balance_mismatch", "账户余额与分录合计不符", account=account.code))
            if stored.overdrawn_by(account):
                violations.append(Violation("overdrawn", "账户余额为负", account=account.code))
    return InvariantReport(count, len(book.open_holds), dict(book.balances), tuple(violations))


@dataclass(frozen=True)
class HoldOutcome:
    held_fen: int
    captured_fen: int = 0
    released_fen: int = 0
    resolved_by: TransferKind | None = None  # None while open


def hold_outcomes(transfers: Iterable[Transfer]) -> dict[str, HoldOutcome]:
    """Per hold: how much was held, captured and released (captured + released = held once
    resolved). The first resolution counts, as in the book."""
    outcomes: dict[str, HoldOutcome] = {}
    for transfer in transfers:
        if transfer.kind is TransferKind.HOLD:
            outcomes.setdefault(transfer.id, HoldOutcome(held_fen=transfer.amount_fen))
        elif transfer.kind in _RESOLVES_HOLD:
            outcome = outcomes.get(transfer.pending_id)  # type: ignore[arg-type]
            if outcome is None or outcome.resolved_by is not None:
                continue
            captured = transfer.amount_fen if transfer.kind is TransferKind.CAPTURE else 0
            outcomes[transfer.pending_id] = replace(  # type: ignore[index]
                outcome, captured_fen=captured, released_fen=outcome.held_fen - captured, resolved_by=transfer.kind)
    return outcomes


def _new_transfer_id() -> str:
    return str(uuid.uuid4())


def expire_month(balances: Mapping[Account, AccountBalance], month: str,
                 new_id: Callable[[], str] = _new_transfer_id) -> list[Transfer]:
    """EXPIRE transfers for whatever the wallets of `month` still have available. Money under an
    open hold is not available, so it waits for the order's outcome; running this again after a
    late void sweeps the released amount, and a second run over an already-expired month yields
    nothing, which makes the month-end job safe to repeat."""
    return [
        Transfer(new_id(), account, expired_account(account.kind), balance.available_fen, TransferKind.EXPIRE)  # type: ignore[arg-type]
        for account, balance in sorted(balances.items(), key=lambda item: item[0].code)
        if account.type is AccountType.WALLET and account.month == month and balance.available_fen > 0
    ]
