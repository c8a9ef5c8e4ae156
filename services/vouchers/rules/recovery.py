"""Recovery (追缴) after an elder's death or move out of the city: which captures count, the amount
per provider, and how stored findings follow a recomputation.

The real date of the death or move (the event's `status_date`) decides, not the day the change
reached this service. A capture counts when its service started on or after that date (its
Shanghai day; a service's start is its completion less its duration), net of what was already
reversed. Vouchers stop with the month of the date: the month after it issues nothing (a run issues
only to elders active when it runs, so a death recorded before the run of its own month also
gets nothing that month).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.vouchers.rules.audit import RULE_TITLES, SERVICE_AFTER_DEPARTURE
from services.vouchers.rules.calendar import local_date, month_of_date, next_month
from services.vouchers.rules.money import format_yuan

DEPARTURE_NAMES = {"deceased": "去世", "moved_away": "迁出本市"}


@dataclass(frozen=True)
class Capture:
    """One redemption as far as recovery cares: what the voucher paid, what was reversed of it."""

    redemption_id: str
    provider_id: str
    amount_fen: int
    completed_at: datetime  # aware
    duration_min: int | None = None
    reversed_fen: int = 0

    @property
    def service_day(self) -> date:
        return local_date(self.completed_at - timedelta(minutes=self.duration_min or 0))

    @property
    def net_fen(self) -> int:
        return self.amount_fen - self.reversed_fen


def after_departure(capture: Capture, departed_on: date) -> bool:
    """The day of departure itself counts: the contract's "on or after"."""
    return capture.service_day >= departed_on


def first_month_without_vouchers(departed_on: date) -> str:
    return next_month(month_of_date(departed_on))


def voucher_owed_in(month: str, departed_on: date | None) -> bool:
    """Whether the date leaves `month`'s voucher owed: every month up to the date's own."""
    return departed_on is None or month < first_month_without_vouchers(departed_on)


@dataclass(frozen=True)
class Recovery:
    provider_id: str
    redemption_ids: tuple[str, ...]  # in the order the services were completed
    amount_fen: int


def recoveries(captures: Iterable[Capture], departed_on: date | None) -> list[Recovery]:
    """Per provider, the captures after the date with money still to recover; by provider id."""
    if departed_on is None:
        return []
    by_provider: dict[str, list[Capture]] = defaultdict(list)
    for capture in captures:
        if capture.net_fen > 0 and after_departure(capture, departed_on):
            by_provider[capture.provider_id].append(capture)
    return [Recovery(provider, tuple(c.redemption_id for c in sorted(group, key=lambda c: (c.completed_at, c.redemption_id))),
                     sum(c.net_fen for c in group))
            for provider, group in sorted(by_provider.items())]


def recovery_key(elder_id: object, provider_id: object) -> str:
    """One finding per elder and provider, whatever the date: a new date recomputes it."""
    return f"{SERVICE_AFTER_DEPARTURE}:{elder_id}|{provider_id}"


def recovery_title() -> str:
    return RULE_TITLES[SERVICE_AFTER_DEPARTURE]


def explain(recovery: Recovery, *, departed_on: date, status: str) -> str:
    how = DEPARTURE_NAMES.get(status, "去世或迁出")
    return (f"老人已于 {departed_on.isoformat()} {how}，此后该服务商仍核销 {len(recovery.redemption_ids)} 笔，"
            f"共 {format_yuan(recovery.amount_fen)} 元，应予追缴；自 {first_month_without_vouchers(departed_on)} "
            f"起不再发放代金券")


@dataclass(frozen=True)
class Stored:
    status: str  # open | dismissed | actioned
    redemption_ids: tuple[str, ...]
    amount_fen: int
    explanation: str
    month: str


@dataclass(frozen=True)
class Change:
    key: str
    recovery: Recovery
    status: str


@dataclass
class Plan:
    insert: list[tuple[str, Recovery]]
    update: list[Change]
    delete: list[str]


def plan_findings(stored: Mapping[str, Stored], wanted: Mapping[str, Recovery], *, explanation: Mapping[str, str],
                  month: str) -> Plan:
    """How the stored findings of one elder follow a recomputation (a redelivery, a new date, a
    new capture). A dismissal sticks. An open finding follows the new figures, and goes when
    nothing is left to recover. An actioned one stays as it is, unless captures it did not cover
    appear: then it is open again with those (a reversal skips what is already reversed)."""
    plan = Plan([], [], [])
    for key, recovery in wanted.items():
        old = stored.get(key)
        if old is None:
            plan.insert.append((key, recovery))
            continue
        if old.status == "dismissed":
            continue
        same = (old.redemption_ids, old.amount_fen, old.explanation, old.month) == (
            recovery.redemption_ids, recovery.amount_fen, explanation[key], month)
        if same:
            continue
        uncovered = set(recovery.redemption_ids) - set(old.redemption_ids)
        status = "open" if old.status == "open" or uncovered else old.status
        if old.status == "actioned" and not uncovered:
            continue  # the action covered all of it: its record stays as acted on
        plan.update.append(Change(key, recovery, status))
    plan.delete = sorted(key for key, old in stored.items() if key not in wanted and old.status == "open")
    return plan
