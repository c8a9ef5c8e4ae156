"""The instrument definition files: what they say (checked against GB/T 42195-2022 as docs/domain.md
lists it) and that a broken definition is refused when it is loaded."""
from __future__ import annotations

import copy
import json

import pytest

from services.assessment.instruments import (
    DEFAULT_INSTRUMENT_CODE,
    INSTRUMENTS_DIR,
    InstrumentDefinitionError,
    get_instrument,
    load_instruments,
    parse_instrument,
)
from shared.errors import NotFound

# docs/domain.md's table: dimension name → [(item name, max score)], in the standard's order.
GB_T_42195_ITEMS = {
    "自理能力": [
        ("进食", 4), ("修饰", 4), ("洗澡", 4), ("穿/脱上衣", 4), ("穿/脱裤子和鞋袜", 4),
        ("小便控制", 4), ("大便控制", 4), ("如厕", 4),
    ],
    "基础运动能力": [("床上体位转移", 4), ("床椅转移", 4), ("平地行走", 4), ("上下楼梯", 3)],
    "精神状态": [
        ("时间定向", 4), ("空间定向", 4), ("人物定向", 4), ("记忆", 4), ("理解能力", 4),
        ("表达能力", 4), ("攻击行为", 1), ("抑郁症状", 1), ("意识水平", 2),
    ],
    "感知觉与社会参与": [("视力", 2), ("听力", 2), ("执行日常事务", 4), ("使用交通工具外出", 3), ("社会交往能力", 4)],
}
REQUIRED_KEYS = {"code", "name", "version", "description", "dimensions", "items", "bands", "adjustments"}


def raw(code: str) -> dict:
    return json.loads((INSTRUMENTS_DIR / f"{code}.json").read_text(encoding="utf-8"))


def test_every_shipped_instrument_loads_with_its_maximum_total():
    instruments = load_instruments()
    assert {code: instrument.max_total for code, instrument in instruments.items()} == {
        "gb_t_42195_2022": 90,
        "barthel": 100,
        "mz_t_039_2013": 140,  # ADL 100 + mental state 6 + perception 14 + social 20
    }
    assert DEFAULT_INSTRUMENT_CODE == "gb_t_42195_2022"


