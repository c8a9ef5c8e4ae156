"""Pure rules of meals at the counter (issue 23): the policy data's versions, which meal a time is,
the meal point's checks, the static card's name check and daily limit, the undo window, the
receipt. The codes themselves are in `rules/meal_codes.py`; the subsidy is vouchers' decision."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from services.orders.rules.meal_codes import ScanLimits
from shared.city import CITY_TZ
from shared.errors import Conflict, Forbidden, invalid_field
from shared.policy_data import in_force as policy_on  # noqa: F401 - the one chooser of a version

MEALS = {"lunch": "午餐", "dinner": "晚餐"}
METHODS = {"scanned": "扫码", "typed": "手工输入"}
MEAL_POINT_KIND = "meal_point"
REDEMPTION_ID_NAMESPACE = uuid.UUID("5b0f3f0e-6a51-4c1e-9d0b-2f9a7c3e6d21")  # services/providers/rules/registry.py KINDS


@dataclass(frozen=True)
class MealPolicy:
    version: str
    valid_from: date
    code_lifetime_s: int  # a dynamic code is good this long after it is shown
    clock_skew_s: int  # a counter's clock may run this far ahead
    sync_grace_h: int  # an offline scan may be synced this late
    static_daily_limit: int  # meals a day on the printed card
    undo_min: int  # the counter may undo a meal this long after taking it
    meals: dict[str, tuple[time, time]]  # meal -> local serving hours [from, to]

    @property
    def scan_limits(self) -> ScanLimits:
        return ScanLimits(lifetime_s=self.code_lifetime_s, clock_skew_s=self.clock_skew_s,
                          sync_grace_h=self.sync_grace_h)


def policy_from(data: dict) -> list[MealPolicy]:
    """The versions of the policy file, oldest first."""
    versions = [MealPolicy(version=str(v["version"]), valid_from=date.fromisoformat(v["valid_from"]),
                           code_lifetime_s=int(v["code_lifetime_s"]), clock_skew_s=int(v["clock_skew_s"]),
                           sync_grace_h=int(v["sync_grace_h"]), static_daily_limit=int(v["static_daily_limit"]),
                           undo_min=int(v["undo_min"]),
                           meals={m: (time.fromisoformat(a), time.fromisoformat(b)) for m, (a, b) in v["meals"].items()})
                for v in data["versions"]]
    return sorted(versions, key=lambda v: v.valid_from)


def meal_of(instant: datetime, policy: MealPolicy) -> str:
    """The meal served at `instant` (local serving hours, both ends included); 422 outside them, so
    the counter names the meal itself."""
    local = instant.astimezone(CITY_TZ).time()
    for meal, (start, end) in policy.meals.items():
        if start <= local <= end:
            return meal
    raise invalid_field("meal", "不在供餐时间内，请选择午餐或晚餐")


def check_meal_point(point: dict) -> None:
    """A counter works only at an approved provider of kind meal_point: else 403."""
    if point.get("kind") != MEAL_POINT_KIND:
        raise Forbidden("该服务商不是助餐点，不能核销助餐", provider_kind=point.get("kind"))
    if point.get("status") != "approved":
        raise Forbidden("该助餐点当前不在服务状态（未通过审核或已暂停），不能核销助餐", provider_status=point.get("status"))


def check_price(price_fen: int) -> None:
    if price_fen < 0:
        raise invalid_field("price_fen", "价格不能为负")


def check_static(*, confirm_name: bool, static_today: int, policy: MealPolicy) -> None:
    """A card shows the elder's name and the counter must confirm it (422 otherwise); at most
    `static_daily_limit` card meals a day (409)."""
    if not confirm_name:
        raise invalid_field("confirm_name", "请核对老人姓名", "凭卡用餐须先核对老人姓名，确认后再核销")
    if static_today >= policy.static_daily_limit:
        raise Conflict(f"该老人今日凭卡用餐已达 {policy.static_daily_limit} 次，请使用手机助餐码或自费",
                       static_today=static_today)


def undo_until(redeemed_at: datetime, policy: MealPolicy) -> datetime:
    return redeemed_at + timedelta(minutes=policy.undo_min)


def check_undo(*, redeemed_at: datetime, now: datetime, policy: MealPolicy) -> None:
    """409 past the undo window (its last instant still counts). Undoing an undone meal is the
    caller's no-op (the offline queue may send an undo twice)."""
    if now > undo_until(redeemed_at, policy):
        raise Conflict(f"核销已超过 {policy.undo_min} 分钟，不能撤销；如有错误请联系民政部门",
                       undo_until=undo_until(redeemed_at, policy).isoformat())


def receipt_zh(subsidy_fen: int, self_fen: int) -> str:
    """"补贴 5.00 元，自付 10.00 元" (amounts in fen, never negative)."""
    return "补贴 {}.{:02d} 元，自付 {}.{:02d} 元".format(*divmod(subsidy_fen, 100), *divmod(self_fen, 100))


def derive_redemption_id(scope: str, key: str | None, body_fingerprint: str) -> uuid.UUID:
    """From the counter, its Idempotency-Key and the body, so the offline queue's retry after a
    crash asks vouchers for the same subsidy (vouchers keys it by redemption id), not a second one."""
    if not key:
        return uuid.uuid4()
    return uuid.uuid5(REDEMPTION_ID_NAMESPACE, f"{scope}\n{key}\n{body_fingerprint}")
