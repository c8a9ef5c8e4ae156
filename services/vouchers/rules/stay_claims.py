"""Monthly bed-day claims for institutional stays: what one stay is worth to each institution in
one month, and how the 机构托养券 shares it with the elder. Pure: no clock, no database.

How days are counted (docs/decisions.md, D43, stay claims):
- A stay covers the half-open days [admitted_on, ended_on): the admission day is billed, the day
  of discharge or death is not (the night is what a bed is for, and the day an elder leaves is
  the next stay's or home's). Death on the 1st therefore bills nothing in that month.
- A transfer on day T: days before T are the old bed's, T and after the new bed's. A transfer
  between institutions makes one claim per institution for the month.
- A leave covers its days away, `starts_on` to `ends_on` both included (a return on day R ends it
  on R − 1: the day back is a day present). A leave without an end lasts until the return or the
  end of the stay.
- A long-term stay's leave days are paid at the bed's rate up to the policy's cap a month, the
  first ones in the month first; later ones are not paid. A respite stay is billed by the day
  present, its leave days unpaid unless the policy says otherwise.
- The amount is each billed day's daily rate, summed. The voucher pays its share (by economic
  status, as for any purchase) of each of the month's claims in order, until the month's face
  value is used; the elder pays the rest.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from services.vouchers.rules.calendar import parse_month
from services.vouchers.rules.money import Split, split_payment
from services.vouchers.rules.policy import StayClaimRules

SERVICE_CODE = "institutional_care"  # the catalogue's 机构托养: how claims show in spend and settlements


class StayKind(StrEnum):
    LONG_TERM = "long_term"
    RESPITE = "respite"


class DayStatus(StrEnum):
    PRESENT = "present"
    PAID_LEAVE = "paid_leave"
    UNPAID_LEAVE = "unpaid_leave"

    @property
    def zh_name(self) -> str:
        return {"present": "在院", "paid_leave": "请假（计费）", "unpaid_leave": "请假（超出上限，不计费）"}[self.value]


@dataclass(frozen=True)
class BedPeriod:
    """The bed an elder holds from `starts_on` until the next period (a transfer) or the end."""

    starts_on: date
    provider_id: str
    care_level: str
    daily_rate_fen: int
    bed_id: str | None = None


@dataclass(frozen=True)
class Leave:
    starts_on: date
    ends_on: date | None = None  # the last day away; None: not back yet
    kind: str = "home"  # home | hospital

    def covers(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


@dataclass(frozen=True)
class Stay:
    stay_id: str
    elder_id: str
    kind: StayKind
    admitted_on: date
    beds: tuple[BedPeriod, ...]  # in date order; the first starts on the admission day
    leaves: tuple[Leave, ...] = ()
    ended_on: date | None = None  # discharge or death; that day is not billed

    def is_open_on(self, day: date) -> bool:
        return self.admitted_on <= day and (self.ended_on is None or day < self.ended_on)

    def bed_on(self, day: date) -> BedPeriod | None:
        current = None
        for period in sorted(self.beds, key=lambda b: b.starts_on):
            if period.starts_on <= day:
                current = period
        return current if self.is_open_on(day) else None

    def on_leave(self, day: date) -> bool:
        return any(leave.covers(day) for leave in self.leaves)


@dataclass(frozen=True)
class ClaimLine:
    """Consecutive-or-not days of one status at one rate, for the bill."""

    status: DayStatus
    care_level: str
    daily_rate_fen: int
    days: int

    @property
    def amount_fen(self) -> int:
        return 0 if self.status is DayStatus.UNPAID_LEAVE else self.days * self.daily_rate_fen


@dataclass(frozen=True)
class BedDayClaim:
    """One stay's days in one institution in one month."""

    stay_id: str
    elder_id: str
    provider_id: str
    month: str
    first_day: date
    last_day: date
    lines: tuple[ClaimLine, ...] = field(default=())

    def _days(self, status: DayStatus) -> int:
        return sum(line.days for line in self.lines if line.status is status)

    @property
    def present_days(self) -> int:
        return self._days(DayStatus.PRESENT)

    @property
    def paid_leave_days(self) -> int:
        return self._days(DayStatus.PAID_LEAVE)

    @property
    def unpaid_leave_days(self) -> int:
        return self._days(DayStatus.UNPAID_LEAVE)

    @property
    def billed_days(self) -> int:
        return self.present_days + self.paid_leave_days

    @property
    def amount_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)


def days_of_month(month: str) -> list[date]:
    year, number = parse_month(month)
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return [first + timedelta(days=n) for n in range((following - first).days)]


def claims_for_month(stay: Stay, month: str, rules: StayClaimRules) -> list[BedDayClaim]:
    """The stay's claims for `month`, one per institution, in the order the elder was there.
    An institution with no billed day in the month (only unpaid leave) gets no claim."""
    leave_cap = rules.paid_leave_days_per_month if (
        stay.kind is StayKind.LONG_TERM or rules.respite_leave_paid) else 0
    paid_leave = 0
    days: dict[str, list[tuple[date, DayStatus, BedPeriod]]] = {}
    for day in days_of_month(month):
        bed = stay.bed_on(day)
        if bed is None:
            continue
        if not stay.on_leave(day):
            status = DayStatus.PRESENT
        elif paid_leave < leave_cap:
            status, paid_leave = DayStatus.PAID_LEAVE, paid_leave + 1
        else:
            status = DayStatus.UNPAID_LEAVE
        days.setdefault(bed.provider_id, []).append((day, status, bed))
    claims = []
    for provider_id, entries in days.items():
        counts: dict[tuple[DayStatus, str, int], int] = {}
        for _, status, bed in entries:
            key = (status, bed.care_level, bed.daily_rate_fen)
            counts[key] = counts.get(key, 0) + 1
        claim = BedDayClaim(stay.stay_id, stay.elder_id, provider_id, month, entries[0][0], entries[-1][0],
                            tuple(ClaimLine(s, level, rate, n) for (s, level, rate), n in counts.items()))
        if claim.billed_days:
            claims.append(claim)
    return claims


def elder_claims_for_month(stays: Iterable[Stay], month: str, rules: StayClaimRules) -> list[BedDayClaim]:
    """Every claim of one elder's stays in `month`, in date order (the order the voucher pays)."""
    claims = [claim for stay in stays for claim in claims_for_month(stay, month, rules)]
    return sorted(claims, key=lambda c: (c.first_day, c.provider_id))


def share_claims(amounts_fen: Sequence[int], share_bp: int, face_value_fen: int) -> list[Split]:
    """The voucher's part of each of a month's claims, in order: its share of each, until the
    month's face value is used (the same rounding as any purchase: down to the fen)."""
    left = face_value_fen
    splits = []
    for amount in amounts_fen:
        split = split_payment(amount, share_bp, left)
        left -= split.voucher_fen
        splits.append(split)
    return splits


def open_stay_outside_leave(stays: Iterable[Stay], day: date) -> Stay | None:
    """The stay an elder is living in on `day` and not away on leave from, if any (the audit's
    home-service rule: a home service on such a day is a question to ask)."""
    return next((stay for stay in stays if stay.is_open_on(day) and not stay.on_leave(day)), None)
