"""Meals at the counter (issue 23): codes, cards, look-up, redemptions, the bureau's report."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.orders.schemas._common import (
    ELDER,
    ORDER,
    PROVIDER,
    LocalDateTime,
)

MEAL_CODE = "YF1-AEPN-YJIO-RVE4-XQZK-HOWQ-ZXJY-6AHZ-OI4X-4AAA-AAGZ-BQNC-EVH3-JSWC-L5EQ"


class MealCodeOut(BaseModel):
    """The elder's dynamic code: show it as a QR code, refresh before `expires_at` (60 s)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": MEAL_CODE, "issued_at": "2026-12-01T11:30:00+08:00", "expires_at": "2026-12-01T11:31:00+08:00",
        "lifetime_s": 60}]})
    code: str
    issued_at: str
    expires_at: str
    lifetime_s: int


class MealCardOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "card_id": ORDER, "elder_id": ELDER, "elder_name": "张桂兰", "code": MEAL_CODE,
        "issued_at": "2026-12-01T09:00:00+08:00", "revoked_cards": 0}]})
    card_id: str
    elder_id: str
    elder_name: str | None
    code: str  # printed on the card; the elder's earlier cards no longer work
    issued_at: str
    revoked_cards: int


class MealLookupIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"code": MEAL_CODE}]})
    code: str = Field(max_length=200)


class MealToday(BaseModel):
    meal: str
    meal_name: str
    provider_name: str | None
    redeemed_at: str | None
    static: bool
    subsidy_fen: int


class MealLookupOut(BaseModel):
    """Who the code is, in full (the counter hands the meal to that person); a card must have the
    name confirmed before the meal is taken."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "elder_id": ELDER, "elder_name": "张桂兰", "static": False, "confirm_name_required": False,
        "tier": "low_income_80", "code_expires_at": "2026-12-01T11:31:00+08:00", "today": [],
        "static_left_today": None}]})
    elder_id: str
    elder_name: str | None
    static: bool
    confirm_name_required: bool
    tier: str | None  # as vouchers last reported it for this elder (None before the first meal)
    code_expires_at: str | None
    today: list[MealToday]
    static_left_today: int | None


class MealRedemptionIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": MEAL_CODE, "meal": "lunch", "price_fen": 1500, "scanned_at": "2026-12-01T11:30:20+08:00",
        "method": "scanned", "confirm_name": False}]})
    code: str = Field(max_length=200)
    meal: Literal["lunch", "dinner"] | None = None  # None: by the serving hours at scanned_at
    price_fen: int = Field(ge=0, le=100_000)
    scanned_at: LocalDateTime  # the counter's clock when the code was scanned or typed (offline: long before)
    method: Literal["scanned", "typed"] = "scanned"
    confirm_name: bool = False  # a card: the counter checked the name shown


class MealRedemptionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "redemption_id": ORDER, "elder_id": ELDER, "elder_name": "张桂兰", "provider_id": PROVIDER,
        "provider_name": "城中社区助餐点", "meal": "lunch", "meal_name": "午餐", "meal_date": "2026-12-01",
        "price_fen": 1500, "subsidy_fen": 500, "self_fen": 1000, "tier": "low_income_80", "reason_zh": None,
        "receipt_zh": "补贴 5.00 元，自付 10.00 元", "method": "scanned", "method_name": "扫码", "static": False,
        "scanned_at": "2026-12-01T11:30:20+08:00", "redeemed_at": "2026-12-01T11:30:21+08:00",
        "undo_until": "2026-12-01T11:40:21+08:00", "undone_at": None}]})
    redemption_id: str
    elder_id: str
    elder_name: str | None
    provider_id: str
    provider_name: str | None
    meal: str
    meal_name: str
    meal_date: str
    price_fen: int
    subsidy_fen: int
    self_fen: int
    tier: str | None
    reason_zh: str | None  # vouchers' words when the subsidy is 0 or cut (cap reached, wallet empty)
    receipt_zh: str
    method: str
    method_name: str
    static: bool
    scanned_at: str | None
    redeemed_at: str | None
    undo_until: str | None
    undone_at: str | None


class MealReportRow(BaseModel):
    provider_id: str
    provider_name: str | None
    meal_date: str
    tier: str | None
    meals: int
    price_fen: int
    subsidy_fen: int
    self_fen: int
    static_meals: int
    typed_meals: int


class MealClaim(BaseModel):
    provider_id: str
    provider_name: str | None
    meals: int
    subsidy_fen: int  # what the point is owed for the month (vouchers' settlement pays it)


class MealReportOut(BaseModel):
    month: str
    district_code: str | None
    rows: list[MealReportRow]
    claims: list[MealClaim]
    total_meals: int
    total_subsidy_fen: int
