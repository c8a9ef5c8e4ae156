"""Anomaly rules over voucher redemptions, for the civil-affairs audit.

Each rule reads redemption records and returns `Finding`s: a rule code, a zh-CN reason a clerk
can act on, and the records involved. A finding is a question to look at, not a verdict; clerks
dismiss it with a note or act on it. Thresholds are data (`AnomalyThresholds`), because the city
tunes them; the facts a rule needs beyond the records (an item's minimum duration, when an elder
died or moved away, a provider's past months) come in as `AuditContext`.

A record may be a mapping or any object with the attributes elder_id, provider_id, caregiver_id,
amount_fen, service_code, checkin_distance_m, duration_min, completed_at (aware datetime), and
optionally latitude/longitude (where the service took place) for the travel-speed rule and kind
(the voucher kind) for the home-service-during-a-stay rule.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.vouchers.rules.calendar import local_date, month_of
from services.vouchers.rules.money import format_yuan
from services.vouchers.rules.stay_claims import Stay, open_stay_outside_leave
from shared.city import CITY_TZ, haversine_m

SAME_DAY_REPEAT = "same_day_repeat"
CHECKIN_TOO_FAR = "checkin_too_far"
DURATION_TOO_SHORT = "duration_too_short"
SERVICE_AFTER_DEPARTURE = "service_after_departure"
CAREGIVER_OVERLAP = "caregiver_overlap"
TRAVEL_TOO_FAST = "travel_too_fast"
PROVIDER_MONTH_SPIKE = "provider_month_spike"
SPEND_CONCENTRATION = "spend_concentration"
HOME_BED_NO_VISIT = "home_bed_no_visit"  # over home beds, not redemptions: rules/home_beds.py

HOME_SERVICE_DURING_STAY = "home_service_during_stay"

RULE_TITLES = {
    SAME_DAY_REPEAT: "同日重复服务",
    CHECKIN_TOO_FAR: "签到距离过远",
    DURATION_TOO_SHORT: "服务时长不足",
    SERVICE_AFTER_DEPARTURE: "老人已故或迁出后仍有消费",
    CAREGIVER_OVERLAP: "护理员服务时间重叠",
    TRAVEL_TOO_FAST: "护理员行程速度异常",
    PROVIDER_MONTH_SPIKE: "服务商月度金额突增",
    SPEND_CONCENTRATION: "服务商消费集中于个别老人",
    HOME_BED_NO_VISIT: "家庭养老床位本月无上门服务",

    HOME_SERVICE_DURING_STAY: "入住机构期间仍有居家服务消费",
    # meals at a counter: rules/meal_subsidies.py
    "meal_two_points": "同一老人短时间内在两个助餐点用餐",
    "meal_point_over_capacity": "助餐点供餐超过申报能力",
    "meal_point_mostly_typed": "助餐点多数餐为手输码",
}


class AnomalyThresholds(BaseModel):
    """The city's tuning. Defaults are the voucher issue's figures where it gives them."""

    model_config = ConfigDict(frozen=True)

    max_services_per_elder_provider_day: int = 3
    max_checkin_distance_m: float = 200
    # A service shorter than this share of the item's minimum is flagged; 10000 = the minimum.
    min_duration_share_bp: int = 10_000
    max_travel_speed_kmh: float = 60
    spike_sigmas: float = 3
    spike_min_history_months: int = 3  # fewer past months say nothing about "normal"
    concentration_max_share_bp: int = 5_000
    concentration_min_provider_month_fen: int = 1_000_000  # 10,000 yuan: small providers are not flagged


@dataclass(frozen=True)
class AuditContext:
    minimum_minutes_by_service: Mapping[str, int] = field(default_factory=dict)
    departure_date_by_elder: Mapping[Any, date] = field(default_factory=dict)  # death or moving away
    # The provider's monthly redeemed totals before the audited records, oldest first.
    history_fen_by_provider: Mapping[Any, Sequence[int]] = field(default_factory=dict)
    # The elder's institutional stays (services/vouchers/rules/stay_claims.py), by elder id as text.
    stays_by_elder: Mapping[str, Sequence[Stay]] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    rule: str
    explanation: str  # zh-CN
    records: tuple[Any, ...]
    subject: str  # what the finding is about, stable across runs so a dismissal sticks

    @property
    def title(self) -> str:
        return RULE_TITLES[self.rule]

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.subject}"


def _get(record: Any, name: str, default: Any = None) -> Any:
    if isinstance(record, Mapping):
        return record.get(name, default)
    return getattr(record, name, default)


def _started_at(record: Any) -> datetime:
    return _get(record, "completed_at") - timedelta(minutes=_get(record, "duration_min") or 0)


def _clock(instant: datetime) -> str:
    return instant.astimezone(CITY_TZ).strftime("%m-%d %H:%M")


def _group(records: Iterable[Any], key: Callable[[Any], Hashable]) -> dict[Hashable, list[Any]]:
    groups: dict[Hashable, list[Any]] = defaultdict(list)
    for record in records:
        groups[key(record)].append(record)
    return groups


def same_day_repeat(records: Sequence[Any], limits: AnomalyThresholds) -> list[Finding]:
    groups = _group(records, lambda r: (_get(r, "elder_id"), _get(r, "provider_id"), local_date(_get(r, "completed_at"))))
    return [
        Finding(SAME_DAY_REPEAT,
                f"{day.isoformat()} 同一服务商为同一位老人服务 {len(group)} 次，"
                f"超过每日 {limits.max_services_per_elder_provider_day} 次的上限",
                tuple(group), f"{elder}|{provider}|{day.isoformat()}")
        for (elder, provider, day), group in groups.items()  # type: ignore[misc]
        if len(group) > limits.max_services_per_elder_provider_day
    ]


def checkin_too_far(records: Sequence[Any], limits: AnomalyThresholds) -> list[Finding]:
    findings = []
    for record in records:
        distance = _get(record, "checkin_distance_m")
        if distance is not None and distance > limits.max_checkin_distance_m:
            findings.append(Finding(
                CHECKIN_TOO_FAR,
                f"签到位置距老人住址 {distance:.0f} 米，超过 {limits.max_checkin_distance_m:.0f} 米的范围",
                (record,), f"{_get(record, 'id', '')}|{_get(record, 'caregiver_id')}|{_get(record, 'completed_at').isoformat()}"))
    return findings


def duration_too_short(records: Sequence[Any], limits: AnomalyThresholds, context: AuditContext) -> list[Finding]:
    findings = []
    for record in records:
        minimum = context.minimum_minutes_by_service.get(_get(record, "service_code"))
        duration = _get(record, "duration_min")
        if minimum is None or duration is None:
            continue  # no minimum for the item, or no check-out: nothing to compare
        floor = minimum * limits.min_duration_share_bp / 10_000
        if duration < floor:
            findings.append(Finding(
                DURATION_TOO_SHORT,
                f"服务时长 {duration} 分钟，该项目最短应为 {minimum} 分钟",
                (record,), f"{_get(record, 'id', '')}|{_get(record, 'caregiver_id')}|{_get(record, 'completed_at').isoformat()}"))
    return findings


def service_after_departure(records: Sequence[Any], context: AuditContext) -> list[Finding]:
    groups = _group(records, lambda r: _get(r, "elder_id"))
    findings = []
    for elder, group in groups.items():
        departed = context.departure_date_by_elder.get(elder)
        # A service on the day itself is plausible (a visit before the death), so only later days.
        late = [r for r in group if departed is not None and local_date(_get(r, "completed_at")) > departed]
        if late:
            spent = sum(_get(r, "amount_fen") for r in late)
            findings.append(Finding(
                SERVICE_AFTER_DEPARTURE,
                f"老人已于 {departed.isoformat()} 去世或迁出，此后仍有 {len(late)} 笔消费，共 {format_yuan(spent)} 元",  # type: ignore[union-attr]
                tuple(late), str(elder)))
    return findings


def caregiver_overlap(records: Sequence[Any]) -> list[Finding]:
    findings = []
    for caregiver, group in _group(records, lambda r: _get(r, "caregiver_id")).items():
        if caregiver is None:
            continue
        ordered = sorted(group, key=_started_at)
        latest = ordered[0]  # of the records seen so far, the one that ends last
        for record in ordered[1:]:
            if _started_at(record) < _get(latest, "completed_at"):
                findings.append(Finding(
                    CAREGIVER_OVERLAP,
                    f"同一护理员在 {_clock(_started_at(latest))}–{_clock(_get(latest, 'completed_at'))} 与 "
                    f"{_clock(_started_at(record))}–{_clock(_get(record, 'completed_at'))} 同时有两单服务",
                    (latest, record), f"{caregiver}|{_started_at(latest).isoformat()}|{_started_at(record).isoformat()}"))
            if _get(record, "completed_at") > _get(latest, "completed_at"):
                latest = record
    return findings


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine); straight-line, so a real road trip is only longer."""
    return haversine_m(lat1, lon1, lat2, lon2) / 1000


