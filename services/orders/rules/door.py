"""Pure rules of supervision at the door (issue 24): the policy data's versions, the order's
confirmation code (derived with HMAC, never stored), checking a typed code with a lock after too
many wrong tries, how a check-out is confirmed, the wait before "老人不在家", repeated no-shows,
and what an uploaded photo is (by its first bytes, not by what the browser says)."""
from __future__ import annotations

import hashlib
import hmac
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from shared.errors import Conflict, FieldError, Invalid
from shared.policy_data import in_force as policy_on  # noqa: F401 - the one chooser of a version


@dataclass(frozen=True)
class DoorPolicy:
    version: str
    valid_from: date
    code_digits: int  # length of the confirmation code shown on the elder's page
    code_max_attempts: int  # wrong codes before code entry is locked for the order
    no_show_wait_min: int  # the caregiver waits this long after check-in before "老人不在家"
    repeat_no_show_count: int  # this many no-shows of one elder ...
    repeat_no_show_days: int  # ... within this many days are flagged to the officer


def policy_from(data: dict) -> list[DoorPolicy]:
    """The versions of the policy file, oldest first."""
    versions = [DoorPolicy(version=str(v["version"]), valid_from=date.fromisoformat(v["valid_from"]),
                           code_digits=int(v["code_digits"]), code_max_attempts=int(v["code_max_attempts"]),
                           no_show_wait_min=int(v["no_show_wait_min"]),
                           repeat_no_show_count=int(v["repeat_no_show_count"]),
                           repeat_no_show_days=int(v["repeat_no_show_days"]))
                for v in data["versions"]]
    return sorted(versions, key=lambda v: v.valid_from)


# ---- the confirmation code --------------------------------------------------------------------


def derive_key(secret: bytes) -> bytes:
    """The door codes' own key, derived from the service's secret (domain-separated, so a door code
    says nothing about a meal code signed with the same secret)."""
    return hmac.new(secret, b"youfu/door-confirmation/v1", hashlib.sha256).digest()


def confirmation_code(key: bytes, order_id: uuid.UUID, digits: int) -> str:
    """The order's code: HMAC-SHA256(key, order id) as a zero-padded decimal of `digits` digits.
    Nothing is stored: whoever holds the key computes it again; nobody without it can."""
    mac = hmac.new(key, b"order:" + order_id.bytes, hashlib.sha256).digest()
    return str(int.from_bytes(mac[:8], "big") % 10**digits).zfill(digits)


class Confirmation(str, Enum):
    CODE = "code"  # the caregiver typed the code shown on the elder's page
    FAMILY = "family"  # a linked family member confirmed remotely while the service ran
    UNCONFIRMED = "unconfirmed"  # neither: the caregiver said why

    @property
    def label(self) -> str:
        return {"code": "老人确认码确认", "family": "家属远程确认", "unconfirmed": "未确认"}[self.value]


@dataclass(frozen=True)
class CodeCheck:
    ok: bool
    attempts: int  # wrong tries so far, after this one
    locked: bool  # code entry is now locked for the order
    error: Invalid | Conflict | None  # raised by the caller once the attempt is stored


def check_code(typed: str, expected: str, *, attempts: int, max_attempts: int) -> CodeCheck:
    """One typed code against the order's: right → ok; wrong → one more attempt counted (422,
    with the tries left); at `max_attempts` wrong tries code entry locks (409, also for a right
    code typed afterwards: a lock is a lock)."""
    if attempts >= max_attempts:
        return CodeCheck(False, attempts, True, locked_error())
    if hmac.compare_digest(typed.strip().encode(), expected.encode()):
        return CodeCheck(True, attempts, False, None)
    attempts += 1
    if attempts >= max_attempts:
        return CodeCheck(False, attempts, True, locked_error())
    left = max_attempts - attempts
    message = f"确认码不对，还可以再试 {left} 次。请老人打开手机上的订单页面，核对 {len(expected)} 位确认码。"
    return CodeCheck(False, attempts, False,
                     Invalid(message, errors=[FieldError("confirmation_code", message)], attempts_left=left))


def locked_error() -> Conflict:
    return Conflict("确认码输错次数过多，已锁定。请请家属在手机上远程确认，或填写无法确认的原因后签退。",
                    reason="code_locked")


def choose_confirmation(*, code_ok: bool, family_confirmed: bool, reason: str | None) -> tuple[Confirmation, str | None]:
    """How a check-out is confirmed: the family's remote confirmation or a right code; else the
    caregiver's reason (required: 422 without one)."""
    if family_confirmed:
        return Confirmation.FAMILY, None
    if code_ok:
        return Confirmation.CODE, None
    reason = (reason or "").strip() or None
    if reason is None:
        message = "请输入老人页面上的确认码，或请家属远程确认；都做不到时请填写无法确认的原因。"
        raise Invalid(message, errors=[FieldError("confirmation_code", "请输入确认码"),
                                       FieldError("unconfirmed_reason", "无法确认时必须填写原因")])
    return Confirmation.UNCONFIRMED, reason


# ---- not at home ------------------------------------------------------------------------------


def check_no_show_wait(*, arrived_at: datetime, now: datetime, wait_min: int) -> None:
    """"老人不在家" only once the caregiver has waited `wait_min` minutes since check-in (exactly
    then counts); before that 409 saying how many minutes are left (rounded up)."""
    due = arrived_at + timedelta(minutes=wait_min)
    if now >= due:
        return
    left = max(1, math.ceil((due - now).total_seconds() / 60))
    raise Conflict(f"签到后需等待 {wait_min} 分钟才能登记「老人不在家」，还需等待 {left} 分钟。请先联系老人或家属。",
                   reason="wait_not_over", minutes_left=left)


def repeated_no_shows(no_shows: Iterable[tuple[uuid.UUID, datetime]], *, now: datetime, count: int,
                      days: int) -> dict[uuid.UUID, list[datetime]]:
    """Elders with at least `count` no-shows in the last `days` days up to `now` (an instant
    exactly `days` days ago still counts); each with their no-show instants, newest first."""
    since = now - timedelta(days=days)
    seen: dict[uuid.UUID, list[datetime]] = {}
    for elder_id, at in no_shows:
        if since <= at <= now:
            seen.setdefault(elder_id, []).append(at)
    return {e: sorted(ats, reverse=True) for e, ats in seen.items() if len(ats) >= count}


# ---- photos -----------------------------------------------------------------------------------

PHOTO_STAGES = {"checkin": "签到", "checkout": "签退"}


def sniff_image(head: bytes) -> str | None:
    """"image/jpeg" or "image/png" by the file's magic bytes, else None (whatever its name or
    declared type)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None
