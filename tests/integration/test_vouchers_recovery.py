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


async def test_recovery_follows_redelivery_a_new_date_and_late_captures_then_reverses_exactly(vouchers):
    vouchers.clock.now = datetime(2026, 4, 10, 9, 0, tzinfo=SH)
    elder, p1, p2 = await register(vouchers, district=TAIXING), uuid.uuid4(), uuid.uuid4()
    vouchers.clock.now = APRIL_20
    late = await place_hold(vouchers, elder, 5000)  # an order still in service when the death is recorded
    await _spend(vouchers, elder, p1, at="2026-04-13T03:00:00+00:00", district=TAIXING)
    await _spend(vouchers, elder, p1, at="2026-04-15T03:00:00+00:00", district=TAIXING)
    await _spend(vouchers, elder, p2, at="2026-04-16T03:00:00+00:00", district=TAIXING)
    event_id = str(uuid.uuid4())
    await _depart(vouchers, elder, district=TAIXING, status="moved_away", on="2026-04-13", event_id=event_id)
    expected = {str(p1): (9000, 2, "open"), str(p2): (4500, 1, "open")}
    await wait_for(lambda: _is(_findings(vouchers, elder), expected), what="recovery findings created at once")
    async with vouchers.db.sessions() as s:
        texts = (await s.execute(sa.select(AnomalyFindingRow.explanation, AnomalyFindingRow.month).where(
            AnomalyFindingRow.elder_id == elder))).all()
    assert all("2026-04-13 迁出本市" in text and "自 2026-05 起不再发放" in text and month == "2026-04"
               for text, month in texts)

    # the same event again (a redelivery, and a republish under a new id): nothing doubles
    await _depart(vouchers, elder, district=TAIXING, status="moved_away", on="2026-04-13", event_id=event_id)
    await _depart(vouchers, elder, district=TAIXING, status="moved_away", on="2026-04-13")
    # a corrected date recomputes the same findings: p1 keeps only the 15th
    await _depart(vouchers, elder, district=TAIXING, status="moved_away", on="2026-04-15")
    expected = {str(p1): (4500, 1, "open"), str(p2): (4500, 1, "open")}
    await wait_for(lambda: _is(_findings(vouchers, elder), expected), what="findings recomputed for the new date")

    # a capture arriving after the move was recorded joins the provider's finding
    await complete(vouchers, completion(late, elder=elder, provider=p2, amount_fen=5000, district=TAIXING,
                                        completed_at="2026-04-17T03:00:00+00:00"))
    expected = {str(p1): (4500, 1, "open"), str(p2): (9000, 2, "open")}
    await wait_for(lambda: _is(_findings(vouchers, elder), expected), what="a late capture recovered")

    async with vouchers.client("officer", district=TAIXING) as officer:
        listed = [f for f in (await officer.get("/anomalies", params={"month": "2026-04"})).json()
                  if f["rule"] == RULE and f["elder_id"] == str(elder)]
        assert sorted((f["provider_id"], f["amount_fen"]) for f in listed) == sorted([(str(p1), 4500), (str(p2), 9000)])
        p2_finding = next(f for f in listed if f["provider_id"] == str(p2))
        reverse = await officer.post(f"/anomalies/{p2_finding['finding_id']}/actions",
                                     json={"action": "reverse", "reason": "老人已迁出，追缴"})
        assert reverse.status_code == 201, reverse.text
        assert len(reverse.json()["transfer_ids"]) == 2
        check = (await officer.get("/anomalies", params={"month": "2026-04"})).json()
        assert len([f for f in check if f["rule"] == RULE and f["elder_id"] == str(elder)]) == 2
    await vouchers.ledger_ok()
    reversed_events = [e for e in await vouchers.outbox("youfu.voucher.reversed.v1") if e["elder_id"] == str(elder)]
    assert sorted((e["provider_id"], e["amount_fen"]) for e in reversed_events) == [(str(p2), 4500), (str(p2), 4500)]
    # a redelivery after the reversal leaves the acted-on finding as it is
    await _depart(vouchers, elder, district=TAIXING, status="moved_away", on="2026-04-15")
    expected = {str(p1): (4500, 1, "open"), str(p2): (9000, 2, "actioned")}
    await wait_for(lambda: _is(_findings(vouchers, elder), expected), what="the actioned finding kept")

    # the estimates: net of the reversal, per provider, for any number of elders in one call
    stranger = uuid.uuid4()
    body = {"elders": [{"elder_id": str(elder), "since": "2026-04-13"}, {"elder_id": str(stranger), "since": "2026-01-01"}]}
    async with vouchers.client("service", user_id="svc:assessment") as assessment:
        answer = await assessment.post("/recovery-estimates", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"elders": [{"elder_id": str(elder), "amount_fen": 9000, "providers": [
        {"provider_id": str(p1), "provider_name": None, "amount_fen": 9000}]}]}
    async with vouchers.client("city_officer") as city:
        later = (await city.post("/recovery-estimates", json={"elders": [{"elder_id": str(elder), "since": "2026-04-14"}]}))
        assert later.json()["elders"][0]["amount_fen"] == 4500
    for role in ("officer", "family", "provider_admin"):
        async with vouchers.client(role, district=TAIXING) as other:
            assert (await other.post("/recovery-estimates", json=body)).status_code == 403


