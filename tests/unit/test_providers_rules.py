"""Provider registry rules: life cycle, documents, catalogue prices, index keys, hours, areas."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from services.providers.rules import catalogue, registry, staff
from shared.errors import Conflict

TODAY = date(2026, 3, 10)


@pytest.mark.parametrize(("current", "action", "expected"), [
    ("applied", "approve", "approved"), ("applied", "reject", "rejected"),
    ("approved", "suspend", "suspended"), ("suspended", "reinstate", "approved")])
def test_allowed_transitions(current, action, expected):
    assert registry.next_status(current, action) == expected


@pytest.mark.parametrize(("current", "action"), [
    ("approved", "approve"), ("rejected", "approve"), ("applied", "suspend"), ("approved", "reinstate"),
    ("suspended", "reject")])
def test_refused_transitions_name_the_current_state(current, action):
    with pytest.raises(Conflict) as caught:
        registry.next_status(current, action)
    assert caught.value.extra["current_state"] == current
    assert registry.STATUS_NAMES[current] in caught.value.detail


def test_document_state_takes_the_latest_of_each_kind_and_counts_the_expiry_day():
    state = registry.document_state("meal_point", {"licence": date(2030, 1, 1), "food_permit": TODAY}, TODAY)
    assert state.ok and state.valid_until == TODAY
    state = registry.document_state("meal_point", {"licence": date(2030, 1, 1), "food_permit": date(2026, 3, 9)}, TODAY)
    assert not state.ok and state.expired == ("food_permit",) and state.missing == ()
    state = registry.document_state("meal_point", {"licence": date(2030, 1, 1)}, TODAY)
    assert state.missing == ("food_permit",) and state.valid_until is None
    assert registry.documents_problem(state) == "食品经营许可证"
    assert registry.document_state("mutual_aid_group", {"insurance": date(2027, 1, 1), "other": date(2020, 1, 1)},
                                 TODAY).ok


def problems(**overrides):
    args = dict(provider_kind="home_care_centre", price_fen=8000, voucher_kinds=["community"], guide_price_fen=8000,
                allowed_kinds=["community"], name="助浴") | overrides
    return [(e.field, e.reason) for e in catalogue.catalogue_item_problems(**args)]


def test_voucher_items_stay_at_or_below_the_guide_price():
    assert problems() == []
    assert problems(price_fen=8001) == [("price_fen", "可用券的服务价格不能高于指导价 80.00 元")]
    assert problems(price_fen=20000, voucher_kinds=[]) == []  # self-paid: the provider's own price
    assert problems(voucher_kinds=["mutual_aid"]) == [("voucher_kinds", "“助浴”只能使用：社区照护券")]
    assert problems(provider_kind="mutual_aid_group") == [("voucher_kinds", "邻里互助点只提供可用邻里互助券的服务")]


def test_index_keys_join_skill_catalogue_and_voucher_kind():
    offered = {"visit": ["community", "mutual_aid"], "meal": ["community"], "clean": []}
    keys = catalogue.index_keys({"visit", "meal", "clean", "bath"}, offered, volunteer=False)
    assert keys == {"visit", "visit@community", "visit@mutual_aid", "meal", "meal@community", "clean"}
    assert catalogue.index_keys({"visit", "meal"}, offered, volunteer=True) == {"visit", "visit@mutual_aid"}
    assert catalogue.index_key("visit", None) == "visit" and catalogue.index_key("visit", "community") == "visit@community"


def test_working_hours_are_read_in_shanghai():
    hours = [{"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "12:00"}]
    tuesday_9am_shanghai = datetime(2026, 3, 10, 1, 0, tzinfo=timezone.utc)
    assert staff.works_at(hours, tuesday_9am_shanghai)
    assert not staff.works_at(hours, datetime(2026, 3, 10, 4, 0, tzinfo=timezone.utc))  # 12:00: the end is out
    assert not staff.works_at(hours, datetime(2026, 3, 14, 1, 0, tzinfo=timezone.utc))  # a Saturday
    assert staff.works_at([], tuesday_9am_shanghai)


def test_service_area_radius_or_named_street():
    base = dict(provider_lat=32.49, provider_lon=119.92, lat=32.49 + 900 / 111_195, lon=119.92)
    assert registry.area_covers(radius_m=None, streets=frozenset(), street=None, **base)
    assert registry.area_covers(radius_m=1_000, streets=frozenset(), street=None, **base)
    assert not registry.area_covers(radius_m=800, streets=frozenset(), street=None, **base)
    assert registry.area_covers(radius_m=800, streets=frozenset({"城东街道"}), street="城东 街道", **base)
    assert not registry.area_covers(radius_m=None, streets=frozenset({"城东街道"}), street=None, **base)


def test_locations_outside_china_are_refused_with_a_hint():
    assert registry.location_problems(32.49, 119.92) == []
    assert registry.location_problems(119.92, 32.49)[0].reason == "位置不在中国境内，请检查经纬度是否填反"
