"""The meal codes' pure rules (services/orders/rules/meal_codes.py) and the counter's
(rules/meals.py): signing and reading codes, the scan-time table, the card checks, the undo
window, the meal by the hour, the receipt."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.orders.meals import meal_policy
from services.orders.rules.meal_codes import CARD, DYNAMIC, ScanLimits, check_scan, parse_code, sign_code, verify_code
from services.orders.rules.meals import (
    check_meal_point,
    check_static,
    check_undo,
    derive_redemption_id,
    meal_of,
    receipt_zh,
)
from shared.city import CITY_TZ
from shared.errors import Conflict, Forbidden, Invalid

KEY = b"k" * 32
ELDER = uuid.UUID("6f1c2a0e-8d4b-4f57-9a51-0c3f7d2e9b10")
T0 = datetime(2026, 12, 1, 3, 30, tzinfo=timezone.utc)  # 11:30 in the city
LIMITS = ScanLimits(lifetime_s=60, clock_skew_s=30, sync_grace_h=24)


def code(kind: int = DYNAMIC, issued: datetime = T0) -> str:
    return sign_code(KEY, kind=kind, elder_id=ELDER, nonce=bytes.fromhex("a1b2c3d4e5f6"), issued_at=issued)


def test_the_text_form_is_yf1_and_fourteen_groups_of_four():
    text = code()
    groups = text.split("-")
    assert groups[0] == "YF1" and len(groups) == 15 and all(len(g) == 4 for g in groups[1:]), text
    assert len(text) == 73
    read = verify_code(KEY, text)
    assert (read.kind, read.elder_id, read.nonce, read.issued_at) == (DYNAMIC, ELDER, "a1b2c3d4e5f6", T0)
    assert read.code_id == ELDER.hex + "a1b2c3d4e5f6" and not read.static
    assert verify_code(KEY, code(CARD)).static


def test_typing_forgives_case_spaces_dashes_and_lookalike_digits():
    text = code()
    typed = text.lower().replace("-", " ")
    assert verify_code(KEY, typed).elder_id == ELDER
    # a typed O as 0, an I as 1, a B as 8
    letters = text[4:].replace("O", "0").replace("I", "1").replace("B", "8")
    assert verify_code(KEY, "YF1" + letters).elder_id == ELDER


@pytest.mark.parametrize("text", ["", "hello", "YF1-AAAA", "YF2-" + "A" * 56, "YF1-" + "A" * 55 + "!",
                                  "YF1-" + "A" * 57, None, "x" * 500])
def test_malformed_strings_are_422(text):
    with pytest.raises(Invalid) as e:
        verify_code(KEY, text)
    assert "格式" in e.value.errors[0].reason


def test_a_forged_byte_or_another_key_is_422():
    text = code()
    body, mac = parse_code(text)
    for position in (4, 40, 55):  # in the elder id, the issued time, the mac
        letters = list(text.replace("-", "")[3:])
        letters[position] = "A" if letters[position] != "A" else "B"
        forged = "YF1" + "".join(letters)
        with pytest.raises(Invalid) as e:
            verify_code(KEY, forged)
        assert "签名" in e.value.detail
    with pytest.raises(Invalid):
        verify_code(b"another key", text)


@pytest.mark.parametrize("scan_after_s, now_after_s, outcome", [
    (0, 0, None),
    (60, 60, None),  # exactly 60 s: still valid
    (61, 61, "expired"),
    (30, 3600, None),  # valid at the scan, synced an hour later: honoured
    (30, 24 * 3600 + 29, None),  # within the sync grace
    (30, 24 * 3600 + 31, "too_old"),
    (61, 3600, "expired"),  # expired at the scan, however it is synced
    (40, 0, "future"),  # the counter's clock 40 s ahead of the server: past the 30 s skew
])
def test_scan_time_table(scan_after_s, now_after_s, outcome):
    scanned, now = T0 + timedelta(seconds=scan_after_s), T0 + timedelta(seconds=now_after_s)
    read = verify_code(KEY, code())
    if outcome is None:
        check_scan(read, scanned_at=scanned, now=now, limits=LIMITS)
        return
    error = {"expired": Conflict, "too_old": Conflict, "future": Invalid}[outcome]
    with pytest.raises(error) as e:
        check_scan(read, scanned_at=scanned, now=now, limits=LIMITS)
    if outcome == "expired":
        assert e.value.detail == "已过期，请刷新"


def test_clock_skew_of_the_scan_time_in_the_future():
    read = verify_code(KEY, code())
    check_scan(read, scanned_at=T0 + timedelta(seconds=30), now=T0, limits=LIMITS)  # within the skew
    with pytest.raises(Invalid) as e:
        check_scan(read, scanned_at=T0 + timedelta(seconds=31), now=T0, limits=LIMITS)
    assert e.value.errors[0].field == "scanned_at"
    with pytest.raises(Invalid):  # scanned long before the code existed
        check_scan(read, scanned_at=T0 - timedelta(seconds=31), now=T0, limits=LIMITS)
    with pytest.raises(Invalid):  # no zone
        check_scan(read, scanned_at=T0.replace(tzinfo=None), now=T0, limits=LIMITS)


def test_a_card_never_expires_but_keeps_the_sync_grace_and_skew():
    card = verify_code(KEY, code(CARD, issued=T0 - timedelta(days=400)))
    check_scan(card, scanned_at=T0, now=T0, limits=LIMITS)
    with pytest.raises(Conflict):
        check_scan(card, scanned_at=T0 - timedelta(hours=25), now=T0, limits=LIMITS)


def test_policy_data_defaults():
    policy = meal_policy(T0.date())
    assert (policy.code_lifetime_s, policy.static_daily_limit, policy.undo_min, policy.sync_grace_h) == (60, 2, 10, 24)


def test_meal_by_the_hour():
    policy = meal_policy(T0.date())
    at = lambda h, m: datetime(2026, 12, 1, h, m, tzinfo=CITY_TZ)  # noqa: E731
    assert meal_of(at(11, 30), policy) == "lunch"
    assert meal_of(at(17, 0), policy) == "dinner"
    with pytest.raises(Invalid):
        meal_of(at(3, 0), policy)


def test_meal_point_checks():
    check_meal_point({"kind": "meal_point", "status": "approved"})
    for point in ({"kind": "meal_point", "status": "suspended"}, {"kind": "meal_point", "status": "applied"},
                  {"kind": "home_care_centre", "status": "approved"}):
        with pytest.raises(Forbidden):
            check_meal_point(point)


def test_card_name_and_daily_limit():
    policy = meal_policy(T0.date())
    check_static(confirm_name=True, static_today=1, policy=policy)
    with pytest.raises(Invalid):
        check_static(confirm_name=False, static_today=0, policy=policy)
    with pytest.raises(Conflict):
        check_static(confirm_name=True, static_today=2, policy=policy)


def test_undo_window_is_ten_minutes_inclusive():
    policy = meal_policy(T0.date())
    check_undo(redeemed_at=T0, now=T0 + timedelta(minutes=10), policy=policy)
    with pytest.raises(Conflict):
        check_undo(redeemed_at=T0, now=T0 + timedelta(minutes=10, seconds=1), policy=policy)


def test_receipt_and_redemption_ids():
    assert receipt_zh(500, 1000) == "补贴 5.00 元，自付 10.00 元"
    assert receipt_zh(0, 1505) == "补贴 0.00 元，自付 15.05 元"
    assert derive_redemption_id("s", "k", "f") == derive_redemption_id("s", "k", "f")
    assert derive_redemption_id("s", "k", "f") != derive_redemption_id("s", "k2", "f")
    assert derive_redemption_id("s", None, "") != derive_redemption_id("s", None, "")
