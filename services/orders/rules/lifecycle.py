"""The order life cycle as one pure state machine.

    placed ──offer──> offered ──accept──> accepted ──check_in──> in_service ──check_out──> completed ──settle──> settled
      │                 │  ↺ offer / decline / offer_expired        │                   │                │
      │                 └──mark_unmatched──> unmatched ──retry_dispatch──> placed       └──dispute──> disputed
      └──────── cancel (before check-in) ──> cancelled
    disputed ──resolve──> completed | cancelled
    in_service ──mark_no_show──> no_show   (老人不在家: the caregiver waited at the door; nothing captured)

`offered` (派单中) means "dispatch is running": a decline or a missed deadline keeps the order in
`offered` while the dispatch policy picks the next candidate, so grab mode (several offers open at
once) needs no extra states. Who cancels matters: the elder's side (elder, family) or the platform
may cancel any time before check-in; a provider that gave up an accepted order sends it back to
dispatch instead. After check-in nobody cancels: a problem with a service in progress is a dispute.

No I/O here: the use cases (`delivery`, `dispatch/`) load the order, calls `transition`, writes the new state and its events.
"""
from __future__ import annotations

from enum import Enum

from shared.errors import Conflict


class OrderState(str, Enum):
    PLACED = "placed"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    IN_SERVICE = "in_service"
    COMPLETED = "completed"
    SETTLED = "settled"
    CANCELLED = "cancelled"
    UNMATCHED = "unmatched"
    DISPUTED = "disputed"
    NO_SHOW = "no_show"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


class Command(str, Enum):
    OFFER = "offer"
    ACCEPT = "accept"
    DECLINE = "decline"
    OFFER_EXPIRED = "offer_expired"
    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"
    CONFIRM = "confirm"
    SETTLE = "settle"
    CANCEL = "cancel"
    MARK_UNMATCHED = "mark_unmatched"
    RETRY_DISPATCH = "retry_dispatch"
    DISPUTE = "dispute"
    RESOLVE = "resolve"
    MARK_NO_SHOW = "mark_no_show"

    @property
    def label(self) -> str:
        return COMMAND_LABELS[self]


class Actor(str, Enum):
    """Who issues a command; only `cancel` reads it."""

    ELDER = "elder"
    FAMILY = "family"
    PROVIDER = "provider"
    PLATFORM = "platform"  # civil-affairs officer, admin, or the platform's own jobs


class Resolution(str, Enum):
    """How a dispute ends: the service stands (goes on to settlement) or is voided (hold released)."""

    UPHELD = "upheld"
    VOIDED = "voided"


STATE_LABELS: dict[OrderState, str] = {
    OrderState.PLACED: "已下单",
    OrderState.OFFERED: "派单中",
    OrderState.ACCEPTED: "已接单",
    OrderState.IN_SERVICE: "服务中",
    OrderState.COMPLETED: "已完成",
    OrderState.SETTLED: "已结算",
    OrderState.CANCELLED: "已取消",
    OrderState.UNMATCHED: "未匹配",
    OrderState.DISPUTED: "有争议",
    OrderState.NO_SHOW: "老人不在家",
}

COMMAND_LABELS: dict[Command, str] = {
    Command.OFFER: "派单",
    Command.ACCEPT: "接单",
    Command.DECLINE: "拒单",
    Command.OFFER_EXPIRED: "派单超时",
    Command.CHECK_IN: "签到",
    Command.CHECK_OUT: "签退",
    Command.CONFIRM: "确认服务",
    Command.SETTLE: "结算",
    Command.CANCEL: "取消",
    Command.MARK_UNMATCHED: "标记为未匹配",
    Command.RETRY_DISPATCH: "重新派单",
    Command.DISPUTE: "发起争议",
    Command.RESOLVE: "处理争议",
    Command.MARK_NO_SHOW: "登记老人不在家",
}

S, C = OrderState, Command

# Every transition that does not depend on who asks or how a dispute ends.
_TRANSITIONS: dict[tuple[OrderState, Command], OrderState] = {
    (S.PLACED, C.OFFER): S.OFFERED,
    (S.PLACED, C.MARK_UNMATCHED): S.UNMATCHED,
    (S.OFFERED, C.OFFER): S.OFFERED,  # the next candidate (sequential) or the next round (grab)
    (S.OFFERED, C.DECLINE): S.OFFERED,
    (S.OFFERED, C.OFFER_EXPIRED): S.OFFERED,
    (S.OFFERED, C.ACCEPT): S.ACCEPTED,
    (S.OFFERED, C.MARK_UNMATCHED): S.UNMATCHED,
    (S.UNMATCHED, C.RETRY_DISPATCH): S.PLACED,
    (S.ACCEPTED, C.CHECK_IN): S.IN_SERVICE,
    (S.IN_SERVICE, C.CHECK_OUT): S.COMPLETED,
    (S.IN_SERVICE, C.DISPUTE): S.DISPUTED,
    (S.IN_SERVICE, C.MARK_NO_SHOW): S.NO_SHOW,
    (S.COMPLETED, C.CONFIRM): S.COMPLETED,  # confirming and rating records a review, not a new state
    (S.COMPLETED, C.DISPUTE): S.DISPUTED,
    (S.COMPLETED, C.SETTLE): S.SETTLED,
    (S.SETTLED, C.CONFIRM): S.SETTLED,  # settlement is fast and automatic; the elder may rate after it
}

