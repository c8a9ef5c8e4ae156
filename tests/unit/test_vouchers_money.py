"""Integer-fen arithmetic at its edges."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.vouchers.rules.money import Split, format_yuan, parse_yuan, split_payment
from shared.errors import Invalid


@pytest.mark.parametrize(
    ("price", "share_bp", "available", "expected"),
    [
        (10_000, 0, 50_000, Split(0, 10_000)),  # share 0: the elder pays all
        (10_000, 10_000, 50_000, Split(10_000, 0)),  # share 100%
        (10_000, 9_000, 50_000, Split(9_000, 1_000)),
        (1, 9_000, 50_000, Split(0, 1)),  # 0.9 fen rounds down: the elder pays the fen
        (1, 10_000, 50_000, Split(1, 0)),
        (1, 10_000, 0, Split(0, 1)),  # empty wallet
        (9_999, 7_000, 50_000, Split(6_999, 3_000)),  # 6999.3 → 6999
        (10_000, 10_000, 10_000, Split(10_000, 0)),  # wallet exactly enough
        (10_000, 10_000, 9_999, Split(9_999, 1)),  # 1 fen short: the elder pays it
        (10_000, 9_000, 8_999, Split(8_999, 1_001)),
        (0, 9_000, 100, Split(0, 0)),
    ],
)
def test_split_payment(price, share_bp, available, expected):
    assert split_payment(price, share_bp, available) == expected


@pytest.mark.parametrize(
    ("price", "share_bp", "available", "field"),
    [
        (-1, 9_000, 100, "price_fen"),
        (100, -1, 100, "share_bp"),
        (100, 10_001, 100, "share_bp"),
        (100, 9_000, -1, "available_fen"),
        (1.5, 9_000, 100, "price_fen"),
        (True, 9_000, 100, "price_fen"),
    ],
)
def test_split_payment_refuses_bad_input(price, share_bp, available, field):
    with pytest.raises(Invalid) as caught:
        split_payment(price, share_bp, available)
    assert caught.value.errors[0].field == field


@given(st.integers(0, 10**9), st.integers(0, 10_000), st.integers(0, 10**9))
def test_split_never_overpays_and_always_sums(price, share_bp, available):
    split = split_payment(price, share_bp, available)
    assert split.price_fen == price
    assert 0 <= split.voucher_fen <= min(available, price)
    assert split.voucher_fen * 10_000 <= price * share_bp  # never above the exact share


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0.00"), (1, "0.01"), (10, "0.10"), (1250, "12.50"), (100_000, "1000.00"), (-5, "-0.05"), (-1250, "-12.50")],
)
def test_format_yuan(fen, text):
    assert format_yuan(fen) == text


@pytest.mark.parametrize(("text", "fen"), [("12.50", 1250), ("12.5", 1250), ("0.01", 1), ("600", 60_000), (" 3 ", 300)])
def test_parse_yuan(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["12.505", "abc", "", "NaN", "Infinity"])
def test_parse_yuan_refuses(text):
    with pytest.raises(Invalid):
        parse_yuan(text)