@pytest.mark.parametrize("path", sorted(INSTRUMENTS_DIR.glob("*.json")), ids=lambda path: path.name)
def test_each_file_carries_the_required_keys_and_is_named_by_its_code(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    assert REQUIRED_KEYS <= data.keys()
    assert path.stem == data["code"]
    for item in data["items"]:
        assert all(option["wording"].strip() for option in item["scores"]), item["code"]


def test_gb_t_42195_lists_the_26_items_with_the_standards_names_dimensions_and_ranges():
    instrument = get_instrument("gb_t_42195_2022")
    listed = {
        dimension.name: [(item.name, item.max_score) for item in instrument.items_of(dimension.code)]
        for dimension in instrument.dimensions
    }
    assert listed == GB_T_42195_ITEMS
    assert len(instrument.items) == 26
    for item in instrument.items:
        assert item.allowed_scores == tuple(range(item.max_score + 1)), item.name
        assert item.code.isascii()
    assert [(d.name, d.max) for d in instrument.dimensions] == [
        ("自理能力", 32), ("基础运动能力", 15), ("精神状态", 28), ("感知觉与社会参与", 15),
    ]


def test_gb_t_42195_item_codes_are_the_stable_ones_other_parts_rely_on():
    instrument = get_instrument()
    assert instrument.item("eating").name == "进食"
    assert instrument.item("stairs").name == "上下楼梯"
    assert instrument.item("transport").name == "使用交通工具外出"
    assert instrument.item("consciousness").name == "意识水平"
    assert instrument.item("eating").wording(4) == "独立使用餐具将食物送进口中并咽下，没有呛咳"


def test_gb_t_42195_bands_and_rules_are_the_domain_tables():
    instrument = get_instrument()
    assert [(b.grade, b.min, b.max) for b in instrument.bands] == [
        (0, 90, 90), (1, 66, 89), (2, 46, 65), (3, 30, 45), (4, 0, 29),
    ]
    assert instrument.grade_name(4) == "能力完全丧失（完全失能）"
    rules = {rule.code: rule for rule in instrument.adjustments}
    assert list(rules) == ["coma", "psychiatric_diagnosis", "care_risk_events"]
    assert (rules["coma"].kind, rules["coma"].grade) == ("set_grade", 4)
    assert rules["psychiatric_diagnosis"].raise_group == rules["care_risk_events"].raise_group
    diagnosis, risk = rules["psychiatric_diagnosis"].trigger, rules["care_risk_events"].trigger
    assert [(r.first, r.last) for r in diagnosis.ranges] == [("F00", "F03"), ("F04", "F99")]
    assert set(risk.events) == {"fall", "choking", "suicide_attempt", "self_harm", "wandering"}
    assert risk.min_count == 2


def test_barthel_has_ten_items_in_steps_of_five():
    instrument = get_instrument("barthel")
    steps = {item.name: item.allowed_scores for item in instrument.items}
    assert steps == {
        "进食": (0, 5, 10), "洗澡": (0, 5), "修饰": (0, 5), "穿衣": (0, 5, 10), "大便控制": (0, 5, 10),
        "小便控制": (0, 5, 10), "如厕": (0, 5, 10), "床椅转移": (0, 5, 10, 15), "平地行走": (0, 5, 10, 15),
        "上下楼梯": (0, 5, 10),
    }
    assert [(b.grade, b.min, b.max) for b in instrument.bands] == [(0, 100, 100), (1, 61, 99), (2, 41, 60), (3, 0, 40)]
    assert instrument.adjustments == ()


def test_mz_t_039_grades_on_adl_and_documents_its_simplification():
    instrument = get_instrument("mz_t_039_2013")
    assert instrument.grade_basis == "adl"
    assert instrument.dimension("adl").max == 100
    assert [(b.grade, b.min, b.max) for b in instrument.bands] == [(0, 100, 100), (1, 65, 95), (2, 45, 60), (3, 0, 40)]
    assert "简化" in instrument.description
    assert instrument.max_grade == 3


def test_unknown_instrument_code_is_not_found():
    with pytest.raises(NotFound) as caught:
        get_instrument("nope")
    assert "nope" in caught.value.detail


def _broken(mutate) -> dict:
    data = copy.deepcopy(raw("gb_t_42195_2022"))
    mutate(data)
    return data


def _set(path: list, value):
    def mutate(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


@pytest.mark.parametrize(
    ("mutate", "complaint"),
    [
        (_set(["items", 0, "dimension"], "nowhere"), "unknown dimension"),
        (_set(["items", 1, "code"], "eating"), "duplicate item code"),
        (_set(["dimensions", 0, "max"], 31), "declares max 31"),
        (_set(["bands", 1, "min"], 67), "fall in no band"),
        (_set(["bands", 1, "max"], 90), "overlap"),
        (_set(["bands", 4, "grade"], 5), "band grades"),
        (_set(["adjustments", 0, "grade"], 7), "set_grade needs a band grade"),
        (_set(["adjustments", 0, "trigger", "item"], "awareness"), "unknown item"),
        (_set(["adjustments", 2, "trigger", "events"], ["fall", "meteor"]), "unknown care-risk events"),
        (_set(["adjustments", 1, "reason"], "确诊{diagnosis}"), "unknown placeholders"),
        (_set(["adjustments", 1, "trigger", "ranges", 0, "from"], "F9"), "from"),
        (_set(["adjustments", 1, "trigger", "type"], "horoscope"), "type"),
        (_set(["items", 0, "scores", 1, "score"], 4), "twice"),
        (_set(["grade_basis"], "wellbeing"), "grade_basis"),
        (_set(["surprise"], 1), "surprise"),
    ],
)
def test_a_broken_definition_is_refused_naming_the_problem(mutate, complaint):
    with pytest.raises(InstrumentDefinitionError) as caught:
        parse_instrument(_broken(mutate), source="broken.json")
    assert "broken.json" in str(caught.value)
    assert complaint in str(caught.value)


def test_loading_a_directory_refuses_bad_json_and_duplicate_codes(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(raw("barthel"), ensure_ascii=False), encoding="utf-8")
    assert list(load_instruments(tmp_path)) == ["barthel"]
    (tmp_path / "b.json").write_text(json.dumps(raw("barthel"), ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InstrumentDefinitionError, match="defined twice"):
        load_instruments(tmp_path)
    (tmp_path / "b.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InstrumentDefinitionError, match="b.json: not valid JSON"):
        load_instruments(tmp_path)
