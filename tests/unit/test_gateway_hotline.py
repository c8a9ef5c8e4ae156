"""The 12349 desk's pure rules (gateway/rules/hotline.py) and the operator's account rules, at
their boundaries: numbers, reasons and outcomes, times, who sees a number, which district."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from gateway.accounts import check_new_user
from gateway.rules.hotline import (
    OUTCOMES,
    REASONS,
    CallFacts,
    call_district,
    call_errors,
    check_call,
    log_days,
    log_district,
    normal_number,
    number_shown,
)
from shared.errors import Forbidden, Invalid

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)


def facts(**over) -> CallFacts:
    base = dict(reason="consult", outcome="answered", started_at=NOW - timedelta(minutes=3), ended_at=NOW, note="")
    return CallFacts(**(base | over))


@pytest.mark.parametrize(("raw", "normal"), [
    ("13800000007", "13800000007"), ("138 0000 0007", "13800000007"), ("+86 138-0000-0007", "13800000007"),
    ("8613800000007", "13800000007"), ("0523-86012349", "052386012349"), ("(0523)8601234", "05238601234"),
])
def test_numbers_are_keyed_as_digits(raw, normal):
    assert normal_number(raw) == normal


@pytest.mark.parametrize("raw", ["", "12349", "1380000000", "138000000077", "12800000007", "05231234", "abc", None])
def test_anything_else_is_not_a_number(raw):
    with pytest.raises(Invalid) as e:
        normal_number(raw)
    assert e.value.errors[0].field == "caller_phone"


def test_every_reason_and_outcome_has_a_chinese_name():
    assert set(REASONS) == {"consult", "order", "complaint", "emergency", "return_visit", "other"}
    assert list(REASONS.values()) == ["咨询", "下单", "投诉", "紧急", "回访", "其他"]
    assert all(OUTCOMES.values()) and "other" in OUTCOMES


@pytest.mark.parametrize(("over", "fields"), [
    ({}, set()),
    ({"reason": "chat"}, {"reason"}),
    ({"outcome": "done"}, {"outcome"}),
    ({"reason": "", "outcome": ""}, {"reason", "outcome"}),
    ({"ended_at": NOW - timedelta(minutes=3)}, set()),  # a call that ended as it began (0 s) is kept
    ({"ended_at": NOW - timedelta(minutes=3, seconds=1)}, {"ended_at"}),
    ({"started_at": NOW - timedelta(hours=4)}, set()),  # exactly 4 hours: still a call
    ({"started_at": NOW - timedelta(hours=4, seconds=1)}, {"ended_at"}),
    ({"started_at": NOW + timedelta(minutes=2), "ended_at": NOW + timedelta(minutes=2)}, set()),  # clock skew
    ({"started_at": NOW + timedelta(minutes=3), "ended_at": NOW + timedelta(minutes=4)}, {"started_at", "ended_at"}),
    ({"note": "备" * 500}, set()),
    ({"note": "备" * 501}, {"note"}),
])
def test_a_call_record_at_its_boundaries(over, fields):
    assert {e.field for e in call_errors(facts(**over), now=NOW)} == fields


def test_the_duration_is_whole_seconds_and_bad_records_list_every_field():
    assert check_call(facts(started_at=NOW - timedelta(seconds=185.9)), now=NOW) == 185
    with pytest.raises(Invalid) as e:
        check_call(facts(reason="x", outcome="y"), now=NOW)
    assert [f.field for f in e.value.errors] == ["reason", "outcome"]


@pytest.mark.parametrize(("role", "own", "shown"), [
    ("admin", False, "13800000008"), ("city_officer", False, "13800000008"),
    ("operator", True, "13800000008"), ("operator", False, "138****0008"),
    ("officer", False, "138****0008"), ("officer", True, "138****0008"),
])
def test_who_sees_the_number_in_full(role, own, shown):
    assert number_shown("13800000008", role=role, own_call=own) == shown


@pytest.mark.parametrize(("role", "own", "asked", "covers"), [
    ("city_officer", None, None, None), ("city_officer", None, "321203", "321203"),
    ("operator", None, None, None), ("operator", None, "321204", "321204"),
    ("operator", "321202", None, "321202"), ("operator", "321202", "321202", "321202"),
    ("officer", "321202", None, "321202"),
])
def test_the_log_search_covers_the_readers_scope(role, own, asked, covers):
    assert log_district(role=role, own_district=own, requested=asked) == covers


@pytest.mark.parametrize(("role", "own", "asked", "error"), [
    ("officer", "321202", "321203", Forbidden), ("operator", "321202", "321203", Forbidden),
    ("officer", None, None, Forbidden), ("city_officer", None, "999999", Invalid),
])
def test_another_district_is_refused(role, own, asked, error):
    with pytest.raises(error):
        log_district(role=role, own_district=own, requested=asked)


def test_a_call_is_filed_under_the_desks_district_or_the_elders():
    assert call_district(role="operator", own_district="321202", elder_district=None) == "321202"
    assert call_district(role="operator", own_district="321202", elder_district="321202") == "321202"
    assert call_district(role="operator", own_district=None, elder_district="321203") == "321203"
    assert call_district(role="operator", own_district=None, elder_district=None) is None
    with pytest.raises(Forbidden):
        call_district(role="operator", own_district="321202", elder_district="321203")


@pytest.mark.parametrize(("district", "provider", "fields"), [
    (None, None, set()), ("321202", None, set()), ("999999", None, {"district_code"}),
    (None, "p-1", {"provider_id"}),
])
def test_an_operator_account_is_city_wide_or_one_districts(district, provider, fields):
    try:
        check_new_user(role="operator", district_code=district, provider_id=provider, password="long-enough")
        found = set()
    except Invalid as e:
        found = {x.field for x in e.errors}
    assert found == fields


def test_a_note_with_control_characters_is_refused_but_newlines_are_kept():
    assert call_errors(facts(note="第一行\n第二行\t完"), now=NOW) == []
    assert [e.field for e in call_errors(facts(note="a\x00b"), now=NOW)] == ["note"]


@pytest.mark.parametrize(("first", "last", "fields"), [
    (date(2026, 12, 1), date(2026, 12, 1), set()), (None, None, set()), (date(2000, 1, 1), date(2099, 12, 31), set()),
    (date(2026, 12, 2), date(2026, 12, 1), {"date_to"}), (date(1999, 12, 31), None, {"date_from"}),
    (None, date(9999, 12, 31), {"date_to"}),
])
def test_the_log_search_days(first, last, fields):
    try:
        log_days(first, last)
        found = set()
    except Invalid as e:
        found = {x.field for x in e.errors}
    assert found == fields
