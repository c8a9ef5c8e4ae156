"""Pure rules of supervision at the door (issue 24): the code, tries and the lock, how a check-out
is confirmed, the no-show wait at its boundary, the repeated no-show window at its boundaries,
photo sniffing, the policy data's versions."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from services.orders.door import POLICY_FILE, door_policy
from services.orders.rules.door import (
    Confirmation,
    check_code,
    check_no_show_wait,
    choose_confirmation,
    confirmation_code,
    derive_key,
    policy_from,
    policy_on,
    repeated_no_shows,
    sniff_image,
)
from shared.errors import Conflict, Invalid

KEY = derive_key(b"test-secret")
ORDER = uuid.UUID("0b9e4c1d-2f3a-4e5b-8c6d-7e8f9a0b1c2d")
T0 = datetime(2026, 3, 10, 3, 0, tzinfo=timezone.utc)


def test_the_code_is_stable_digits_per_order_and_key():
    code = confirmation_code(KEY, ORDER, 4)
    assert len(code) == 4 and code.isdigit() and code == confirmation_code(KEY, ORDER, 4)
    assert len(confirmation_code(KEY, ORDER, 6)) == 6
    others = {confirmation_code(KEY, uuid.uuid4(), 4) for _ in range(200)}
    assert len(others) > 150  # spread over the 10,000 codes, not a handful
    other_key = derive_key(b"another-secret")
    orders = [uuid.uuid4() for _ in range(50)]
    assert sum(confirmation_code(other_key, o, 4) == confirmation_code(KEY, o, 4) for o in orders) <= 2  # key-bound
    assert derive_key(b"test-secret") != b"test-secret"  # the meal-code secret itself never signs a door code


@pytest.mark.parametrize(("attempts", "typed", "ok", "after", "locked", "status", "left"), [
    (0, "1234", True, 0, False, None, None),
    (0, " 1234 ", True, 0, False, None, None),  # spaces around the digits are not a wrong try
    (4, "1234", True, 4, False, None, None),  # the last try left, right: fine
    (0, "1235", False, 1, False, 422, 4),
    (3, "0000", False, 4, False, 422, 1),
    (4, "0000", False, 5, True, 409, None),  # the fifth wrong try locks
    (5, "1234", False, 5, True, 409, None),  # locked: even the right code
    (9, "0000", False, 9, True, 409, None),
])
def test_code_tries_and_the_lock(attempts, typed, ok, after, locked, status, left):
    result = check_code(typed, "1234", attempts=attempts, max_attempts=5)
    assert (result.ok, result.attempts, result.locked) == (ok, after, locked)
    if status is None:
        assert result.error is None
    else:
        assert result.error.status == status
        if status == 422:
            assert result.error.extra["attempts_left"] == left and f"还可以再试 {left} 次" in result.error.detail
            assert result.error.errors[0].field == "confirmation_code"
        else:
            assert isinstance(result.error, Conflict) and result.error.extra["reason"] == "code_locked"


@pytest.mark.parametrize(("code_ok", "family", "reason", "expected"), [
    (True, False, None, (Confirmation.CODE, None)),
    (False, True, None, (Confirmation.FAMILY, None)),
    (True, True, None, (Confirmation.FAMILY, None)),  # the family's tap came first
    (False, False, "老人没有手机", (Confirmation.UNCONFIRMED, "老人没有手机")),
    (False, False, "  老人耳背  ", (Confirmation.UNCONFIRMED, "老人耳背")),
    (False, True, "多余的原因", (Confirmation.FAMILY, None)),
])
def test_how_a_check_out_is_confirmed(code_ok, family, reason, expected):
    assert choose_confirmation(code_ok=code_ok, family_confirmed=family, reason=reason) == expected


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_unconfirmed_needs_a_reason(reason):
    with pytest.raises(Invalid) as raised:
        choose_confirmation(code_ok=False, family_confirmed=False, reason=reason)
    assert {e.field for e in raised.value.errors} == {"confirmation_code", "unconfirmed_reason"}


@pytest.mark.parametrize(("waited", "left"), [
    (timedelta(0), 15),
    (timedelta(minutes=1), 14),
    (timedelta(minutes=14), 1),
    (timedelta(minutes=14, seconds=1), 1),  # 59 s left: still "1 分钟"
    (timedelta(minutes=15) - timedelta(microseconds=1), 1),
    (timedelta(minutes=15), None),  # exactly 15:00: allowed
    (timedelta(minutes=15, seconds=1), None),
    (timedelta(hours=3), None),
])
def test_the_no_show_wait_boundary(waited, left):
    if left is None:
        check_no_show_wait(arrived_at=T0, now=T0 + waited, wait_min=15)
        return
    with pytest.raises(Conflict) as raised:
        check_no_show_wait(arrived_at=T0, now=T0 + waited, wait_min=15)
    assert raised.value.extra["minutes_left"] == left and f"还需等待 {left} 分钟" in raised.value.detail


A, B = uuid.UUID(int=1), uuid.UUID(int=2)


@pytest.mark.parametrize(("ago_days", "flagged"), [
    ([1, 2], True),
    ([0, 30], True),  # exactly 30 days ago still counts
    ([1, 30.0001], False),  # just past the window
    ([5], False),  # once is not repeated
    ([1, 2, 3], True),
    ([-1, 2], False),  # a record after `now` (clock skew) is not counted
    ([31, 45], False),
])
def test_repeated_no_shows_window(ago_days, flagged):
    now = T0
    seen = [(A, now - timedelta(days=d)) for d in ago_days] + [(B, now - timedelta(days=1))]
    result = repeated_no_shows(seen, now=now, count=2, days=30)
    assert (A in result) is flagged and B not in result
    if flagged:
        assert result[A] == sorted(result[A], reverse=True) and len(result[A]) == sum(0 <= d <= 30 for d in ago_days)


@pytest.mark.parametrize(("head", "kind"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"\xff\xd8\xff\xe1\x00\x10Exif", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
    (b"GIF89a\x01\x00", None),
    (b"RIFF\x00\x00\x00\x00WEBP", None),
    (b"<svg xmlns=", None),
    (b"\x89PNG\r\n", None),  # cut short
    (b"", None),
])
def test_photos_are_sniffed_by_magic_bytes(head, kind):
    assert sniff_image(head) == kind


def test_policy_versions_are_chosen_by_day():
    data = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    versions = policy_from(data)
    assert versions[0].no_show_wait_min == 15 and versions[0].code_digits == 4 and versions[0].code_max_attempts == 5
    assert (versions[0].repeat_no_show_count, versions[0].repeat_no_show_days) == (2, 30)
    later = dict(data["versions"][0], version="2027-01", valid_from="2027-01-01", no_show_wait_min=20)
    both = policy_from({"versions": [later, data["versions"][0]]})
    assert policy_on(both, date(2026, 12, 31)).no_show_wait_min == 15
    assert policy_on(both, date(2027, 1, 1)).no_show_wait_min == 20
    assert door_policy(date(2026, 3, 10)) == versions[0]
