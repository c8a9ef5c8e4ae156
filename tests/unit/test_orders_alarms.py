"""Pure rules of emergency alarms (issue 25): escalation with an injected clock at the 3-minute
boundary, the join window, who is alerted, the targets, the monthly summary, the policy file."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.orders.rules.alarms import (
    AlarmFacts,
    AlarmPolicy,
    ack_deadline,
    check_acknowledge,
    check_close,
    choose_responders,
    district_summary,
    escalation_due,
    new_device_token,
    policy_from,
    policy_on,
    press_renews,
    response_times,
    token_hash,
)
from shared.errors import Conflict, Forbidden, Invalid

T0 = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)
POLICY = AlarmPolicy(version="t", valid_from=date(2026, 1, 1), join_window_s=60, ack_target_s=180,
                     arrive_target_min=30, alert_count=3, search_k=20, served_lookback_days=365)


@pytest.mark.parametrize("elapsed, state, alerted, due", [
    (timedelta(minutes=2, seconds=59), "raised", 3, False),
    (timedelta(minutes=3), "raised", 3, True),  # the 3 minutes are over at 3:00
    (timedelta(minutes=3, seconds=1), "raised", 3, True),
    (timedelta(minutes=3, seconds=1), "acknowledged", 3, False),
    (timedelta(minutes=3, seconds=1), "escalated", 3, False),  # once
    (timedelta(minutes=9), "closed", 3, False),
    (timedelta(0), "raised", 0, True),  # nobody could be alerted: at once
])
def test_escalation_at_the_three_minute_boundary(elapsed, state, alerted, due):
    clock = lambda: T0 + elapsed  # noqa: E731 - the injected clock
    assert escalation_due(state=state, raised_at=T0, alerted=alerted, now=clock(), policy=POLICY) is due


def test_ack_deadline_follows_the_policy_version():
    assert ack_deadline(raised_at=T0, alerted=2, policy=POLICY) == T0 + timedelta(seconds=180)
    slower = AlarmPolicy(**(POLICY.__dict__ | {"ack_target_s": 300}))
    assert ack_deadline(raised_at=T0, alerted=2, policy=slower) == T0 + timedelta(minutes=5)


@pytest.mark.parametrize("after_s, renews", [(0, False), (59, False), (60, False), (61, True), (600, True)])
def test_a_press_within_the_join_window_is_the_same_call(after_s, renews):
    assert press_renews(last_press_at=T0, now=T0 + timedelta(seconds=after_s), policy=POLICY) is renews


def test_responders_own_providers_first_then_nearest_one_per_caregiver():
    c = [{"caregiver_id": f"c{i}", "provider_id": p} for i, p in enumerate(["x", "own", "y", "own", "z"])]
    c.append({"caregiver_id": "c1", "provider_id": "own"})  # the same caregiver twice
    chosen = choose_responders(c, {"own"}, 3)
    assert [r["caregiver_id"] for r in chosen] == ["c1", "c3", "c0"]
    assert choose_responders(c, set(), 2) == c[:2]
    assert choose_responders([], {"own"}, 3) == [] and choose_responders(c, set(), 0) == []


def test_acknowledge_tells_the_loser_who_went():
    with pytest.raises(Conflict, match="已由张三前往"):
        check_acknowledge(state="acknowledged", acknowledged_by_name="张三", alerted=True)
    with pytest.raises(Conflict, match="已结束"):
        check_acknowledge(state="closed", acknowledged_by_name=None, alerted=True)
    with pytest.raises(Forbidden):
        check_acknowledge(state="raised", acknowledged_by_name=None, alerted=False)
    check_acknowledge(state="escalated", acknowledged_by_name=None, alerted=True)  # still may go


def test_close_needs_a_known_outcome_once():
    with pytest.raises(Invalid):
        check_close(state="raised", outcome="maybe")
    with pytest.raises(Conflict):
        check_close(state="closed", outcome="false_alarm")
    check_close(state="escalated", outcome="called_120")


@pytest.mark.parametrize("ack_s, arrive_s, now_s, ack_met, arrive_met", [
    (179, 1799, 1800, True, True),
    (180, 1800, 1800, False, False),  # "within" is strictly less
    (None, None, 179, None, None),  # not decided yet
    (None, None, 180, False, None),  # nobody yet at 3:00: missed
    (60, None, 1800, True, False),
])
def test_targets_per_alarm(ack_s, arrive_s, now_s, ack_met, arrive_met):
    at = lambda s: None if s is None else T0 + timedelta(seconds=s)  # noqa: E731
    t = response_times(raised_at=T0, acknowledged_at=at(ack_s), arrived_at=at(arrive_s), ack_target_s=180,
                       arrive_target_min=30, now=T0 + timedelta(seconds=now_s))
    assert (t["ack_s"], t["ack_met"], t["arrive_s"], t["arrive_met"]) == (ack_s, ack_met, arrive_s, arrive_met)


def test_district_summary_counts_and_response_times():
    def fact(district, ack_s, arrive_s, escalated=False, outcome=None):
        return AlarmFacts(district_code=district, raised_at=T0,
                          acknowledged_at=T0 + timedelta(seconds=ack_s) if ack_s is not None else None,
                          arrived_at=T0 + timedelta(seconds=arrive_s) if arrive_s is not None else None,
                          escalated=escalated, outcome=outcome, ack_target_s=180, arrive_target_min=30)
    rows = district_summary([fact("321202", 60, 900, outcome="resolved_on_site"),
                             fact("321202", 240, 2000, escalated=True, outcome="called_120"),
                             fact("321202", 100, None), fact("321203", None, None, escalated=True)])
    hl, gg = rows
    assert (hl["alarms"], hl["escalated"], hl["ack_within_target"], hl["arrive_within_target"]) == (3, 1, 2, 1)
    assert (hl["ack_median_s"], hl["ack_max_s"], hl["arrive_median_s"]) == (100, 240, 1450)
    assert hl["outcomes"] == {"resolved_on_site": 1, "called_120": 1, "false_alarm": 0}
    assert (gg["district_code"], gg["alarms"], gg["ack_median_s"]) == ("321203", 1, None)
    assert district_summary([]) == []


def test_device_tokens_are_random_and_kept_only_as_a_hash():
    a, b = new_device_token(), new_device_token()
    assert a != b and a.startswith("yfd_") and len(a) > 40
    assert token_hash(a) == token_hash(f" {a} ") and len(token_hash(a)) == 64 and a not in token_hash(a)


def test_the_policy_file_is_versioned_data():
    data = json.loads((Path(__file__).parents[2] / "services/orders/alarm_policy.json").read_text(encoding="utf-8"))
    versions = policy_from(data)
    now = policy_on(versions, date(2026, 12, 5))
    assert (now.join_window_s, now.ack_target_s, now.arrive_target_min) == (60, 180, 30)
    later = policy_from({"versions": data["versions"] + [dict(data["versions"][0], version="2027-07",
                                                             valid_from="2027-07-01", ack_target_s=120)]})
    assert policy_on(later, date(2027, 6, 30)).ack_target_s == 180
    assert policy_on(later, date(2027, 7, 1)).ack_target_s == 120


class PluggedGateway:
    """Stands for a real SMS gateway named by the setting (built with no arguments)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))


async def test_the_sms_setting_picks_the_sender(caplog):
    from shared.sms import LogSmsSender, sms_sender_from

    default = sms_sender_from("log")
    assert isinstance(default, LogSmsSender)
    with caplog.at_level("INFO", logger="youfu.sms"):
        await default.send("13912345678", "紧急呼叫")
    assert "紧急呼叫" in caplog.text and "13912345678" not in caplog.text  # the phone masked in the log
    plugged = sms_sender_from("tests.unit.test_orders_alarms:PluggedGateway")
    await plugged.send("13912345678", "x")
    assert isinstance(plugged, PluggedGateway) and plugged.sent == [("13912345678", "x")]
    with pytest.raises(ValueError):
        sms_sender_from("no-class-named")
