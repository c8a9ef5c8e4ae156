"""Scoring at every band edge, each grade-change rule alone and together, bad input, and the
special-hardship and reassessment rules that read the result."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.assessment.instruments import get_instrument, load_instruments
from services.assessment.rules.assessments import icd10_category, item_score_errors, score, validate_items
from services.assessment.rules.hardship import (
    add_months,
    is_reassessment_due,
    is_special_hardship,
    reassessment_due,
    special_hardship_reasons,
)
from services.assessment.rules.instruments import CARE_RISK_EVENTS, ComaTrigger
from shared.errors import FieldError, Invalid

GB = get_instrument("gb_t_42195_2022")
MZ = get_instrument("mz_t_039_2013")
BARTHEL = get_instrument("barthel")


def scores_with(instrument, subtotal, *, dimension=None, keep=("consciousness",)):
    """Every item at its maximum, then lowered item by item (never the `keep` ones) until the
    items of `dimension` (all items when None) sum to `subtotal`."""
    items = {item.code: item.max_score for item in instrument.items}
    counted = [i for i in instrument.items if dimension is None or i.dimension == dimension]
    deficit = sum(i.max_score for i in counted) - subtotal
    for item in (i for i in counted if i.code not in keep):
        lowest = min(s for s in item.allowed_scores if item.max_score - s <= deficit)
        deficit -= item.max_score - lowest
        items[item.code] = lowest
    assert deficit == 0, "subtotal not reachable without the kept items"
    return items


# ---- GB/T 42195-2022: bands ----

@pytest.mark.parametrize(
    ("total", "grade", "name"),
    [
        (90, 0, "能力完好"),
        (89, 1, "能力轻度受损（轻度失能）"),
        (66, 1, "能力轻度受损（轻度失能）"),
        (65, 2, "能力中度受损（中度失能）"),
        (46, 2, "能力中度受损（中度失能）"),
        (45, 3, "能力重度受损（重度失能）"),
        (30, 3, "能力重度受损（重度失能）"),
        (29, 4, "能力完全丧失（完全失能）"),
        (2, 4, "能力完全丧失（完全失能）"),
    ],
)
def test_gb_t_42195_grade_at_each_band_edge(total, grade, name):
    result = score(GB, scores_with(GB, total))
    assert (result.total, result.initial_grade, result.grade, result.grade_name) == (total, grade, grade, name)
    assert result.adjustments == ()


def test_dimension_subtotals_are_reported_per_dimension():
    items = scores_with(GB, 80)  # the first 10 points come off 进食, 修饰, 洗澡 (4+4+2)
    result = score(GB, items)
    assert result.dimensions == {"self_care": 22, "basic_motor": 15, "mental_state": 28, "perception_social": 15}
    assert result.instrument == "gb_t_42195_2022"
    assert result.instrument_version == GB.version


# ---- GB/T 42195-2022: grade changes ----

COMA_ITEMS = {**scores_with(GB, 88), "consciousness": 0}  # total 86: initially grade 1


def test_coma_sets_grade_4_directly_and_says_why():
    result = score(GB, COMA_ITEMS, coma=True)
    assert (result.initial_grade, result.grade) == (1, 4)
    [adjustment] = result.adjustments
    assert adjustment.rule == "coma"
    assert adjustment.reason == "处于昏迷状态，直接评定为能力完全丧失（完全失能）"
    assert (adjustment.grade_before, adjustment.grade_after) == (1, 4)


def test_consciousness_0_without_a_recorded_coma_is_stupor_not_coma():
    assert score(GB, COMA_ITEMS).grade == 1


def test_coma_recorded_against_a_conscious_score_is_refused():
    with pytest.raises(Invalid) as caught:
        score(GB, scores_with(GB, 88), coma=True)
    assert caught.value.errors == [FieldError("coma", "记录为昏迷时，意识水平 的分值应为 0")]


def test_coma_decides_alone_even_with_other_rules_met():
    result = score(GB, COMA_ITEMS, coma=True, diagnoses=["F01"], risk_events_30d=["fall", "fall"])
    assert result.grade == 4
    assert [a.rule for a in result.adjustments] == ["coma"]


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("F00", "确诊痴呆（F00），在原有能力等级上提高一级"),
        ("F03", "确诊痴呆（F03），在原有能力等级上提高一级"),
        ("f03.9", "确诊痴呆（F03.9），在原有能力等级上提高一级"),
        ("F00.0*", "确诊痴呆（F00.0*），在原有能力等级上提高一级"),
        ("F04", "确诊精神和行为障碍（F04），在原有能力等级上提高一级"),
        ("F32.1", "确诊精神和行为障碍（F32.1），在原有能力等级上提高一级"),
        ("F99", "确诊精神和行为障碍（F99），在原有能力等级上提高一级"),
    ],
)
def test_dementia_or_psychiatric_diagnosis_raises_one_grade(code, reason):
    result = score(GB, scores_with(GB, 70), diagnoses=[code])
    assert (result.initial_grade, result.grade) == (1, 2)
    assert [(a.rule, a.reason) for a in result.adjustments] == [("psychiatric_diagnosis", reason)]


@pytest.mark.parametrize("code", ["G30", "I63.9", "E11", "G20"])
def test_other_diagnoses_change_nothing(code):
    assert score(GB, scores_with(GB, 70), diagnoses=[code]).grade == 1


def test_several_psychiatric_diagnoses_still_raise_once():
    result = score(GB, scores_with(GB, 70), diagnoses=["F01", "F32", "I10"])
    assert result.grade == 2
    assert result.adjustments[0].reason == "确诊痴呆（F01）、精神和行为障碍（F32），在原有能力等级上提高一级"


@pytest.mark.parametrize(
    ("events", "grade"),
    [
        ([], 2),
        (["fall"], 2),
        (["fall", "fall"], 3),
        (["choking", "wandering"], 3),
        (["suicide_attempt", "self_harm", "fall"], 3),
    ],
)
def test_two_or_more_care_risk_events_raise_one_grade(events, grade):
    assert score(GB, scores_with(GB, 50), risk_events_30d=events).grade == grade


def test_risk_event_reason_counts_each_kind():
    result = score(GB, scores_with(GB, 50), risk_events_30d=["wandering", "fall", "fall"])
    assert result.adjustments[0].reason == "近 30 天内发生照护风险事件 3 次（跌倒 2 次、走失 1 次），在原有能力等级上提高一级"


def test_diagnosis_and_risk_events_together_raise_one_grade_only():
    result = score(GB, scores_with(GB, 50), diagnoses=["F02"], risk_events_30d=["fall", "choking"])
    assert (result.initial_grade, result.grade) == (2, 3)
    first, second = result.adjustments
    assert (first.rule, first.grade_before, first.grade_after) == ("psychiatric_diagnosis", 2, 3)
    assert (second.rule, second.grade_before, second.grade_after) == ("care_risk_events", 3, 3)
    assert second.reason.endswith("（与前一项等级变更同时符合，合计只提高一级）")


@pytest.mark.parametrize(
    ("total", "diagnoses", "events", "grade"),
    [
        (35, ["F01"], ["fall", "fall"], 4),  # grade 3 + both rules → 4
        (20, ["F01"], [], 4),  # already 4: no grade 5
        (2, ["F20"], ["fall", "fall"], 4),  # lowest without a consciousness score of 0
    ],
)
def test_grade_never_goes_past_4(total, diagnoses, events, grade):
    result = score(GB, scores_with(GB, total), diagnoses=diagnoses, risk_events_30d=events)
    assert result.grade == grade


def test_a_rule_met_at_the_ceiling_is_recorded_as_having_no_effect():
    result = score(GB, scores_with(GB, 20), diagnoses=["F01"])
    [adjustment] = result.adjustments
    assert (adjustment.grade_before, adjustment.grade_after) == (4, 4)
    assert adjustment.reason.endswith("（已是最高等级，不再提高）")


# ---- bad input ----

def test_bad_item_scores_name_each_item_in_chinese():
    items = scores_with(GB, 90)
    items["eating"] = 5
    items["stairs"] = 4
    items["aggression"] = True
    del items["memory"]
    items["happiness"] = 3
    with pytest.raises(Invalid) as caught:
        score(GB, items)
    assert caught.value.errors == [
        FieldError("items.eating", "进食 的分值必须是 0、1、2、3、4 之一"),
        FieldError("items.stairs", "上下楼梯 的分值必须是 0、1、2、3 之一"),
        FieldError("items.memory", "记忆 尚未评分"),
        FieldError("items.aggression", "攻击行为 的分值必须是 0、1 之一"),
        FieldError("items.happiness", "老年人能力评估规范（GB/T 42195-2022） 没有编号为 happiness 的评估条目"),
    ]
    assert caught.value.status == 422
    assert caught.value.detail == "评估数据有 5 处不符合要求，请逐项修改"


@pytest.mark.parametrize("value", [-1, 2.0, "2", None])
def test_a_score_of_the_wrong_kind_is_refused(value):
    with pytest.raises(Invalid) as caught:
        score(GB, {**scores_with(GB, 90), "vision": value})
    assert caught.value.errors == [FieldError("items.vision", "视力 的分值必须是 0、1、2 之一")]
    assert caught.value.detail == "视力 的分值必须是 0、1、2 之一"


def test_bad_diagnosis_codes_and_unknown_events_are_refused_with_their_position():
    with pytest.raises(Invalid) as caught:
        score(GB, scores_with(GB, 90), diagnoses=["F01", "dementia"], risk_events_30d=["fall", "meteor"])
    assert [e.field for e in caught.value.errors] == ["diagnoses.1", "risk_events_30d.1"]
    assert "dementia" in caught.value.errors[0].reason
    assert "跌倒" in caught.value.errors[1].reason


def test_items_that_are_not_a_mapping_are_refused():
    assert item_score_errors(GB, [4, 4], complete=True) == [FieldError("items", "评分应为“条目编号: 分值”的对应表")]


def test_a_draft_may_be_partial_but_not_wrong():
    validate_items(GB, {"eating": 3, "vision": 0}, complete=False)
    validate_items(GB, {}, complete=False)
    with pytest.raises(Invalid) as caught:
        validate_items(GB, {"eating": 9}, complete=False)
    assert [e.field for e in caught.value.errors] == ["items.eating"]
    with pytest.raises(Invalid) as caught:
        validate_items(GB, {"eating": 3}, complete=True)
    assert len(caught.value.errors) == 25


@pytest.mark.parametrize(
    ("code", "category"),
    [("F01", "F01"), (" f03.9 ", "F03"), ("G30.1", "G30"), ("F0", None), ("阿尔茨海默", None), (3, None)],
)
def test_icd10_category(code, category):
    assert icd10_category(code) == category


# ---- MZ/T 039-2013 ----

@pytest.mark.parametrize(("adl", "grade"), [(100, 0), (95, 1), (65, 1), (60, 2), (45, 2), (40, 3), (0, 3)])
def test_mz_t_039_grades_on_the_barthel_adl_subtotal(adl, grade):
    result = score(MZ, scores_with(MZ, adl, dimension="adl"))
    assert (result.dimensions["adl"], result.grade) == (adl, grade)
    assert result.total == adl + 40


def test_mz_t_039_raises_once_when_another_dimension_is_severely_impaired():
    items = scores_with(MZ, 80, dimension="adl")
    items.update(cognition=0, aggression=0, depression=2)  # mental state 2: severe
    items.update(life_skills=0, work_ability=0, time_place_orientation=0, person_orientation=0)  # social 4
    result = score(MZ, items)
    assert (result.initial_grade, result.grade) == (1, 2)
    [adjustment] = result.adjustments
    assert adjustment.reason == "精神状态（2 分）、社会参与（4 分）重度受损，在日常生活活动等级上提高一级"


def test_mz_t_039_coma_is_read_from_the_consciousness_item_and_means_severe():
    result = score(MZ, {**scores_with(MZ, 100, dimension="adl"), "consciousness": 0})
    assert (result.initial_grade, result.grade, result.grade_name) == (0, 3, "重度失能")


def test_mz_t_039_counts_its_own_event_list_and_stops_at_grade_3():
    adl_60 = scores_with(MZ, 60, dimension="adl")
    assert score(MZ, adl_60, risk_events_30d=["self_harm", "self_harm"]).grade == 2  # not an MZ/T event
    assert score(MZ, adl_60, risk_events_30d=["fall", "wandering"]).grade == 3
    assert score(MZ, adl_60, diagnoses=["F01"], risk_events_30d=["fall", "fall"]).grade == 3
    assert score(MZ, scores_with(MZ, 20, dimension="adl"), diagnoses=["F01"]).grade == 3


# ---- Barthel ----

@pytest.mark.parametrize(
    ("total", "grade", "name"),
    [(100, 0, "无需依赖"), (95, 1, "轻度依赖"), (65, 1, "轻度依赖"), (60, 2, "中度依赖"), (45, 2, "中度依赖"),
     (40, 3, "重度依赖"), (0, 3, "重度依赖")],
)
def test_barthel_bands(total, grade, name):
    result = score(BARTHEL, scores_with(BARTHEL, total))
    assert (result.total, result.grade, result.grade_name) == (total, grade, name)


def test_barthel_has_no_grade_changes_so_facts_are_checked_but_unused():
    result = score(BARTHEL, scores_with(BARTHEL, 100), coma=True, diagnoses=["F01"], risk_events_30d=["fall"] * 3)
    assert (result.grade, result.adjustments) == (0, ())
    with pytest.raises(Invalid):
        score(BARTHEL, scores_with(BARTHEL, 100), diagnoses=["??"])


def test_barthel_refuses_a_score_between_steps():
    with pytest.raises(Invalid) as caught:
        score(BARTHEL, {**scores_with(BARTHEL, 100), "walking": 12})
    assert caught.value.errors == [FieldError("items.walking", "平地行走 的分值必须是 0、5、10、15 之一")]


# ---- properties over every instrument ----

@st.composite
def assessments(draw):
    instrument = draw(st.sampled_from(list(load_instruments().values())))
    items = draw(st.fixed_dictionaries({i.code: st.sampled_from(i.allowed_scores) for i in instrument.items}))
    coma = draw(st.booleans())
    coma_trigger = next((r.trigger for r in instrument.adjustments if isinstance(r.trigger, ComaTrigger)), None)
    if coma and coma_trigger is not None:
        items[coma_trigger.item] = coma_trigger.item_score  # a recorded coma goes with its item score
    diagnoses = draw(st.lists(st.sampled_from(["F01", "F03.9", "F20", "F32.1", "G30", "I63", "E11.9"]), max_size=3))
    events = draw(st.lists(st.sampled_from(list(CARE_RISK_EVENTS)), max_size=4))
    return instrument, items, coma, diagnoses, events


@settings(max_examples=300, deadline=None)
@given(assessments())
def test_scoring_invariants(assessment):
    instrument, items, coma, diagnoses, events = assessment
    result = score(instrument, items, coma=coma, diagnoses=diagnoses, risk_events_30d=events)
    assert result.total == sum(items.values())
    assert sum(result.dimensions.values()) == result.total
    assert 0 <= result.initial_grade <= result.grade <= instrument.max_grade <= 4
    # Each adjustment starts where the previous one ended: initial → … → final, no silent jumps.
    steps = [(a.grade_before, a.grade_after) for a in result.adjustments]
    chain = [result.initial_grade] + [grade for step in steps for grade in step] + [result.grade]
    assert chain[0::2] == chain[1::2]
    assert all(a.reason for a in result.adjustments)


# ---- special hardship and reassessment ----

@pytest.mark.parametrize(
    ("living", "economic", "grade", "reasons"),
    [
        ("alone", "dibao", None, ["独居且经济困难（低保）"]),
        ("empty_nest", "tekun", 0, ["空巢且经济困难（特困）"]),
        ("empty_nest", "expense_hardship", 1, ["空巢且经济困难（支出型困难）"]),
        ("alone", "dibao_edge", 3, ["独居且经济困难（低保边缘）", "能力等级为 3 级（2 级及以上）"]),
        ("alone", "none", 1, []),
        ("with_family", "tekun", 1, []),
        ("institution", "dibao", None, []),
        ("with_family", "none", 2, ["能力等级为 2 级（2 级及以上）"]),
    ],
)
def test_special_hardship(living, economic, grade, reasons):
    assert special_hardship_reasons(living_situation=living, economic_status=economic, grade=grade) == reasons
    assert is_special_hardship(living_situation=living, economic_status=economic, grade=grade) is bool(reasons)


def test_special_hardship_grade_threshold_is_a_parameter_and_bad_values_are_bugs():
    assert is_special_hardship(living_situation="with_family", economic_status="none", grade=2, min_grade=3) is False
    with pytest.raises(ValueError):
        is_special_hardship(living_situation="on_the_moon", economic_status="none", grade=None)


@pytest.mark.parametrize(
    ("finalised_at", "months", "due"),
    [
        (datetime(2026, 1, 15, 2, 0, tzinfo=UTC), 6, date(2026, 7, 15)),
        (datetime(2026, 1, 14, 16, 30, tzinfo=UTC), 6, date(2026, 7, 15)),  # already the 15th in Shanghai
        (datetime(2025, 8, 31, 4, 0, tzinfo=UTC), 6, date(2026, 2, 28)),
        (datetime(2023, 8, 31, 4, 0, tzinfo=UTC), 6, date(2024, 2, 29)),
        (datetime(2026, 9, 30, 4, 0, tzinfo=timezone(timedelta(hours=8))), 3, date(2026, 12, 30)),
        (datetime(2026, 11, 1, 4, 0, tzinfo=UTC), 12, date(2027, 11, 1)),
    ],
)
def test_reassessment_due_day(finalised_at, months, due):
    assert reassessment_due(finalised_at, months=months) == due
    assert is_reassessment_due(finalised_at, today=due, months=months)
    assert not is_reassessment_due(finalised_at, today=due - timedelta(days=1), months=months)


def test_reassessment_due_defaults_to_six_months_and_refuses_ambiguity():
    assert reassessment_due(datetime(2026, 3, 1, 4, tzinfo=UTC)) == date(2026, 9, 1)
    with pytest.raises(ValueError):
        reassessment_due(datetime(2026, 3, 1, 4))
    with pytest.raises(ValueError):
        reassessment_due(datetime(2026, 3, 1, 4, tzinfo=UTC), months=0)
    assert add_months(date(2026, 12, 31), 2) == date(2027, 2, 28)
