"""Status lists (services/assessment/rules/status_lists.py): reading CSV, XLSX and JSON, the
required columns, bad rows at the calendar's edges, duplicates, and the classification of a row
against the record it matched."""
from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook

from services.assessment.rules import status_lists as sl
from shared.errors import Invalid
from tests.support.factories import id_card, new_id_card

TODAY = date(2026, 12, 31)
ALIVE = sl.ElderFacts(elder_id="e1", name="王大爷", status="active", status_date=None, economic_status="dibao")


def csv_bytes(*lines: str, encoding: str = "utf-8-sig") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_with_chinese_headers_in_any_common_encoding(encoding):
    number = new_id_card()
    rows = sl.read_csv(sl.Kind.DEATHS, csv_bytes("身份证号,姓名,死亡日期", f"{number},王大爷,2026-12-01",
                                                 encoding=encoding))
    assert rows == [sl.RawRow(2, {"id_card": number, "name": "王大爷", "date": "2026-12-01"})]


def test_csv_line_numbers_count_the_header_and_skip_blank_lines():
    a, b = new_id_card(), new_id_card()
    rows = sl.read_csv(sl.Kind.MOVES, csv_bytes("身份证号码,迁出日期", f"{a},2026-11-02", ",", f"{b},2026-11-03"))
    assert [r.line for r in rows] == [2, 4]


def test_english_headers_and_columns_in_any_order():
    number = new_id_card()
    rows = sl.read_csv(sl.Kind.ASSISTANCE, csv_bytes("valid_from,extra,Status,ID_CARD", f"2026-12-01,x,低保,{number}"))
    assert rows[0].values == {"id_card": number, "status": "低保", "date": "2026-12-01"}


@pytest.mark.parametrize("kind,header,missing", [
    (sl.Kind.DEATHS, "身份证号,死亡日期", ["姓名"]),
    (sl.Kind.DEATHS, "姓名,日期", ["身份证号", "死亡日期"]),
    (sl.Kind.MOVES, "身份证号,姓名", ["迁出日期"]),
    (sl.Kind.ASSISTANCE, "身份证号,死亡日期,姓名", ["救助类别", "生效日期"]),
    (sl.Kind.ASSISTANCE, "", ["身份证号", "救助类别", "生效日期"]),
])
def test_a_file_that_is_not_this_kind_of_list_names_the_missing_columns(kind, header, missing):
    with pytest.raises(Invalid) as caught:
        sl.read_csv(kind, csv_bytes(header, "1,2"))
    assert caught.value.extra["missing_columns"] == missing
    assert [e.field for e in caught.value.errors] == [f"file.{m}" for m in missing]
    assert all(m in caught.value.detail for m in missing)


def test_xlsx_reads_dates_and_numbers_and_skips_leading_blank_rows():
    number = new_id_card()
    data = xlsx_bytes([[None, None], ["身份证号", "救助类别", "生效日期"], [number, "低保边缘", date(2026, 12, 1)],
                       [None, None, None], ["32120219480506123X", "特困", "2026/12/01"]])
    rows = sl.read_xlsx(sl.Kind.ASSISTANCE, data)
    assert [(r.line, r.values["date"]) for r in rows] == [(3, "2026-12-01"), (5, "2026/12/01")]
    assert rows[0].values["id_card"] == number


def test_xlsx_missing_columns_and_not_a_workbook():
    with pytest.raises(Invalid) as caught:
        sl.read_xlsx(sl.Kind.DEATHS, xlsx_bytes([["编号", "姓名"], [1, "王"]]))
    assert caught.value.extra["missing_columns"] == ["身份证号", "死亡日期"]
    with pytest.raises(Invalid):
        sl.read_file(sl.Kind.DEATHS, "list.xlsx", b"not a zip")
    with pytest.raises(Invalid):
        sl.read_file(sl.Kind.DEATHS, "list.pdf", b"%PDF")


