"""The vouchers service end to end, civil-affairs side: the monthly run, month end (expiry and
settlement), district scoping, spend reports and their exports, anomalies and auditor actions,
and the ledger check. Each test works in its own district so that totals are exact."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from services.vouchers.issuance.runs import ensure_scheduled_run
from services.vouchers.models import TransferRow
from shared.city import CITY_TZ
from tests.integration.vouchers_harness import MARCH_10, complete, completion, ledger_stays_sound, place_hold, register, vouchers

__all__ = ["vouchers", "ledger_stays_sound"]  # module fixtures, imported for pytest
SH = CITY_TZ
MARCH, APRIL = "2026-03", "2026-04"
APRIL_2 = datetime(2026, 4, 2, 9, 0, tzinfo=SH)
JINGJIANG, TAIXING, JIANGYAN, XINGHUA, HAILING = "321282", "321283", "321204", "321281", "321202"


async def test_issuance_run_twice_issues_once_with_a_report(vouchers):
    vouchers.clock.now = MARCH_10
    await register(vouchers, district=TAIXING, hardship=True, expect_vouchers=2)  # 低保 grade 2: community + mutual aid
    await register(vouchers, district=TAIXING, economic="tekun", living="with_family", grade=4)
    vouchers.clock.now = APRIL_2  # both were eligible in March; April's vouchers come from the run
    async with vouchers.client("officer", district=TAIXING) as officer:
        first = await officer.post("/issuance-runs", json={"month": APRIL})
        assert first.status_code == 201, first.text
        report = first.json()
        assert report["district_code"] == TAIXING and report["policy_version"] == 1
        assert [(x["district_name"], x["kind_name"], x["issued_count"], x["issued_fen"])
                for x in report["by_district_kind"]] == [("泰兴市", "社区照护券", 2, 30000 + 60000),
                                                         ("泰兴市", "邻里互助券", 1, 10000)]
        assert (report["issued_count"], report["issued_fen"], report["already_count"]) == (3, 100000, 0)
        second = (await officer.post("/issuance-runs", json={"month": APRIL})).json()
        assert (second["issued_count"], second["already_count"], second["already_fen"]) == (0, 3, 100000)
        assert (await officer.post("/issuance-runs", json={"month": APRIL, "district_code": HAILING})).status_code == 403
        assert (await officer.post("/issuance-runs", json={"month": "2026-05"})).status_code == 422
        past = await officer.post("/issuance-runs", json={"month": MARCH})
        assert past.status_code == 409 and "已经结束" in past.json()["detail"]
        assert (await officer.post("/issuance-runs", json={"month": "2026-13"})).status_code == 422
        runs = (await officer.get("/issuance-runs", params={"month": APRIL})).json()
        assert len(runs) == 2 and all(x["district_code"] == TAIXING for run in runs for x in run["by_district_kind"])
    async with vouchers.client("family") as family:
        assert (await family.post("/issuance-runs", json={"month": APRIL})).status_code == 403
    scheduled = await ensure_scheduled_run(vouchers.db, now=APRIL_2)  # the job of the 1st, caught up
    assert scheduled is not None and scheduled["trigger"] == "scheduled"
    assert not any(x["district_code"] == TAIXING and x["issued_count"] for x in scheduled["by_district_kind"])
    assert await ensure_scheduled_run(vouchers.db, now=APRIL_2) is None  # once a month


async def test_month_end_expires_leaves_open_holds_and_settles(vouchers):
    vouchers.clock.now = MARCH_10
    spender = await register(vouchers, district=JINGJIANG)  # 低保: 300 yuan at 90%
    holder = await register(vouchers, district=JINGJIANG, economic="tekun", living="with_family")  # 300 at 100%
    provider = uuid.uuid4()
    hold = await place_hold(vouchers, spender, 6000)
    await complete(vouchers, completion(hold, elder=spender, provider=provider, amount_fen=6000,
                                        completed_at="2026-03-11T02:00:00+00:00", district=JINGJIANG))
    open_holds = [await place_hold(vouchers, holder, 15000) for _ in range(2)]
    async with vouchers.client("officer", district=JINGJIANG) as officer:
        early = await officer.post("/month-end-runs", json={"month": MARCH})
        assert early.status_code == 409 and "尚未结束" in early.json()["detail"]
        vouchers.clock.now = APRIL_2
        run = (await officer.post("/month-end-runs", json={"month": MARCH})).json()
        assert (run["expired_count"], run["expired_fen"], run["open_holds_left"]) == (1, 30000 - 5400, 2)
        assert [(s["provider_id"], s["district_code"], s["redeemed_fen"], s["status"]) for s in run["settlements"]] == [
            (str(provider), JINGJIANG, 5400, "draft")]
        assert (await officer.post("/month-end-runs", json={"month": MARCH})).json()["expired_fen"] == 0
        assert (await officer.post("/month-end-runs", json={"month": APRIL})).status_code == 409
        assert (await officer.post("/month-end-runs", json={"month": MARCH, "district_code": HAILING})).status_code == 403
    async with vouchers.client("service", user_id="svc:orders") as orders:  # late cancellations of March orders
        for hold in open_holds:
            assert (await orders.post(f"/holds/{hold['hold_id']}/void")).status_code == 200
    async with vouchers.client("officer", district=JINGJIANG) as officer:
        again = (await officer.post("/month-end-runs", json={"month": MARCH})).json()
        assert (again["expired_count"], again["expired_fen"], again["open_holds_left"]) == (1, 30000, 0)
        [wallet] = (await officer.get(f"/wallets/{holder}", params={"month": MARCH})).json()["vouchers"]
        assert (wallet["available_fen"], wallet["expired_fen"], wallet["spent_fen"]) == (0, 30000, 0)
    expired = {e["elder_id"]: e["amount_fen"] for e in await vouchers.outbox("youfu.voucher.expired.v1")}
    assert (expired[str(spender)], expired[str(holder)]) == (24600, 30000)

    async with vouchers.client("provider_admin", provider_id=str(provider)) as own:
        [statement] = (await own.get("/settlements", params={"month": MARCH})).json()
        assert (statement["status"], statement["net_fen"], statement["district_name"]) == ("draft", 5400, "靖江市")
        assert [(x["service_code"], x["kind"], x["redemption_count"], x["net_fen"]) for x in statement["lines"]] == [
            ("meal", "community", 1, 5400)]
        assert (await own.post(f"/settlements/{statement['settlement_id']}/confirm")).status_code == 403
    async with vouchers.client("provider_admin", provider_id=str(uuid.uuid4())) as other:
        assert (await other.get("/settlements", params={"month": MARCH})).json() == []
        assert (await other.get("/settlements", params={"provider_id": str(provider)})).status_code == 403
    async with vouchers.client("officer", district=TAIXING) as stranger:
        assert (await stranger.get("/settlements", params={"provider_id": str(provider)})).json() == []
        assert (await stranger.post(f"/settlements/{statement['settlement_id']}/confirm")).status_code == 404
    async with vouchers.client("officer", district=JINGJIANG) as officer:
        sid = statement["settlement_id"]
        assert (await officer.post(f"/settlements/{sid}/pay")).status_code == 409  # confirm first
        assert (await officer.post(f"/settlements/{sid}/confirm")).json()["status"] == "confirmed"
        assert (await officer.post(f"/settlements/{sid}/pay")).json()["status"] == "paid"
        export = await officer.get("/settlements", params={"month": MARCH, "format": "xlsx"})
        sheet = load_workbook(io.BytesIO(export.content)).active
        assert [c.value for c in sheet[1]] == ["结算月份", "区县", "服务商编号", "结算状态", "服务项目", "券种", "服务笔数",
                                               "核销金额（元）", "冲正金额（元）", "应付净额（元）"]
        assert [c.value for c in sheet[2]][:7] == [MARCH, "靖江市", str(provider), "已付款", "meal", "社区照护券", 1]
        assert sheet.cell(row=2, column=10).value == pytest.approx(54.0)
    settled = sa.select(sa.func.sum(TransferRow.amount_fen)).where(TransferRow.kind == "settle",
                                                                    TransferRow.provider_id == provider)
    assert await vouchers.scalar(settled) == 5400


async def test_spend_report_scoping_and_exports(vouchers):
    vouchers.clock.now = MARCH_10
    elder, provider = await register(vouchers, district=JIANGYAN), uuid.uuid4()
    for price, service in ((6000, "meal"), (10000, "bath")):
        hold = await place_hold(vouchers, elder, price, service_code=service)
        await complete(vouchers, completion(hold, elder=elder, provider=provider, amount_fen=price, service_code=service,
                                            completed_at="2026-03-12T02:00:00+00:00", district=JIANGYAN))
    query = {"month": MARCH, "district_code": JIANGYAN}
    async with vouchers.client("city_officer") as city:
        report = (await city.get("/reports/spend", params=query | {"group_by": "district"})).json()
        assert [(r["key"], r["name"], r["redemption_count"], r["order_amount_fen"], r["voucher_fen"], r["elder_fen"])
                for r in report["rows"]] == [(JIANGYAN, "姜堰区", 2, 16000, 14400, 1600)]
        by_kind = (await city.get("/reports/spend", params=query | {"group_by": "kind"})).json()
        assert [(r["name"], r["net_fen"]) for r in by_kind["rows"]] == [("社区照护券", 14400)]
        raw = (await city.get("/reports/spend", params=query | {"group_by": "service", "format": "csv"})).content
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows == [["服务项目", "服务笔数", "订单金额（元）", "券支付金额（元）",
                         "老人自付金额（元）", "冲正金额（元）", "券支付净额（元）"],
                        ["bath", "1", "100.00", "90.00", "10.00", "0.00", "90.00"],
                        ["meal", "1", "60.00", "54.00", "6.00", "0.00", "54.00"],
                        ["合计", "2", "160.00", "144.00", "16.00", "0.00", "144.00"]]
        response = await city.get("/reports/spend", params=query | {"group_by": "provider", "format": "xlsx"})
        assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert [c.value for c in sheet[1]] == ["服务商编号", "服务笔数", "订单金额（元）", "券支付金额（元）",
                                               "老人自付金额（元）", "冲正金额（元）", "券支付净额（元）"]
        assert [c.value for c in sheet[2]][:2] == [str(provider), 2]
        assert sheet.cell(row=2, column=4).value == pytest.approx(144.0)
        assert sheet.cell(row=2, column=4).number_format == "0.00"
        assert sheet.cell(row=3, column=1).value == "合计"
    async with vouchers.client("officer", district=JIANGYAN) as own:
        assert (await own.get("/reports/spend", params={"month": MARCH})).json()["totals"]["voucher_fen"] == 14400
        assert (await own.get(f"/wallets/{elder}")).status_code == 200
    async with vouchers.client("officer", district=TAIXING) as stranger:  # 403 for a named district, else filtered
        assert (await stranger.get("/reports/spend", params=query)).status_code == 403
        assert JIANGYAN not in [r["key"] for r in (await stranger.get("/reports/spend", params={"month": MARCH})).json()["rows"]]
        assert (await stranger.get(f"/wallets/{elder}")).status_code == 404
    async with vouchers.client("provider_admin", provider_id=str(provider)) as provider_admin:
        assert (await provider_admin.get("/reports/spend", params={"month": MARCH})).status_code == 403
    async with vouchers.client("city_officer") as city:
        assert (await city.get("/reports/spend", params={"month": "March"})).status_code == 422


async def test_anomaly_found_once_then_reversed_back_to_the_wallet(vouchers):
    vouchers.clock.now = APRIL_2
    elder, provider = await register(vouchers, district=XINGHUA), uuid.uuid4()
    hold = await place_hold(vouchers, elder, 10000, service_code="clean")
    assert hold["voucher_fen"] == 9000
    await complete(vouchers, completion(hold, elder=elder, provider=provider, amount_fen=10000, service_code="clean",
                                        checkin_distance_m=850.0, completed_at="2026-04-02T00:30:00+00:00",
                                        district=XINGHUA))
    async with vouchers.client("officer", district=XINGHUA) as officer:
        findings = (await officer.get("/anomalies", params={"month": APRIL})).json()
        assert [(f["rule"], f["title"], f["amount_fen"], f["status"]) for f in findings] == [
            ("checkin_too_far", "签到距离过远", 9000, "open")]
        assert "850 米" in findings[0]["explanation"]
        again = (await officer.get("/anomalies", params={"month": APRIL})).json()
        assert [f["finding_id"] for f in again] == [findings[0]["finding_id"]]  # stable key: stored once
        finding_id = findings[0]["finding_id"]
    async with vouchers.client("officer", district=TAIXING) as stranger:
        assert (await stranger.get("/anomalies", params={"month": APRIL})).json() == []
        r = await stranger.post(f"/anomalies/{finding_id}/actions", json={"action": "dismiss", "reason": "看过了"})
        assert r.status_code == 404
    async with vouchers.client("officer", district=XINGHUA) as officer:
        reverse = await officer.post(f"/anomalies/{finding_id}/actions",
                                     json={"action": "reverse", "reason": "回访老人，当日无人上门"})
        assert reverse.status_code == 201 and len(reverse.json()["transfer_ids"]) == 1
        assert (await officer.post(f"/anomalies/{finding_id}/actions",
                                   json={"action": "reverse", "reason": "再次冲正"})).status_code == 409
        assert (await officer.post(f"/anomalies/{finding_id}/actions",
                                   json={"action": "dismiss", "reason": "撤回"})).status_code == 409
        assert (await officer.post(f"/anomalies/{finding_id}/actions",
                                   json={"action": "shred", "reason": "无"})).status_code == 422
        freeze = await officer.post(f"/anomalies/{finding_id}/actions", json={"action": "freeze_provider", "reason": "待查"})
        assert freeze.status_code == 201 and freeze.json()["status"] == "actioned"
        [wallet] = (await officer.get(f"/wallets/{elder}")).json()["vouchers"]
        assert (wallet["available_fen"], wallet["spent_fen"]) == (30000, 0)  # restored within its month
        history = (await officer.get(f"/wallets/{elder}/history", params={"month": APRIL})).json()["entries"]
        assert history[0]["action_name"] == "冲正退回" and history[0]["available_change_fen"] == 9000
        totals = (await officer.get("/reports/spend", params={"month": APRIL})).json()["totals"]
        assert (totals["voucher_fen"], totals["reversed_fen"], totals["net_fen"]) == (9000, 9000, 0)
    reversed_events = [e for e in await vouchers.outbox("youfu.voucher.reversed.v1") if e["order_id"] == hold["order_id"]]
    assert [(e["amount_fen"], e["provider_id"]) for e in reversed_events] == [(9000, str(provider))]


async def test_ledger_check_over_http(vouchers):
    vouchers.clock.now = MARCH_10
    elder = await register(vouchers, district=HAILING)
    await place_hold(vouchers, elder, 3000)  # left open: still a sound ledger
    async with vouchers.client("admin") as admin:
        check = (await admin.get("/ledger/check")).json()
        assert check["ok"] is True and check["violations"] == []
        assert check["transfers_checked"] >= 2 and check["open_holds"] >= 1
    async with vouchers.client("city_officer") as city:
        assert (await city.get("/ledger/check")).json()["ok"] is True
    async with vouchers.client("officer", district=HAILING) as officer:
        assert (await officer.get("/ledger/check")).status_code == 403
    async with vouchers.db.sessions() as s:  # the journal refuses edits, whichever code tries
        with pytest.raises(Exception, match="append-only"):
            await s.execute(sa.update(TransferRow).values(amount_fen=1))


async def test_spend_by_month_over_months_with_a_reversal(vouchers):
    gaogang = "321203"
    vouchers.clock.now = MARCH_10
    elder, provider = await register(vouchers, district=gaogang), uuid.uuid4()
    hold = await place_hold(vouchers, elder, 6000)
    await complete(vouchers, completion(hold, elder=elder, provider=provider, amount_fen=6000,
                                        completed_at="2026-03-12T02:00:00+00:00", district=gaogang))
    vouchers.clock.now = APRIL_2
    async with vouchers.client("city_officer") as city:
        assert (await city.post("/issuance-runs", json={"month": APRIL, "district_code": gaogang})).status_code == 201
    hold = await place_hold(vouchers, elder, 10000, service_code="clean")
    await complete(vouchers, completion(hold, elder=elder, provider=provider, amount_fen=10000, service_code="clean",
                                        checkin_distance_m=900.0, completed_at="2026-04-02T00:30:00+00:00",
                                        district=gaogang))
    async with vouchers.client("officer", district=gaogang) as officer:
        [finding] = [f for f in (await officer.get("/anomalies", params={"month": APRIL})).json()
                     if f["elder_id"] == str(elder)]
        r = await officer.post(f"/anomalies/{finding['finding_id']}/actions", json={"action": "reverse", "reason": "未上门"})
        assert r.status_code == 201
        query = {"from_month": MARCH, "to_month": APRIL}
        report = (await officer.get("/reports/spend/monthly", params=query)).json()
        assert report["district_code"] == gaogang
        assert [(r["month"], r["district_name"], r["kind_name"], r["redemption_count"], r["order_amount_fen"],
                 r["voucher_fen"], r["elder_fen"], r["reversed_fen"], r["net_fen"]) for r in report["rows"]] == [
            (MARCH, "高港区", "社区照护券", 1, 6000, 5400, 600, 0, 5400),
            (APRIL, "高港区", "社区照护券", 1, 10000, 9000, 1000, 9000, 0)]
        assert report["totals"]["net_fen"] == 5400
        raw = (await officer.get("/reports/spend/monthly", params=query | {"format": "csv"})).content
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0][:4] == ["月份", "区县", "券种", "服务笔数"]
        assert rows[1][:3] == [MARCH, "高港区", "社区照护券"] and rows[-1][0] == "合计" and rows[-1][-1] == "54.00"
        assert (await officer.get("/reports/spend/monthly", params={"from_month": APRIL, "to_month": MARCH})).status_code == 422
        assert (await officer.get("/reports/spend/monthly", params=query | {"district_code": HAILING})).status_code == 403
        one_month = (await officer.get("/reports/spend", params={"month": APRIL, "group_by": "service"})).json()
        assert [(r["key"], r["voucher_fen"], r["reversed_fen"]) for r in one_month["rows"]] == [("clean", 9000, 9000)]
    async with vouchers.client("provider_admin", provider_id=str(provider)) as provider_admin:
        assert (await provider_admin.get("/reports/spend/monthly", params=query)).status_code == 403
