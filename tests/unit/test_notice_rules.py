"""Which event becomes which notice for whom (gateway/rules/notices.py): one row per event type,
built from the fields each producer's contract names (docs/architecture.md §4, "Live notices")."""
from __future__ import annotations

import pytest

from gateway.rules.notices import (
    RULES,
    Account,
    Caregivers,
    DistrictDesk,
    Household,
    ProviderDesk,
    ProviderStaff,
    kind_of,
    local_time,
    notices_for,
    wants_caregiver_name,
)

E, P, C, D = "e-1", "p-1", "c-1", "321202"
ORDER = {"order_id": "o-1", "elder_id": E, "provider_id": P, "district_code": D}
AT = "2026-12-05T01:30:00+00:00"  # 09:30 in the city
STAY = {"stay_id": "s-1", "elder_id": E, "application_id": "a-1", "provider_id": P, "bed_id": "b-1",
        "care_level": "nursing", "daily_rate_fen": 9000, "kind": "long_term", "district_code": D, "on": "2026-12-05"}
ALARM = {"alarm_id": "al-1", "elder_id": E, "district_code": D}

# event type, data, names, expected [(audience, kind, title, a piece of the body or None, link)]
CASES = [
    ("youfu.order.offered.v1", {**ORDER, "service_code": "bath", "window_start": AT, "offer_deadline": "2026-12-05T01:00:00Z"},
     {}, [(ProviderDesk(P), "order.offered", "新的服务邀约", "12月5日 09:00 前答复", "/provider")]),
    ("youfu.order.accepted.v1", {**ORDER, "caregiver_id": C, "window_start": AT}, {"caregiver": "李红"},
     [(Household(E), "order.accepted", "护理员已接单：李红", "服务时间 12月5日 09:30", "/elder")]),
    ("youfu.order.accepted.v1", {**ORDER, "caregiver_id": None}, {},
     [(Household(E), "order.accepted", "护理员已接单", None, "/elder")]),
    ("youfu.order.en_route.v1", {**ORDER, "caregiver_id": C, "at": AT}, {"caregiver": "李红"},
     [(Household(E), "order.en_route", "护理员已出发", "李红正在路上", "/elder")]),
    ("youfu.order.checked_in.v1", {**ORDER, "caregiver_id": C, "at": AT, "distance_m": 12.5}, {},
     [(Household(E), "order.checked_in", "护理员已到达", "09:30", "/elder")]),
    ("youfu.order.completed.v1", {**ORDER, "hold_id": None, "service_code": "bath", "amount_fen": 5000, "voucher_fen": 5000,
                                  "duration_min": 45, "completed_at": AT, "confirmation": "family"}, {},
     [(Household(E), "order.completed", "服务已完成", "家属已远程确认", "/elder")]),
    ("youfu.order.completed.v1", {**ORDER, "service_code": "bath", "amount_fen": 1, "voucher_fen": 1, "duration_min": 30,
                                  "completed_at": AT}, {},  # an old producer: no confirmation field
     [(Household(E), "order.completed", "服务已完成", "30 分钟", "/elder")]),
    ("youfu.order.unmatched.v1", {"order_id": "o-1", "elder_id": E, "district_code": D, "service_code": "bath",
                                  "window_start": AT}, {},
     [(Household(E), "order.unmatched", "这次服务没有安排上", "代金券未扣除", "/elder")]),
    ("youfu.order.no_show.v1", {**ORDER, "hold_id": "h-1", "caregiver_id": C, "at": AT}, {},
     [(Household(E), "order.no_show", "护理员到达时您不在家", "代金券未扣除", "/elder")]),
    ("youfu.careplan.activated.v1", {"plan_id": "pl-1", "elder_id": E, "version": 2, "start_date": "2026-12-01", "items": [],
                                     "district_code": D}, {},
     [(Household(E), "careplan.activated", "照护计划已生效", "第 2 版，自 2026-12-01 起", "/elder")]),
    ("youfu.careplan.replaced.v1", {"plan_id": "pl-1", "replaced_by": "pl-2", "elder_id": E, "effective_date": "2026-12-31"},
     {}, [(Household(E), "careplan.replaced", "照护计划已更新", "自 2026-12-31 起", "/elder")]),
    ("youfu.careplan.ended.v1", {"plan_id": "pl-1", "elder_id": E, "reason": "death", "effective_date": "2026-12-31"}, {},
     [(Household(E), "careplan.ended", "照护计划已结束", "2026-12-31", "/elder")]),
    ("youfu.stay.admitted.v1", {**STAY, "planned_end": None}, {},
     [(Household(E), "stay.admitted", "已入住养老机构", "2026-12-05", "/elder")]),
    ("youfu.stay.left.v1", {**STAY, "from": "2026-12-05", "to": "2026-12-09", "leave_kind": "hospital"}, {},
     [(Household(E), "stay.left", "已请假离开机构", "住院", "/elder")]),
    ("youfu.stay.returned.v1", STAY, {}, [(Household(E), "stay.returned", "已返回机构", "2026-12-05", "/elder")]),
    ("youfu.stay.transferred.v1", {**STAY, "from_provider_id": "p-0", "from_bed_id": "b-0", "from_daily_rate_fen": 1}, {},
     [(Household(E), "stay.transferred", "已调整床位", None, "/elder")]),
    ("youfu.stay.ended.v1", {**STAY, "reason": "出院", "status": "discharged"}, {},
     [(Household(E), "stay.ended", "机构入住已结束", None, "/elder")]),
    ("youfu.alarm.raised.v1", {**ALARM, "provider_ids": [P], "caregiver_ids": [C, "c-2"], "lat": 32.4, "lng": 119.9,
                               "raised_at": AT, "source": "button"}, {},
     [(Caregivers((C, "c-2")), "alarm.raised", "紧急呼叫", "09:30", "/provider")]),
    ("youfu.alarm.raised.v1", {**ALARM, "provider_ids": [], "caregiver_ids": [], "raised_at": AT, "source": "device"}, {},
     []),  # nobody alerted: escalation's business, not a notice to no one
    ("youfu.alarm.acknowledged.v1", {**ALARM, "caregiver_id": C, "caregiver_name": "李红", "provider_id": P, "at": AT}, {},
     [(Household(E), "alarm.acknowledged", "李红正在赶来", None, "/elder"),
      (ProviderStaff(P), "alarm.acknowledged", "已由李红前往", None, "/provider")]),
    ("youfu.alarm.escalated.v1", {**ALARM, "at": AT, "reason": "无人确认"}, {},
     [(DistrictDesk(D), "alarm.escalated", "紧急呼叫已升级", "无人确认", None)]),
    ("youfu.alarm.closed.v1", {**ALARM, "outcome": "called_120", "at": AT, "order_id": None}, {},
     [(Household(E), "alarm.closed", "紧急呼叫已结束", "已拨打 120", "/elder")]),
    ("youfu.complaint.filed.v1", {"complaint_id": "k-1", "district_code": D, "provider_id": P, "order_id": None,
                                  "deadline": "2026-12-08T10:00:00+00:00"}, {},
     [(DistrictDesk(D, ("officer",)), "complaint.filed", "新的投诉", "12月8日 18:00 前处理", "/bureau")]),
    ("youfu.complaint.answered.v1", {"complaint_id": "k-1", "status": "resolved", "complainant_user_id": "u-9",
                                     "elder_id": E}, {},
     [(Account("u-9"), "complaint.answered", "您的投诉已有答复", "已处理", "/elder")]),
    ("youfu.complaint.answered.v1", {"complaint_id": "k-1", "status": "rejected", "complainant_user_id": None,
                                     "elder_id": E}, {},  # filed by an operator for the elder: the household hears
     [(Household(E), "complaint.answered", "您的投诉已有答复", "未予受理", "/elder")]),
]


