"""Voucher policy: the city's defaults at every boundary, version resolution, validation."""
from __future__ import annotations

from datetime import date

import pytest

from services.vouchers.rules.policy import (
    DEFAULT_POLICY,
    EconomicStatus,
    EligibilityFacts,
    Entitlement,
    LivingSituation,
    PolicyVersion,
    VoucherKind,
    entitlements,
    parse_policy,
    policy_in_force,
    validate_policy,
)
from shared.errors import Invalid, NotFound

C, INST, M = VoucherKind.COMMUNITY, VoucherKind.INSTITUTIONAL, VoucherKind.MUTUAL_AID


def facts(status="tekun", grade=2, living="alone", hardship=False, elder_status="active"):
    return EligibilityFacts(status, grade, living, hardship, elder_status)


def granted(elder: EligibilityFacts) -> dict[VoucherKind, tuple[int, int]]:
    return {e.kind: (e.face_value_fen, e.share_bp) for e in entitlements(DEFAULT_POLICY, elder)}


@pytest.mark.parametrize(
    ("status", "grade", "expected"),
    [
        ("tekun", 0, None),  # intact: no community voucher
        ("tekun", 1, (20_000, 10_000)),
        ("tekun", 2, (30_000, 10_000)),
        ("tekun", 3, (45_000, 10_000)),
        ("tekun", 4, (60_000, 10_000)),
        ("dibao", 1, (20_000, 9_000)),
        ("dibao", 4, (60_000, 9_000)),
        ("dibao_edge", 1, (10_000, 7_000)),  # half face value, 70% share
        ("dibao_edge", 3, (22_500, 7_000)),
        ("expense_hardship", 4, (30_000, 7_000)),
        ("none", 4, None),  # no economic hardship: no voucher
    ],
)
def test_community_voucher_by_status_and_grade(status, grade, expected):
    assert granted(facts(status, grade)).get(C) == expected


@pytest.mark.parametrize(
    ("grade", "living", "expected_kinds"),
    [
        (2, "institution", set()),  # below grade 3 in an institution: neither kind
        (3, "institution", {INST}),  # institutional, and never community as well
        (4, "institution", {INST}),
        (3, "with_family", {C}),
        (3, "empty_nest", {C}),
    ],
)
def test_institution_residents_get_institutional_not_community(grade, living, expected_kinds):
    assert set(granted(facts("dibao", grade, living))) == expected_kinds


def test_institutional_face_value_and_share():
    assert granted(facts("dibao", 3, "institution"))[INST] == (80_000, 9_000)


@pytest.mark.parametrize(
    ("status", "grade", "living", "hardship", "expected"),
    [
        ("tekun", 0, "alone", True, (10_000, 10_000)),  # any grade: hardship is the test
        ("dibao_edge", 0, "empty_nest", True, (10_000, 7_000)),
        ("tekun", 0, "alone", False, None),
        ("tekun", 3, "institution", True, None),
        ("none", 2, "alone", True, None),
    ],
)
def test_mutual_aid_needs_special_hardship(status, grade, living, hardship, expected):
    assert granted(facts(status, grade, living, hardship)).get(M) == expected


def test_entitlements_follow_rule_order_and_combine():
    result = entitlements(DEFAULT_POLICY, facts("tekun", 4, "alone", True))
    assert result == [Entitlement(C, 60_000, 10_000), Entitlement(M, 10_000, 10_000)]


@pytest.mark.parametrize("elder_status", ["deceased", "moved_away"])
def test_no_entitlement_once_elder_leaves(elder_status):
    assert entitlements(DEFAULT_POLICY, facts("tekun", 4, "alone", True, elder_status)) == []


def test_unassessed_elder_gets_nothing():
    assert entitlements(DEFAULT_POLICY, facts("tekun", None, "alone", True)) == []


def test_exclusion_is_by_granted_kind_not_merely_matching():
    # community excluded by institutional, institutional excluded by mutual aid: mutual aid wins,
    # so institutional is out and therefore cannot knock out community.
    rules = [r.model_copy(update={"living_situations": frozenset(LivingSituation)}) for r in DEFAULT_POLICY.rules]
    rules[0] = rules[0].model_copy(update={"excluded_by": frozenset({M})})
    policy = validate_policy(DEFAULT_POLICY.model_copy(update={"rules": tuple(rules)}))
    kinds = [e.kind for e in entitlements(policy, facts("tekun", 3, "institution", True))]
    assert kinds == [C, M]


