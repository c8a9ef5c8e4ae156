"""Money as integer fen (分). No floats anywhere: a float cannot hold 0.10 yuan exactly.

Rounding rule, everywhere in vouchers: the voucher's part of a price rounds DOWN to the fen and
the elder pays the remainder, so the government never pays a fraction of a fen more than its
share. On a 1-fen item at a 90% share the voucher pays 0 fen and the elder 1 fen.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from shared.errors import invalid_field

FEN_PER_YUAN = 100
FULL_SHARE_BP = 10_000  # basis points


@dataclass(frozen=True)
class Split:
    """How one price divides between the voucher and the elder; always sums to the price."""

    voucher_fen: int
    elder_fen: int

    @property
    def price_fen(self) -> int:
        return self.voucher_fen + self.elder_fen


def _require_fen(name: str, value: object) -> int:
    # bool is an int subclass; True fen is a bug, not a price.
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid_field(name, "金额应为整数（分）")
    if value < 0:
        raise invalid_field(name, "金额不能为负数")
    return value


def voucher_share_fen(price_fen: int, share_bp: int) -> int:
    """The voucher's share of a price before any wallet cap, rounded down to the fen."""
    _require_fen("price_fen", price_fen)
    if not isinstance(share_bp, int) or isinstance(share_bp, bool) or not 0 <= share_bp <= FULL_SHARE_BP:
        raise invalid_field("share_bp", "支付比例应为 0–10000 基点之间的整数")
    return price_fen * share_bp // FULL_SHARE_BP


def split_payment(price_fen: int, share_bp: int, available_fen: int) -> Split:
    """The voucher pays its share of the price, capped by what is left in the wallet; the elder
    pays everything else (including the part the cap cut off)."""
    share = voucher_share_fen(price_fen, share_bp)
    voucher = min(share, _require_fen("available_fen", available_fen))
    return Split(voucher_fen=voucher, elder_fen=price_fen - voucher)


def format_yuan(fen: int) -> str:
    """1250 → "12.50"; -5 → "-0.05". For people and exports, never for arithmetic."""
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{yuan}.{rest:02d}"


def format_yuan_short(fen: int) -> str:
    """For sentences: 60000 → "600", 60050 → "600.50", 5 → "0.05". Whole yuan lose the ".00"
    (a plan's "约 600 元" reads better), anything else keeps both decimals like `format_yuan`."""
    return format_yuan(fen).removesuffix(".00")


def parse_yuan(text: str, field: str = "amount") -> int:
    """"12.5" → 1250 fen. More than two decimals is refused rather than rounded: a typed price
    that does not fit in fen is a typing mistake the person should see."""
    try:
        amount = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise invalid_field(field, "金额格式不正确，应如 12.50") from None
    if not amount.is_finite():
        raise invalid_field(field, "金额格式不正确，应如 12.50")
    fen = amount * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise invalid_field(field, "金额最多两位小数")
    return int(fen)