@pytest.mark.parametrize(("event_type", "data", "names", "expected"), CASES,
                         ids=[f"{c[0].split('.', 1)[1]}-{i}" for i, c in enumerate(CASES)])
def test_event_becomes_notices(event_type, data, names, expected):
    drafts = notices_for(event_type, data, names=names)
    assert [(d.audience, d.kind, d.title, d.link) for d in drafts] == [(a, k, t, link) for a, k, t, _, link in expected]
    for draft, (*_, piece, _link) in zip(drafts, expected, strict=True):
        if piece is not None:
            assert piece in draft.body, (draft.body, piece)


def test_every_mapped_event_type_has_a_row():
    assert {c[0] for c in CASES} == set(RULES)


@pytest.mark.parametrize("event_type", ["youfu.order.placed.v1", "youfu.order.cancelled.v1", "youfu.order.reviewed.v1",
                                        "youfu.voucher.held.v1", "youfu.elder.updated.v1", "youfu.meal.redeemed.v1",
                                        "youfu.finding.opened.v1", "something.else"])
def test_events_nobody_hears_about(event_type):
    assert notices_for(event_type, {**ORDER, "caregiver_id": C}) == []


def test_missing_recipient_fields_make_no_notice():
    assert notices_for("youfu.order.checked_in.v1", {"order_id": "o-1"}) == []
    assert notices_for("youfu.order.offered.v1", {"order_id": "o-1", "elder_id": E}) == []
    assert notices_for("youfu.alarm.escalated.v1", {"alarm_id": "a"}) == []
    assert notices_for("youfu.order.checked_in.v1", "not a dict") == []  # type: ignore[arg-type]


@pytest.mark.parametrize(("iso", "shown"), [
    ("2026-12-31T16:30:00Z", "1月1日 00:30"),  # the city's new year, while UTC is still in the old one
    ("2028-02-28T16:05:00+00:00", "2月29日 00:05"),  # a leap day
    ("2026-12-05T09:30:00+08:00", "12月5日 09:30"),
    ("2026-12-05T09:30:00", ""),  # no offset: not guessed
    ("yesterday", ""), (None, ""),
])
def test_local_time(iso, shown):
    assert local_time(iso) == shown


def test_kind_and_name_lookup():
    assert kind_of("youfu.order.checked_in.v1") == "order.checked_in"
    assert kind_of("youfu.alarm.raised.v12") == "alarm.raised"
    assert wants_caregiver_name("youfu.order.accepted.v1", {"caregiver_id": C}) == C
    assert wants_caregiver_name("youfu.alarm.acknowledged.v1", {"caregiver_id": C, "caregiver_name": "李红"}) is None
    assert wants_caregiver_name("youfu.order.placed.v1", {"caregiver_id": C}) is None
