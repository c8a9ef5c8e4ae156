"""The vouchers service's schemas: spending."""
from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from services.vouchers.rules.policy import VoucherKind
from services.vouchers.schemas._common import (
    ELDER,
    HOLD,
    MAX_PRICE_FEN,
    ORDER,
    _example,
)


class QuoteIn(BaseModel):
    model_config = _example(elder_id=ELDER, kind="community", price_fen=6000)
    elder_id: UUID
    kind: VoucherKind
    price_fen: int = Field(gt=0, le=MAX_PRICE_FEN, description="服务价格（分）")


class QuoteOut(BaseModel):
    model_config = _example(kind="community", price_fen=6000, voucher_fen=5400, elder_fen=600, share_bp=9000,
                            available_fen=30000)
    kind: str
    price_fen: int
    voucher_fen: int = Field(description="券支付（分），按比例并以本月可用余额为上限")
    elder_fen: int = Field(description="老人自付（分）")
    share_bp: int = Field(description="券支付比例（基点，10000 = 100%）")
    available_fen: int = Field(description="本月该券种可用余额（分）")


class HoldIn(BaseModel):
    model_config = _example(order_id=ORDER, elder_id=ELDER, kind="community", price_fen=6000, service_code="meal")
    order_id: UUID
    elder_id: UUID
    kind: VoucherKind
    price_fen: int = Field(gt=0, le=MAX_PRICE_FEN)
    service_code: str = Field(min_length=1, max_length=50)


class HoldOut(BaseModel):
    model_config = _example(hold_id=HOLD, order_id=ORDER, kind="community", voucher_fen=5400, elder_fen=600,
                            share_bp=9000, status="held")
    hold_id: str
    order_id: str
    kind: str
    voucher_fen: int
    elder_fen: int
    share_bp: int
    status: str = Field(description="held 已预扣 / captured 已核销 / released 已释放")


class HoldDetail(HoldOut):
    price_fen: int
    captured_fen: int | None
    month: str


class VoidOut(BaseModel):
    model_config = _example(hold_id=HOLD, status="released")
    hold_id: str
    status: str


class WalletVoucher(BaseModel):
    voucher_id: str
    kind: str
    kind_name: str
    face_value_fen: int
    available_fen: int
    held_fen: int
    spent_fen: int
    expired_fen: int
    share_bp: int
    valid_until: str


class WalletOut(BaseModel):
    model_config = _example(elder_id=ELDER, month="2026-11", total_available_fen=24600, vouchers=[{
        "voucher_id": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", "kind": "community", "kind_name": "社区照护券",
        "face_value_fen": 30000, "available_fen": 24600, "held_fen": 0, "spent_fen": 5400, "expired_fen": 0,
        "share_bp": 9000, "valid_until": "2026-11-30"}])
    elder_id: str
    month: str
    vouchers: list[WalletVoucher]
    total_available_fen: int


class HistoryEntry(BaseModel):
    transfer_id: str
    time: str = Field(description="北京时间")
    month: str
    kind: str
    kind_name: str
    action: str
    action_name: str
    amount_fen: int
    amount_yuan: str
    available_change_fen: int = Field(description="对本月可用余额的影响（分），负数为减少")
    order_id: str | None
    description: str


class HistoryOut(BaseModel):
    model_config = _example(elder_id=ELDER, month="2026-11", entries=[{
        "transfer_id": "e1", "time": "2026-11-01T00:00:05+08:00", "month": "2026-11", "kind": "community",
        "kind_name": "社区照护券", "action": "issue", "action_name": "发放", "amount_fen": 30000,
        "amount_yuan": "300.00", "available_change_fen": 30000, "order_id": None,
        "description": "2026-11 月社区照护券发放 300.00 元"}])
    elder_id: str
    month: str | None
    entries: list[HistoryEntry]
