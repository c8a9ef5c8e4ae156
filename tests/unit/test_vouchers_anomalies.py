"""Anomaly rules: each fires just past its threshold and stays quiet at it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from services.vouchers.rules.audit import (
    CAREGIVER_OVERLAP,
    CHECKIN_TOO_FAR,
    DURATION_TOO_SHORT,
    PROVIDER_MONTH_SPIKE,
    SAME_DAY_REPEAT,
    SERVICE_AFTER_DEPARTURE,
    SPEND_CONCENTRATION,
    TRAVEL_TOO_FAST,
    AnomalyThresholds,
    AuditContext,
    caregiver_overlap,
    checkin_too_far,
    distance_km,
    duration_too_short,
    provider_month_spike,
    run_rules,
    same_day_repeat,
    service_after_departure,
    spend_concentration,
    travel_too_fast,
)

LIMITS = AnomalyThresholds()
# 02:00 UTC = 10:00 in Shanghai
MORNING = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


def record(**changes) -> dict:
    base = dict(elder_id="e1", provider_id="p1", caregiver_id="c1", amount_fen=5_000, service_code="bath",
                checkin_distance_m=50.0, duration_min=60, completed_at=MORNING)
    base.update(changes)
    return base


@dataclass(frozen=True)
class Redemption:  # records may be objects as well as dicts
    elder_id: str
    provider_id: str
    caregiver_id: str
    amount_fen: int
    service_code: str
    checkin_distance_m: float | None
    duration_min: int | None
    completed_at: datetime


def day_of_services(count: int, first: datetime) -> list[dict]:
    return [record(caregiver_id=f"c{i}", completed_at=first + timedelta(hours=i)) for i in range(count)]


@pytest.mark.parametrize(("count", "fires"), [(3, False), (4, True)])
def test_same_day_repeat(count, fires):
    findings = same_day_repeat(day_of_services(count, MORNING), LIMITS)
    assert bool(findings) == fires
    if fires:
        assert findings[0].rule == SAME_DAY_REPEAT and len(findings[0].records) == 4
        assert "4 次" in findings[0].explanation and findings[0].title == "同日重复服务"


def test_same_day_is_the_shanghai_day():
    # 15:00 and 17:00 UTC are on different Shanghai days (23:00 and 01:00).
    late = datetime(2026, 11, 3, 13, 0, tzinfo=UTC)
    records = day_of_services(2, late) + day_of_services(2, late + timedelta(hours=4))
    assert same_day_repeat(records, LIMITS) == []


@pytest.mark.parametrize(("distance", "fires"), [(200.0, False), (200.5, True), (None, False)])
def test_checkin_too_far(distance, fires):
    findings = checkin_too_far([record(checkin_distance_m=distance)], LIMITS)
    assert [f.rule for f in findings] == ([CHECKIN_TOO_FAR] if fires else [])


@pytest.mark.parametrize(
    ("duration", "share_bp", "fires"),
    [(60, 10_000, False), (59, 10_000, True), (30, 5_000, False), (29, 5_000, True), (None, 10_000, False)],
)
def test_duration_too_short(duration, share_bp, fires):
    context = AuditContext(minimum_minutes_by_service={"bath": 60})
    limits = AnomalyThresholds(min_duration_share_bp=share_bp)
    findings = duration_too_short([record(duration_min=duration)], limits, context)
    assert [f.rule for f in findings] == ([DURATION_TOO_SHORT] if fires else [])


def test_service_after_departure_counts_only_later_days():
    context = AuditContext(departure_date_by_elder={"e1": date(2026, 11, 3)})
    same_day, next_day = record(), record(completed_at=MORNING + timedelta(days=1))
    findings = service_after_departure([same_day, next_day], context)
    assert [f.rule for f in findings] == [SERVICE_AFTER_DEPARTURE]
    assert findings[0].records == (next_day,) and "50.00 元" in findings[0].explanation


@pytest.mark.parametrize(("gap_min", "fires"), [(0, False), (-1, True)])
def test_caregiver_overlap(gap_min, fires):
    first = record()
    second = record(elder_id="e2", completed_at=MORNING + timedelta(minutes=60 + gap_min))
    findings = caregiver_overlap([second, first])
    assert [f.rule for f in findings] == ([CAREGIVER_OVERLAP] if fires else [])
    if fires:
        assert findings[0].records == (first, second)


def test_overlap_with_an_earlier_long_service():
    long = record(duration_min=240, completed_at=MORNING + timedelta(hours=3))
    short_inside = [record(elder_id=f"e{i}", duration_min=30, completed_at=MORNING + timedelta(hours=i)) for i in (1, 2)]
    assert len(caregiver_overlap([long, *short_inside])) == 2


def test_travel_too_fast():
    # Hailing centre to Jingjiang: about 55 km straight-line.
    km = distance_km(32.49, 119.92, 32.02, 120.27)
    assert 55 < km < 65
    there = record(latitude=32.49, longitude=119.92)
    quick = record(latitude=32.02, longitude=120.27, completed_at=MORNING + timedelta(minutes=90))  # 30 min gap
    slow = record(latitude=32.02, longitude=120.27, completed_at=MORNING + timedelta(minutes=180))  # 2 h gap
    assert [f.rule for f in travel_too_fast([there, quick], LIMITS)] == [TRAVEL_TOO_FAST]
    assert travel_too_fast([there, slow], LIMITS) == []
    assert travel_too_fast([record(), quick], LIMITS) == []  # no location: nothing to say


@pytest.mark.parametrize(
    ("history", "total", "fires"),
    [
        ([10_000, 12_000, 14_000], 30_000, True),  # mean 12,000, σ ≈ 1,633: limit ≈ 16,899
        ([10_000, 12_000, 14_000], 15_000, False),
        ([10_000, 12_000], 90_000, False),  # too little history to judge
        ([10_000, 10_000, 10_000], 10_001, True),  # a flat history flags any rise
    ],
)
def test_provider_month_spike(history, total, fires):
    context = AuditContext(history_fen_by_provider={"p1": history})
    findings = provider_month_spike([record(amount_fen=total)], LIMITS, context)
    assert [f.rule for f in findings] == ([PROVIDER_MONTH_SPIKE] if fires else [])


@pytest.mark.parametrize(("elder_share", "fires"), [(5_000, False), (5_001, True)])
def test_spend_concentration(elder_share, fires):
    limits = AnomalyThresholds(concentration_min_provider_month_fen=10_000)
    records = [record(amount_fen=elder_share), record(elder_id="e2", amount_fen=10_000 - elder_share)]
    findings = spend_concentration(records, limits)
    assert [f.rule for f in findings] == ([SPEND_CONCENTRATION] if fires else [])


def test_small_providers_are_not_flagged_for_concentration():
    assert spend_concentration([record(amount_fen=9_999)], AnomalyThresholds(concentration_min_provider_month_fen=10_000)) == []


def test_run_rules_accepts_objects_and_keys_are_stable():
    records = [Redemption(**record(completed_at=MORNING + timedelta(minutes=i), caregiver_id=f"c{i}")) for i in range(4)]
    first, second = run_rules(records), run_rules(list(reversed(records)))
    assert [f.rule for f in first] == [SAME_DAY_REPEAT]
    assert [f.key for f in first] == [f.key for f in second]
