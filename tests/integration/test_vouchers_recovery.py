"""Issue 20, the vouchers side: an elder's death or move recorded with its real date. The money
captured for services from that date on becomes a recovery finding per provider at once (not only
when an officer runs the month's rules); the auditor's reversal of such a finding reverses exactly
those captures; the month after the date issues nothing; an assistance change is followed by next
month's issuance. Each test works in its own district so that totals are exact."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from services.vouchers.models import AnomalyFindingRow, ElderRow, VoucherRow
from shared.city import CITY_TZ
from tests.integration.vouchers_harness import (
    ASSESSMENT_TOPIC,
    MARCH_10,
    complete,
    completion,
    elder_event,
    ledger_stays_sound,
    place_hold,
    register,
    vouchers,
)
from tests.support.waiting import wait_for

__all__ = ["vouchers", "ledger_stays_sound"]  # module fixtures, imported for pytest
SH = CITY_TZ
APRIL_20 = datetime(2026, 4, 20, 9, 0, tzinfo=SH)
JINGJIANG, TAIXING, JIANGYAN, XINGHUA, HAILING, GAOGANG = "321282", "321283", "321204", "321281", "321202", "321203"
RULE = "service_after_departure"


async def _depart(vouchers, elder: uuid.UUID, *, district: str, status: str, on: str | None, economic: str = "dibao",
                  event_id: str | None = None) -> None:
    data = elder_event(elder, district=district, economic=economic, status=status) | {
        "status_date": on, "changed_fields": ["status", "status_date"]}
    await vouchers.publish(ASSESSMENT_TOPIC, "youfu.elder.updated.v1", str(elder), data, event_id=event_id)


async def _findings(vouchers, elder: uuid.UUID) -> dict[str, tuple[int, int, str]]:
    """provider → (amount, number of redemptions, status) of the elder's recovery findings."""
    async with vouchers.db.sessions() as s:
        rows = (await s.execute(sa.select(AnomalyFindingRow).where(
            AnomalyFindingRow.elder_id == elder, AnomalyFindingRow.rule == RULE))).scalars().all()
    return {str(r.provider_id): (r.amount_fen, len(r.redemption_ids), r.status) for r in rows}


async def _spend(vouchers, elder, provider, *, at: str, district: str, price: int = 5000) -> dict:
    hold = await place_hold(vouchers, elder, price)
    await complete(vouchers, completion(hold, elder=elder, provider=provider, amount_fen=price, completed_at=at,
                                        district=district))
    return hold


async def test_death_dated_last_week_finds_every_yuan_spent_since(vouchers):
    """The bug: `departed_on` was the day the change arrived, so spending between the real date
    and that day went unseen by the audit rule."""
    vouchers.clock.now = datetime(2026, 4, 10, 9, 0, tzinfo=SH)
    elder, p1, p2 = await register(vouchers, district=JIANGYAN), uuid.uuid4(), uuid.uuid4()
    vouchers.clock.now = APRIL_20
    # each 5000 fen at 90%: 4500 fen of voucher money; services of 45 minutes
    await _spend(vouchers, elder, p1, at="2026-04-12T03:00:00+00:00", district=JIANGYAN)  # before the death
    await _spend(vouchers, elder, p1, at="2026-04-13T03:00:00+00:00", district=JIANGYAN)  # the day itself
    await _spend(vouchers, elder, p1, at="2026-04-15T03:00:00+00:00", district=JIANGYAN)
    await _spend(vouchers, elder, p2, at="2026-04-16T03:00:00+00:00", district=JIANGYAN)
    await _depart(vouchers, elder, district=JIANGYAN, status="deceased", on="2026-04-13")

    async def departed():
        return await vouchers.scalar(sa.select(ElderRow.departed_on).where(ElderRow.elder_id == elder))

    assert str(await wait_for(departed, what="the death recorded")) == "2026-04-13"
    async with vouchers.client("officer", district=JIANGYAN) as officer:
        findings = (await officer.get("/anomalies", params={"month": "2026-04"})).json()
    mine = sorted((f["provider_id"], f["amount_fen"], len(f["redemption_ids"])) for f in findings
                  if f["rule"] == RULE and f["elder_id"] == str(elder))
    assert mine == sorted([(str(p1), 9000, 2), (str(p2), 4500, 1)])