# cancel: (state, actor) -> new state. Absent pairs are refused.
_ELDER_SIDE = (Actor.ELDER, Actor.FAMILY, Actor.PLATFORM)
_CANCELLATIONS: dict[tuple[OrderState, Actor], OrderState] = {
    **{(state, actor): S.CANCELLED for state in (S.PLACED, S.OFFERED, S.UNMATCHED, S.ACCEPTED) for actor in _ELDER_SIDE},
    (S.ACCEPTED, Actor.PROVIDER): S.PLACED,  # the provider gives the order back; dispatch finds another
}

_RESOLUTIONS: dict[Resolution, OrderState] = {Resolution.UPHELD: S.COMPLETED, Resolution.VOIDED: S.CANCELLED}

TERMINAL_STATES: frozenset[OrderState] = frozenset({S.SETTLED, S.CANCELLED, S.NO_SHOW})


def transition(
    state: OrderState | str,
    command: Command | str,
    *,
    actor: Actor | str | None = None,
    resolution: Resolution | str | None = None,
) -> OrderState:
    """The state after `command`, or `Conflict` (409) naming the current state.

    `actor` is required for `cancel`; `resolution` for `resolve`. Both are ignored otherwise.
    """
    state, command = OrderState(state), Command(command)
    if command is C.CANCEL:
        if actor is None:
            raise ValueError("cancel needs an actor")
        actor = Actor(actor)
        new_state = _CANCELLATIONS.get((state, actor))
        if new_state is None:
            raise _refusal(state, command, _cancel_hint(state, actor), actor=actor.value)
        return new_state
    if command is C.RESOLVE:
        if state is not S.DISPUTED:
            raise _refusal(state, command, "只有「有争议」的订单可以处理争议。")
        if resolution is None:
            raise ValueError("resolve needs a resolution")
        return _RESOLUTIONS[Resolution(resolution)]
    new_state = _TRANSITIONS.get((state, command))
    if new_state is None:
        raise _refusal(state, command, _HINTS.get(command, ""))
    return new_state


def allowed_commands(state: OrderState | str, *, actor: Actor | str | None = None) -> list[Command]:
    """The commands `transition` accepts in `state` (for `actor`, when given), in declaration order.

    Pages use it to show only the buttons that work.
    """
    state = OrderState(state)
    allowed = {command for (from_state, command) in _TRANSITIONS if from_state is state}
    actors = [Actor(actor)] if actor is not None else list(Actor)
    if any((state, a) in _CANCELLATIONS for a in actors):
        allowed.add(C.CANCEL)
    if state is S.DISPUTED:
        allowed.add(C.RESOLVE)
    return [command for command in Command if command in allowed]


def is_terminal(state: OrderState | str) -> bool:
    return OrderState(state) in TERMINAL_STATES


def _refusal(state: OrderState, command: Command, hint: str, **extra: object) -> Conflict:
    detail = f"订单当前状态为「{state.label}」，不能{command.label}。{hint}".rstrip()
    return Conflict(detail, current_state=state.value, command=command.value, **extra)


# What to do instead, keyed by the refused command (a person reads these, so they say the next step).
_HINTS: dict[Command, str] = {
    C.OFFER: "只有已下单或派单中的订单可以派单。",
    C.ACCEPT: "该订单不在派单中，可能已被接单、已取消或派单已结束。",
    C.DECLINE: "该订单不在派单中，无需拒单。",
    C.OFFER_EXPIRED: "该订单不在派单中。",
    C.CHECK_IN: "接单后才能签到。",
    C.CHECK_OUT: "签到开始服务后才能签退。",
    C.CONFIRM: "服务完成后才能确认和评价。",
    C.SETTLE: "服务完成且无争议的订单才能结算。",
    C.MARK_UNMATCHED: "只有尚未接单的订单可以标记为未匹配。",
    C.RETRY_DISPATCH: "只有未匹配的订单可以重新派单。",
    C.DISPUTE: "服务开始后、结算前才能发起争议；结算后的问题请联系民政部门处理。",
    C.MARK_NO_SHOW: "签到后、签退前才能登记老人不在家。",
}


def _cancel_hint(state: OrderState, actor: Actor) -> str:
    if state is S.IN_SERVICE:
        return "服务已开始，不能取消；如有问题请发起争议。"
    if state is S.DISPUTED:
        return "订单正在处理争议，请等待处理结果。"
    if state in (S.COMPLETED, S.SETTLED):
        return "服务已完成，不能取消；如有问题请发起争议。"
    if state is S.CANCELLED:
        return "订单已经取消。"
    if state is S.NO_SHOW:
        return "护理员上门时老人不在家，订单已结束。"
    if actor is Actor.PROVIDER:
        return "服务商只能退回已接的订单；尚未接单时请直接拒单。"
    return ""