def test_json_rows_use_english_keys_and_their_position_as_line():
    number = new_id_card()
    rows = sl.read_json_rows(sl.Kind.ASSISTANCE, [{"id_card": number, "status": "无", "valid_from": "2026-12-01"}])
    assert rows == [sl.RawRow(1, {"id_card": number, "status": "无", "date": "2026-12-01", "name": ""})]
    with pytest.raises(Invalid) as caught:
        sl.read_json_rows(sl.Kind.DEATHS, [{"id_card": number, "date": "2026-12-01"}])
    assert caught.value.extra["missing_columns"] == ["name"]


# ---- bad rows -----------------------------------------------------------------------------------


def raw(kind: sl.Kind, *, id_card_text: str | None = None, name: str = "王大爷", when: str = "2026-12-01",
        status: str = "低保") -> sl.ListRow:
    values = {"id_card": id_card_text or new_id_card(), "name": name, "date": when, "status": status}
    return sl.check_row(kind, sl.RawRow(7, values), today=TODAY)


WRONG_CHECK = id_card("32120219480506123")[:17] + ("0" if id_card("32120219480506123")[17] != "0" else "1")


@pytest.mark.parametrize("kind,fields,today,error", [
    (sl.Kind.DEATHS, {"id_card_text": WRONG_CHECK}, TODAY, "校验位"),
    (sl.Kind.DEATHS, {"id_card_text": "12345"}, TODAY, "18 位"),
    (sl.Kind.DEATHS, {"name": ""}, TODAY, "姓名"),
    (sl.Kind.ASSISTANCE, {"status": "五保"}, TODAY, "救助类别"),
    # the calendar's edges: a leap day, the 31st, today and tomorrow
    (sl.Kind.DEATHS, {"when": "2024-02-29"}, TODAY, None),
    (sl.Kind.DEATHS, {"when": "2023-02-29"}, TODAY, "不是有效日期"),
    (sl.Kind.DEATHS, {"when": "2026-11-31"}, TODAY, "不是有效日期"),
    (sl.Kind.DEATHS, {"when": "2026-12-31"}, TODAY, None),
    (sl.Kind.DEATHS, {"when": "2027-01-01"}, TODAY, "晚于今天"),
    (sl.Kind.MOVES, {"when": "2026-10-31"}, date(2026, 10, 31), None),
    (sl.Kind.MOVES, {"when": "2026-11-01"}, date(2026, 10, 31), "晚于今天"),
    (sl.Kind.MOVES, {"when": "20261030"}, date(2026, 10, 31), None),
    (sl.Kind.MOVES, {"when": "yesterday"}, TODAY, "不是有效日期"),
    # an assistance list may announce next month's status, no further
    (sl.Kind.ASSISTANCE, {"when": "2027-01-01"}, TODAY, None),
    (sl.Kind.ASSISTANCE, {"when": "2027-01-02"}, TODAY, "晚于下月 1 日"),
    (sl.Kind.ASSISTANCE, {"when": "2024-03-01"}, date(2024, 2, 29), None),
    (sl.Kind.ASSISTANCE, {"when": "2024-03-02"}, date(2024, 2, 29), "晚于下月 1 日"),
])
def test_bad_rows(kind, fields, today, error):
    values = {"id_card": fields.get("id_card_text") or new_id_card(), "name": fields.get("name", "王大爷"),
              "date": fields.get("when", "2026-12-01"), "status": fields.get("status", "低保")}
    row = sl.check_row(kind, sl.RawRow(9, values), today=today)
    if error is None:
        assert row.error is None and row.date is not None
    else:
        assert error in row.error
        assert sl.classify(kind, row, ALIVE) == sl.Classified(sl.Outcome.INVALID, row.error)
    assert row.line == 9


@pytest.mark.parametrize("word,code", [("特困", "tekun"), ("低保", "dibao"), ("低保边缘", "dibao_edge"), ("无", "none")])
def test_assistance_words_map_to_the_record_codes(word, code):
    assert raw(sl.Kind.ASSISTANCE, status=word).status == code


def test_duplicates_same_facts_count_once_different_dates_conflict():
    a, b = new_id_card(), new_id_card()
    rows = [sl.check_row(sl.Kind.DEATHS, sl.RawRow(line, {"id_card": n, "name": "王", "date": d}), today=TODAY)
            for line, n, d in [(2, a, "2026-12-01"), (3, b, "2026-12-01"), (4, a, "2026-12-01"),
                               (5, b, "2026-12-02"), (6, new_id_card(), "2026-12-01")]]
    found = sl.duplicates(rows)
    assert found[4].outcome is sl.Outcome.UNCHANGED and "第 2 行" in found[4].reason
    assert 2 not in found and 6 not in found
    assert found[3].outcome is found[5].outcome is sl.Outcome.CONFLICTING
    assert "3、5" in found[3].reason


