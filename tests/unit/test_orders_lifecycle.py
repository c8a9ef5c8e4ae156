"""The order state machine: every legal transition, and every other state × command refused."""
from __future__ import annotations

import itertools

import pytest

from services.orders.rules.lifecycle import (
    STATE_LABELS,
    Actor,
    Command,
    OrderState,
    Resolution,
    allowed_commands,
    is_terminal,
    transition,
)
from shared.errors import Conflict

S, C, A, R = OrderState, Command, Actor, Resolution

# (state, command, actor, resolution) -> new state. Everything not listed must be refused.
LEGAL: dict[tuple[OrderState, Command, Actor | None, Resolution | None], OrderState] = {
    (S.PLACED, C.OFFER, None, None): S.OFFERED,
    (S.PLACED, C.MARK_UNMATCHED, None, None): S.UNMATCHED,
    (S.OFFERED, C.OFFER, None, None): S.OFFERED,
    (S.OFFERED, C.DECLINE, None, None): S.OFFERED,
    (S.OFFERED, C.OFFER_EXPIRED, None, None): S.OFFERED,
    (S.OFFERED, C.ACCEPT, None, None): S.ACCEPTED,
    (S.OFFERED, C.MARK_UNMATCHED, None, None): S.UNMATCHED,
    (S.UNMATCHED, C.RETRY_DISPATCH, None, None): S.PLACED,
    (S.ACCEPTED, C.CHECK_IN, None, None): S.IN_SERVICE,
    (S.IN_SERVICE, C.CHECK_OUT, None, None): S.COMPLETED,
    (S.IN_SERVICE, C.DISPUTE, None, None): S.DISPUTED,
    (S.IN_SERVICE, C.MARK_NO_SHOW, None, None): S.NO_SHOW,  # 老人不在家 (issue 24)
    (S.COMPLETED, C.CONFIRM, None, None): S.COMPLETED,
    (S.COMPLETED, C.DISPUTE, None, None): S.DISPUTED,
    (S.COMPLETED, C.SETTLE, None, None): S.SETTLED,
    (S.SETTLED, C.CONFIRM, None, None): S.SETTLED,
    (S.DISPUTED, C.RESOLVE, None, R.UPHELD): S.COMPLETED,
    (S.DISPUTED, C.RESOLVE, None, R.VOIDED): S.CANCELLED,
    # The elder's side and the platform cancel freely before check-in …
    **{
        (state, C.CANCEL, actor, None): S.CANCELLED
        for state in (S.PLACED, S.OFFERED, S.UNMATCHED, S.ACCEPTED)
        for actor in (A.ELDER, A.FAMILY, A.PLATFORM)
    },
    # … a provider that gives back an accepted order sends it back to dispatch.
    (S.ACCEPTED, C.CANCEL, A.PROVIDER, None): S.PLACED,
}


def every_call():
    """Every state × command, with each actor for cancel and each resolution for resolve."""
    for state, command in itertools.product(OrderState, Command):
        if command is C.CANCEL:
            for actor in Actor:
                yield state, command, actor, None
        elif command is C.RESOLVE:
            for resolution in Resolution:
                yield state, command, None, resolution
        else:
            yield state, command, None, None


@pytest.mark.parametrize(("state", "command", "actor", "resolution"), list(LEGAL))
def test_legal_transitions(state, command, actor, resolution):
    assert transition(state, command, actor=actor, resolution=resolution) is LEGAL[(state, command, actor, resolution)]


@pytest.mark.parametrize(
    ("state", "command", "actor", "resolution"), [call for call in every_call() if call not in LEGAL]
)
def test_every_other_transition_is_refused_naming_the_state(state, command, actor, resolution):
    with pytest.raises(Conflict) as raised:
        transition(state, command, actor=actor, resolution=resolution)
    error = raised.value
    assert error.status == 409
    assert error.extra["current_state"] == state.value
    assert f"「{STATE_LABELS[state]}」" in error.detail
    assert command.label in error.detail


def test_the_exhaustive_table_covers_every_state_and_command():
    calls = list(every_call())
    assert len(calls) == len(OrderState) * (len(Command) - 2 + len(Actor) + len(Resolution))
    assert set(LEGAL) <= set(calls)


@pytest.mark.parametrize(
    ("state", "actor", "words"),
    [
        (S.IN_SERVICE, A.ELDER, "服务已开始，不能取消；如有问题请发起争议"),
        (S.IN_SERVICE, A.PROVIDER, "发起争议"),
        (S.COMPLETED, A.FAMILY, "服务已完成"),
        (S.CANCELLED, A.ELDER, "订单已经取消"),
        (S.DISPUTED, A.PLATFORM, "正在处理争议"),
        (S.OFFERED, A.PROVIDER, "请直接拒单"),
    ],
)
def test_cancel_refusals_say_what_to_do_instead(state, actor, words):
    with pytest.raises(Conflict) as raised:
        transition(state, C.CANCEL, actor=actor)
    assert words in raised.value.detail
    assert raised.value.extra["actor"] == actor.value


def test_the_message_reads_naturally():
    with pytest.raises(Conflict) as raised:
        transition("in_service", "cancel", actor="family")
    assert raised.value.detail == "订单当前状态为「服务中」，不能取消。服务已开始，不能取消；如有问题请发起争议。"


def test_strings_are_accepted_for_every_argument():
    assert transition("placed", "offer") is S.OFFERED
    assert transition("disputed", "resolve", resolution="voided") is S.CANCELLED


@pytest.mark.parametrize(("command", "kwargs"), [(C.CANCEL, {}), (C.RESOLVE, {})])
def test_cancel_needs_an_actor_and_resolve_a_resolution(command, kwargs):
    state = S.DISPUTED if command is C.RESOLVE else S.PLACED
    with pytest.raises(ValueError):
        transition(state, command, **kwargs)


def test_unknown_state_or_command_is_a_programming_error():
    with pytest.raises(ValueError):
        transition("shipped", "offer")
    with pytest.raises(ValueError):
        transition("placed", "teleport")


@pytest.mark.parametrize("state", list(OrderState))
def test_allowed_commands_agree_with_transition(state):
    for actor in Actor:
        allowed = allowed_commands(state, actor=actor)
        for command in Command:
            calls = [c for c in every_call() if c[0] is state and c[1] is command and c[2] in (None, actor)]
            legal = any(call in LEGAL for call in calls)
            assert (command in allowed) == legal, (state, actor, command)


def test_happy_path_and_terminal_states():
    state = S.PLACED
    for command in (C.OFFER, C.DECLINE, C.OFFER, C.ACCEPT, C.CHECK_IN, C.CHECK_OUT, C.CONFIRM, C.SETTLE):
        state = transition(state, command)
    assert state is S.SETTLED
    assert is_terminal(state) and is_terminal("cancelled") and is_terminal("no_show")
    assert not any(is_terminal(s) for s in OrderState if s not in (S.SETTLED, S.CANCELLED, S.NO_SHOW))


def test_every_state_has_a_zh_label():
    assert {s.label for s in OrderState} == {
        "已下单", "派单中", "已接单", "服务中", "已完成", "已结算", "已取消", "未匹配", "有争议", "老人不在家"}