def test_zero_face_value_grants_nothing_and_excludes_nothing():
    rules = list(DEFAULT_POLICY.rules)
    rules[0] = rules[0].model_copy(update={"face_value_fen_by_grade": {3: 0, 4: 0}})
    rules[1] = rules[1].model_copy(update={"living_situations": frozenset(LivingSituation)})
    policy = validate_policy(DEFAULT_POLICY.model_copy(update={"rules": tuple(rules)}))
    assert [e.kind for e in entitlements(policy, facts("tekun", 3, "institution"))] == [C]


def version(number: int, effective: date) -> PolicyVersion:
    return DEFAULT_POLICY.model_copy(update={"version": number, "effective_from": effective})


@pytest.mark.parametrize(
    ("on", "expected_version"),
    [
        (date(2026, 1, 1), 1),
        (date(2026, 6, 30), 1),  # the day before the new version
        (date(2026, 7, 1), 3),  # its first day; version 3 corrects version 2 for the same day
        (date(2030, 1, 1), 3),
    ],
)
def test_policy_in_force_at_effective_date_boundaries(on, expected_version):
    versions = [version(3, date(2026, 7, 1)), version(1, date(2026, 1, 1)), version(2, date(2026, 7, 1))]
    assert policy_in_force(versions, on).version == expected_version


def test_no_policy_in_force_before_the_first_version():
    with pytest.raises(NotFound):
        policy_in_force([version(1, date(2026, 1, 1))], date(2025, 12, 31))


def rule(**changes) -> dict:
    base = DEFAULT_POLICY.rules[1].model_dump(mode="json")
    base.update(changes)
    return base


def submitted(*rules: dict) -> dict:
    return {"version": 2, "effective_from": "2026-07-01", "rules": list(rules)}


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ([rule(face_value_fen_by_grade={"1": -1, "2": 0, "3": 0, "4": 0})], "rules.0.face_value_fen_by_grade.1"),
        ([rule(share_bp_by_status={**rule()["share_bp_by_status"], "dibao": 10_001})], "rules.0.share_bp_by_status.dibao"),
        ([rule(share_bp_by_status={**rule()["share_bp_by_status"], "tekun": -1})], "rules.0.share_bp_by_status.tekun"),
        ([rule(face_value_bp_by_status={"dibao_edge": 10_001})], "rules.0.face_value_bp_by_status.dibao_edge"),
        ([rule(), rule()], "rules.1.kind"),
        ([rule(grades=[1, 5], face_value_fen_by_grade={"1": 1, "5": 1})], "rules.0.grades"),
        ([rule(face_value_fen_by_grade={"1": 1})], "rules.0.face_value_fen_by_grade"),
        ([rule(share_bp_by_status={"tekun": 10_000})], "rules.0.share_bp_by_status"),
        ([rule(grades=[])], "rules.0.grades"),
        ([rule(excluded_by=["community"])], "rules.0.excluded_by"),
        ([rule(kind="bogus")], "rules.0.kind"),
        ([rule(face_value_fen_by_grade="lots")], "rules.0.face_value_fen_by_grade"),
    ],
)
def test_invalid_policy_names_the_field(rules, field):
    with pytest.raises(Invalid) as caught:
        parse_policy(submitted(*rules))
    assert field in [error.field for error in caught.value.errors]
    assert all(error.reason for error in caught.value.errors)


def test_boundary_values_are_accepted():
    shares = {status: bp for status, bp in zip(EconomicStatus, [0, 10_000, 0, 10_000, 0])}
    policy = parse_policy(submitted(rule(share_bp_by_status=shares, face_value_fen_by_grade={"1": 0, "2": 0, "3": 0, "4": 0})))
    assert policy.rules[0].share_bp_by_status[EconomicStatus.DIBAO] == 10_000


def test_exclusion_cycle_is_refused():
    mutual = rule(kind="mutual_aid", excluded_by=["community"])
    with pytest.raises(Invalid) as caught:
        parse_policy(submitted(rule(), mutual, {**rule(kind="institutional"), "excluded_by": ["mutual_aid"]}))
    assert any("成环" in error.reason for error in caught.value.errors)


def test_default_policy_round_trips_through_json():
    assert parse_policy(DEFAULT_POLICY.model_dump(mode="json")) == DEFAULT_POLICY


def test_kind_names_are_chinese():
    assert [kind.zh_name for kind in VoucherKind] == ["机构托养券", "社区照护券", "邻里互助券"]