async def _is(awaitable, expected) -> bool:
    return (await awaitable) == expected


async def _vouchers_of(vouchers, elder: uuid.UUID, month: str) -> list[tuple[str, int]]:
    async with vouchers.db.sessions() as s:
        return sorted((await s.execute(sa.select(VoucherRow.kind, VoucherRow.face_value_fen).where(
            VoucherRow.elder_id == elder, VoucherRow.month == month))).all())


async def _recorded(vouchers, elder: uuid.UUID, **expected) -> None:
    async def done():
        async with vouchers.db.sessions() as s:
            row = await s.get(ElderRow, elder)
            return row is not None and all(str(getattr(row, k)) == str(v) for k, v in expected.items())
    await wait_for(done, what=f"elder {elder} recorded with {expected}")


async def test_no_voucher_the_month_after_a_death_on_the_31st_nor_on_a_1st_before_the_run(vouchers):
    vouchers.clock.now = MARCH_10
    on_31st = await register(vouchers, district=HAILING)
    survivor = await register(vouchers, district=HAILING)
    await _depart(vouchers, on_31st, district=HAILING, status="deceased", on="2026-03-31")
    await _recorded(vouchers, on_31st, status="deceased", departed_on="2026-03-31")
    assert await _vouchers_of(vouchers, on_31st, "2026-03") == [("community", 30000)]  # its own month's stays
    vouchers.clock.now = datetime(2026, 4, 1, 7, 0, tzinfo=SH)  # before the run of the 1st
    on_1st = survivor
    await _depart(vouchers, on_1st, district=HAILING, status="deceased", on="2026-04-01")
    await _recorded(vouchers, on_1st, status="deceased", departed_on="2026-04-01")
    active = await register(vouchers, district=HAILING)  # an elder still active: April's voucher at once
    async with vouchers.client("officer", district=HAILING) as officer:
        run = await officer.post("/issuance-runs", json={"month": "2026-04"})
        assert run.status_code == 201, run.text
    assert await _vouchers_of(vouchers, on_31st, "2026-04") == []
    assert await _vouchers_of(vouchers, on_1st, "2026-04") == []
    assert await _vouchers_of(vouchers, active, "2026-04") == [("community", 30000)]


async def test_an_assistance_change_is_followed_by_next_months_issuance(vouchers):
    vouchers.clock.now = MARCH_10
    elder = await register(vouchers, district=GAOGANG)  # 低保, grade 2: 300 yuan at 90%
    vouchers.clock.now = datetime(2026, 3, 20, 9, 0, tzinfo=SH)
    data = elder_event(elder, district=GAOGANG, economic="dibao_edge") | {
        "status_date": None, "changed_fields": ["economic_status"]}
    await vouchers.publish(ASSESSMENT_TOPIC, "youfu.elder.updated.v1", str(elder), data)
    await _recorded(vouchers, elder, economic_status="dibao_edge")
    assert await _vouchers_of(vouchers, elder, "2026-03") == [("community", 30000)]  # this month's stays
    vouchers.clock.now = datetime(2026, 4, 1, 9, 0, tzinfo=SH)
    async with vouchers.client("officer", district=GAOGANG) as officer:
        assert (await officer.post("/issuance-runs", json={"month": "2026-04"})).status_code == 201
    assert await _vouchers_of(vouchers, elder, "2026-04") == [("community", 15000)]  # 低保边缘: half the face value
    [wallet] = await _wallet(vouchers, elder, "2026-04")
    assert (wallet["face_value_fen"], wallet["share_bp"]) == (15000, 7000)  # and it pays 70%


async def _wallet(vouchers, elder: uuid.UUID, month: str) -> list[dict]:
    async with vouchers.client("city_officer") as city:
        return (await city.get(f"/wallets/{elder}", params={"month": month})).json()["vouchers"]
