"""What an elder's departure (death, or a move out of the city) does to their orders and recurring
rules, decided without I/O: `departure.end_services` loads the rows, asks here, and writes.

The real date counts, not the day the change reaches us (a death is often entered days later):
every order whose window starts on or after midnight (Asia/Shanghai) of `status_date` and that
nobody has started yet is cancelled. For a date in the past that includes every such order still
ahead of now. An order before that date stays: the elder was there, and its service (or its
absence) is settled as usual. An order in service, disputed, completed or settled is never
touched here: a service that happened is settled, and vouchers' audit finds money captured after
the date. Without a date (an older event), the day the change arrives stands in for it.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from services.orders.rules.lifecycle import Actor, Command, OrderState, allowed_commands
from shared.city import CITY_TZ, local_day

# status → why the rules end and the orders are cancelled (a person reads it)
DEPARTURE_REASONS: dict[str, str] = {"deceased": "老人已故", "moved_away": "老人已迁出"}
OPEN_RULE_STATUSES = frozenset({"active", "paused"})  # ended stays as a person ended it
# not yet in service: the states the platform may cancel (placed, offered, unmatched, accepted)
CANCELLABLE_STATES = frozenset(s.value for s in OrderState
                               if Command.CANCEL in allowed_commands(s, actor=Actor.PLATFORM))


@dataclass(frozen=True, slots=True)
class Departure:
    reason: str  # "老人已故" / "老人已迁出"
    status_date: date  # the real date (or the day the change arrived, when the event has none)
    cutoff: datetime  # aware: midnight of `status_date` in Asia/Shanghai

    @property
    def order_reason(self) -> str:
        """The cancelled order's reason, shown to the elder's family and the provider."""
        return f"{self.reason}（{self.status_date.isoformat()}），订单自动取消"


@dataclass(frozen=True, slots=True)
class OrderFacts:
    id: uuid.UUID
    state: str
    window_start: datetime  # aware


@dataclass(frozen=True, slots=True)
class RuleFacts:
    id: uuid.UUID
    status: str  # active | paused | ended
    start_date: date
    end_date: date | None


@dataclass(frozen=True, slots=True)
class RuleEnding:
    id: uuid.UUID
    end_date: date | None  # the rule's last day after ending (unchanged when it never ran)
    reason: str


def departure_of(status: str | None, status_date: date | str | None, *, now: datetime) -> Departure | None:
    """The departure an elder's status announces, or None while the elder is on the register."""
    reason = DEPARTURE_REASONS.get(status or "")
    if reason is None:
        return None
    if isinstance(status_date, str):
        status_date = date.fromisoformat(status_date[:10])
    day = status_date or local_day(now)
    return Departure(reason, day, datetime.combine(day, time(0), tzinfo=CITY_TZ))


def orders_to_cancel(departure: Departure, orders: list[OrderFacts]) -> list[uuid.UUID]:
    """The orders the departure cancels, in window order."""
    hit = [o for o in orders if o.window_start >= departure.cutoff and o.state in CANCELLABLE_STATES]
    return [o.id for o in sorted(hit, key=lambda o: (o.window_start, str(o.id)))]


def rules_to_end(departure: Departure, rules: list[RuleFacts]) -> list[RuleEnding]:
    """Every active or paused rule ends; its last day becomes the day before the departure (never
    later than an end it already had; a rule that had not begun by then keeps its dates)."""
    endings = []
    last_day = departure.status_date - timedelta(days=1)
    for rule in rules:
        if rule.status not in OPEN_RULE_STATUSES:
            continue
        end = rule.end_date
        if last_day >= rule.start_date:
            end = last_day if end is None else min(end, last_day)
        endings.append(RuleEnding(rule.id, end, departure.reason))
    return endings