def travel_too_fast(records: Sequence[Any], limits: AnomalyThresholds) -> list[Finding]:
    findings = []
    for caregiver, group in _group(records, lambda r: _get(r, "caregiver_id")).items():
        if caregiver is None:
            continue
        located = [r for r in group if _get(r, "latitude") is not None and _get(r, "longitude") is not None]
        ordered = sorted(located, key=_started_at)
        for before, after in zip(ordered, ordered[1:]):
            gap_h = (_started_at(after) - _get(before, "completed_at")).total_seconds() / 3600
            if gap_h <= 0:
                continue  # overlapping services are the overlap rule's finding
            km = distance_km(_get(before, "latitude"), _get(before, "longitude"),
                             _get(after, "latitude"), _get(after, "longitude"))
            if km / gap_h > limits.max_travel_speed_kmh:
                findings.append(Finding(
                    TRAVEL_TOO_FAST,
                    f"同一护理员两单服务间隔 {gap_h * 60:.0f} 分钟，两地直线相距 {km:.1f} 公里，"
                    f"折合 {km / gap_h:.0f} 公里/小时，超过 {limits.max_travel_speed_kmh:.0f} 公里/小时",
                    (before, after), f"{caregiver}|{_started_at(before).isoformat()}|{_started_at(after).isoformat()}"))
    return findings