# ---- classification -----------------------------------------------------------------------------


def elder(**overrides) -> sl.ElderFacts:
    return sl.ElderFacts(**({"elder_id": "e1", "name": "王大爷", "status": "active", "status_date": None,
                             "economic_status": "dibao"} | overrides))


D = date(2026, 12, 1)


@pytest.mark.parametrize("kind,row_fields,facts,outcome,change", [
    (sl.Kind.DEATHS, {}, None, "unknown", None),
    (sl.Kind.DEATHS, {}, elder(), "apply", ("status", "active", "deceased")),
    (sl.Kind.DEATHS, {"name": "王 大爷"}, elder(), "apply", ("status", "active", "deceased")),
    (sl.Kind.DEATHS, {"name": "王二爷"}, elder(), "name_mismatch", None),
    (sl.Kind.DEATHS, {}, elder(status="deceased", status_date=D), "unchanged", None),
    (sl.Kind.DEATHS, {}, elder(status="deceased", status_date=date(2026, 11, 30)), "conflicting", None),
    (sl.Kind.DEATHS, {}, elder(status="moved_away", status_date=date(2026, 1, 1)), "apply",
     ("status", "moved_away", "deceased")),
    (sl.Kind.MOVES, {"name": ""}, elder(), "apply", ("status", "active", "moved_away")),
    (sl.Kind.MOVES, {"name": "李四"}, elder(), "name_mismatch", None),
    (sl.Kind.MOVES, {}, elder(status="deceased", status_date=D), "conflicting", None),
    (sl.Kind.MOVES, {}, elder(status="moved_away", status_date=D), "unchanged", None),
    (sl.Kind.ASSISTANCE, {"status": "低保边缘"}, elder(), "apply", ("economic_status", "dibao", "dibao_edge")),
    (sl.Kind.ASSISTANCE, {"status": "低保"}, elder(), "unchanged", None),
    (sl.Kind.ASSISTANCE, {"status": "无"}, elder(economic_status="expense_hardship"), "unchanged", None),
    (sl.Kind.ASSISTANCE, {"status": "无"}, elder(economic_status="tekun"), "apply", ("economic_status", "tekun", "none")),
    (sl.Kind.ASSISTANCE, {"status": "特困"}, elder(status="deceased", status_date=D), "conflicting", None),
])
def test_classification(kind, row_fields, facts, outcome, change):
    row = raw(kind, **{"when": "2026-12-01"} | row_fields)
    result = sl.classify(kind, row, facts)
    assert result.outcome == outcome
    assert (result.reason is None) == (outcome == "apply")
    if change:
        assert (result.change.field, result.change.from_value, result.change.to_value) == change
        assert result.change.effective_date == D
    else:
        assert result.change is None


def test_counts_and_masks():
    assert sl.counts(["apply", "apply", "unknown"], matched=2) == {
        "rows": 3, "matched": 2, "apply": 2, "unchanged": 0, "name_mismatch": 0, "unknown": 1, "conflicting": 0,
        "invalid": 0}
    assert sl.mask_name("王大爷") == "王**" and sl.mask_name("王") == "*"


def test_explanations_for_the_elder_page():
    text = sl.explanation(kind="assistance", field_name="economic_status", from_value="dibao", to_value="dibao_edge",
                          effective_date=date(2026, 12, 1))
    assert text == "根据民政救助名单（2026-12-01 生效），您的救助类别由 低保 调整为 低保边缘；下月起代金券按新类别发放。"
    assert "已故（2026-11-20）" in sl.explanation(kind="deaths", field_name="status", from_value="active",
                                               to_value="deceased", effective_date=date(2026, 11, 20))
    assert "已迁出" in sl.explanation(kind="moves", field_name="status", from_value="active", to_value="moved_away",
                                    effective_date=date(2026, 11, 20))
