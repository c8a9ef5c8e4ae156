"""Voucher uptake for the bureau's dashboard: what was issued, per month (the vouchers' month) ×
district × kind. What was spent is the spend report's (`audit.spend_by_month`); the gateway puts
the two side by side and divides. District officers see their district, city officers the city."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers.access import acting_district
from services.vouchers.models import VoucherRow
from services.vouchers.rules.calendar import check_month_range
from services.vouchers.rules.policy import VoucherKind
from services.vouchers.views import district_name
from shared.auth import Principal, require_role

MAX_MONTHS = 36


async def issued_by_month(session: AsyncSession, *, principal: Principal, from_month: str, to_month: str,
                          district_code: str | None) -> dict:
    require_role(principal, "officer", "city_officer")
    district = acting_district(principal, district_code)
    check_month_range(from_month, to_month, max_months=MAX_MONTHS)
    v = VoucherRow
    q = (sa.select(v.month, v.district_code, v.kind, sa.func.count(), sa.func.coalesce(sa.func.sum(v.face_value_fen), 0))
         .where(v.month >= from_month, v.month <= to_month)
         .group_by(v.month, v.district_code, v.kind).order_by(v.month, v.district_code, v.kind))
    if district:
        q = q.where(v.district_code == district)
    rows = [{"month": month, "district_code": code, "district_name": district_name(code) if code else None,
             "kind": kind, "kind_name": VoucherKind(kind).zh_name, "issued_count": count, "issued_fen": int(fen)}
            for month, code, kind, count, fen in (await session.execute(q)).all()]
    return {"from_month": from_month, "to_month": to_month, "district_code": district, "rows": rows}