def _provider_months(records: Sequence[Any]) -> dict[Hashable, list[Any]]:
    return _group(records, lambda r: (_get(r, "provider_id"), month_of(_get(r, "completed_at"))))


def provider_month_spike(records: Sequence[Any], limits: AnomalyThresholds, context: AuditContext) -> list[Finding]:
    """Above mean + k·σ of the provider's own past months. A perfectly flat history (σ = 0)
    flags any rise: such a history is itself unusual and worth one look."""
    findings = []
    for (provider, month), group in _provider_months(records).items():  # type: ignore[misc]
        history = list(context.history_fen_by_provider.get(provider, ()))
        if len(history) < limits.spike_min_history_months:
            continue
        total = sum(_get(r, "amount_fen") for r in group)
        mean, sigma = statistics.fmean(history), statistics.pstdev(history)
        if total > mean + limits.spike_sigmas * sigma:
            findings.append(Finding(
                PROVIDER_MONTH_SPIKE,
                f"{month} 核销 {format_yuan(total)} 元，历史月均 {format_yuan(round(mean))} 元，"
                f"超出 {limits.spike_sigmas:g} 个标准差（{format_yuan(round(sigma))} 元）",
                tuple(group), f"{provider}|{month}"))
    return findings


def spend_concentration(records: Sequence[Any], limits: AnomalyThresholds) -> list[Finding]:
    findings = []
    for (provider, month), group in _provider_months(records).items():  # type: ignore[misc]
        total = sum(_get(r, "amount_fen") for r in group)
        if total <= 0 or total < limits.concentration_min_provider_month_fen:
            continue
        for elder, spent in _group(group, lambda r: _get(r, "elder_id")).items():
            elder_total = sum(_get(r, "amount_fen") for r in spent)
            if elder_total * 10_000 > limits.concentration_max_share_bp * total:
                findings.append(Finding(
                    SPEND_CONCENTRATION,
                    f"{month} 该服务商核销 {format_yuan(total)} 元，其中 {elder_total * 100 // total}%"
                    f"（{format_yuan(elder_total)} 元）来自同一位老人",
                    tuple(spent), f"{provider}|{month}|{elder}"))
    return findings


def home_service_during_stay(records: Sequence[Any], context: AuditContext) -> list[Finding]:
    """A 社区照护券 home service on a day the elder lived in an institution and was not on leave
    (the orders service refuses such orders; one here came before the stay was known, or around
    the refusal). The day of the service is its completion's Shanghai day."""
    findings = []
    for record in records:
        if _get(record, "kind") != "community":
            continue
        stays = context.stays_by_elder.get(str(_get(record, "elder_id")), ())
        day = local_date(_get(record, "completed_at"))
        stay = open_stay_outside_leave(stays, day)
        if stay is not None:
            findings.append(Finding(
                HOME_SERVICE_DURING_STAY,
                f"{day.isoformat()} 老人正入住养老机构（{stay.admitted_on.isoformat()} 入住）且不在请假期间，"
                f"仍有社区照护券居家服务消费 {format_yuan(_get(record, 'amount_fen'))} 元",
                (record,), f"{_get(record, 'id', '')}"))
    return findings


def run_rules(records: Iterable[Any], limits: AnomalyThresholds | None = None,
              context: AuditContext | None = None) -> list[Finding]:
    """Every rule over the same records, findings grouped by rule in the order listed above."""
    rows = list(records)
    limits, context = limits or AnomalyThresholds(), context or AuditContext()
    return [
        *same_day_repeat(rows, limits),
        *checkin_too_far(rows, limits),
        *duration_too_short(rows, limits, context),
        *service_after_departure(rows, context),
        *caregiver_overlap(rows),
        *travel_too_fast(rows, limits),
        *provider_month_spike(rows, limits, context),
        *spend_concentration(rows, limits),
        *home_service_during_stay(rows, context),
    ]
