"""The rules of placing an order: the service window, the payment kinds, the order's id."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from shared.errors import FieldError, Invalid, invalid_field

ORDER_ID_NAMESPACE = uuid.UUID("5b0f1f6e-2d7c-4c59-9a59-6a1f3c1e7d10")
MAX_WINDOW = timedelta(hours=12)
MAX_AHEAD = timedelta(days=92)
PAST_GRACE = timedelta(minutes=1)  # clocks differ a little between a phone and the server
PAYMENT_KINDS = ("community", "mutual_aid", "institutional", "self_pay")
VOUCHER_NAMES = {"community": "社区照护券", "mutual_aid": "邻里互助券", "institutional": "机构托养券"}


def check_payment(payment: str, item: dict) -> None:
    if payment not in PAYMENT_KINDS:
        raise invalid_field("payment", "不是可选的支付方式")
    if payment != "self_pay" and payment not in (item.get("voucher_kinds") or []):
        name = VOUCHER_NAMES.get(payment, payment)
        raise invalid_field("payment", f"该服务不能使用{name}",
                            f"「{item.get('name', item.get('code'))}」不能使用{name}支付，请选择其他券种或自费")


def check_window(start: datetime, end: datetime, now: datetime) -> None:
    errors = []
    if end <= start:
        errors.append(FieldError("window_end", "结束时间应晚于开始时间"))
    elif end - start > MAX_WINDOW:
        errors.append(FieldError("window_end", "服务时间段不能超过 12 小时"))
    if start < now - PAST_GRACE:
        errors.append(FieldError("window_start", "服务时间已过，请选择以后的时间"))
    elif start > now + MAX_AHEAD:
        errors.append(FieldError("window_start", "最多只能预约三个月内的服务"))
    if errors:
        raise Invalid("服务时间有误：" + "；".join(e.reason for e in errors), errors=errors)


def derive_order_id(scope: str, key: str | None, body_fingerprint: str) -> uuid.UUID:
    """Derived from the caller, the idempotency key and the body's fingerprint, so a retry after a
    crash asks vouchers for the same hold (vouchers keys holds by order id) instead of a second one."""
    if not key:
        return uuid.uuid4()
    return uuid.uuid5(ORDER_ID_NAMESPACE, f"{scope}\n{key}\n{body_fingerprint}")
