"""Resident ID numbers and mobile numbers. Valid ID numbers are built with the GB 11643
check-digit algorithm of tests/support/factories.py, written out independently of the module under test."""
from __future__ import annotations

from datetime import date

import pytest

from services.assessment.rules.idcard import (
    Gender,
    id_card_check_char,
    id_card_facts,
    mask_id_card,
    mask_phone,
    validate_id_card,
    validate_phone,
)
from shared.errors import FieldError, Invalid
from tests.support.factories import id_card
from tests.support.factories import id_card_check_char as check_char


def id_number(region: str, born: date, sequence: str) -> str:
    return id_card(f"{region}{born:%Y%m%d}{sequence}")


HAILING_MAN = id_number("321202", date(1948, 5, 6), "123")  # 17th digit 3: a man
JIANGYAN_WOMAN = id_number("321204", date(1940, 2, 29), "062")  # 17th digit 2: a woman
# A sequence whose check character is X, found rather than copied.
X_SEQUENCE = next(f"{n:03d}" for n in range(1000) if check_char(f"32128119520101{n:03d}") == "X")
ENDS_IN_X = id_number("321281", date(1952, 1, 1), X_SEQUENCE)


def test_the_test_algorithm_agrees_with_a_published_example():
    # GB 11643-1999's own worked example: 11010519491231002X.
    assert check_char("11010519491231002") == "X"
    assert id_card_check_char("11010519491231002") == "X"


@pytest.mark.parametrize("number", [HAILING_MAN, JIANGYAN_WOMAN, ENDS_IN_X])
def test_valid_numbers_pass_and_come_back_normalised(number):
    assert validate_id_card(number) == number
    assert validate_id_card(f"  {number.lower()} ") == number


def test_x_check_character_is_really_exercised():
    assert ENDS_IN_X.endswith("X")


def test_birth_date_must_match_when_given():
    assert validate_id_card(HAILING_MAN, birth_date=date(1948, 5, 6)) == HAILING_MAN
    with pytest.raises(Invalid) as caught:
        validate_id_card(HAILING_MAN, birth_date=date(1948, 5, 7))
    assert caught.value.errors == [
        FieldError("id_card", "身份证号码中的出生日期 1948-05-06 与填写的出生日期 1948-05-07 不一致")
    ]


def wrong_check(number: str) -> str:
    return number[:17] + ("1" if number[17] != "1" else "2")


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (HAILING_MAN[:17], "身份证号码应为 18 位"),
        (HAILING_MAN + "1", "身份证号码应为 18 位"),
        (None, "身份证号码应为 18 位"),
        ("32120219480506X234", "身份证号码前 17 位应为数字，最后一位为数字或 X"),
        (wrong_check(HAILING_MAN), "身份证号码校验位不正确，请核对是否输错"),
        (wrong_check(ENDS_IN_X), "身份证号码校验位不正确，请核对是否输错"),
        (id_number("991202", date(1948, 5, 6), "123"), "身份证号码的地区码 991202 不是有效的省级行政区划代码"),
        (id_number("001202", date(1948, 5, 6), "123"), "身份证号码的地区码 001202 不是有效的省级行政区划代码"),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(number, reason):
    with pytest.raises(Invalid) as caught:
        validate_id_card(number)
    assert caught.value.errors == [FieldError("id_card", reason)]
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("birth_digits", "reason"),
    [
        ("19490230", "身份证号码中的出生日期 19490230 不是有效日期"),
        ("19481301", "身份证号码中的出生日期 19481301 不是有效日期"),
        ("18991231", "身份证号码中的出生日期 1899-12-31 不合理"),
    ],
)
def test_embedded_birth_date_must_be_a_plausible_day(birth_digits, reason):
    first17 = f"321202{birth_digits}123"
    with pytest.raises(Invalid) as caught:
        validate_id_card(first17 + check_char(first17))
    assert caught.value.errors == [FieldError("id_card", reason)]


def test_a_birth_date_after_today_is_refused_when_today_is_given():
    born_tomorrow = id_number("321202", date(2026, 5, 7), "123")
    assert validate_id_card(born_tomorrow) == born_tomorrow
    with pytest.raises(Invalid, match="不合理"):
        validate_id_card(born_tomorrow, today=date(2026, 5, 6))


def test_the_error_names_the_callers_field():
    with pytest.raises(Invalid) as caught:
        validate_id_card("123", field="contacts.0.id_card")
    assert caught.value.errors[0].field == "contacts.0.id_card"


def test_facts_read_from_the_number():
    man, woman = id_card_facts(HAILING_MAN), id_card_facts(JIANGYAN_WOMAN)
    assert (man.region_code, man.birth_date, man.gender) == ("321202", date(1948, 5, 6), Gender.MALE)
    assert (woman.region_code, woman.birth_date, woman.gender) == ("321204", date(1940, 2, 29), Gender.FEMALE)
    assert (Gender.MALE.zh_name, Gender.FEMALE.zh_name) == ("男", "女")
    with pytest.raises(Invalid):
        id_card_facts(wrong_check(HAILING_MAN))


def test_check_char_needs_17_digits():
    with pytest.raises(ValueError):
        id_card_check_char("1234")


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("321202194805061234", "3212**********1234"),
        (ENDS_IN_X.lower(), ENDS_IN_X[:4] + "*" * 10 + ENDS_IN_X[-4:]),
        ("12345678", "********"),
    ],
)
def test_mask_id_card(number, masked):
    assert mask_id_card(number) == masked


@pytest.mark.parametrize(
    ("phone", "normalised"),
    [
        ("13812345678", "13812345678"),
        ("199 1234 5678", "19912345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("8613812345678", "13812345678"),
    ],
)
def test_valid_mobile_numbers(phone, normalised):
    assert validate_phone(phone) == normalised


@pytest.mark.parametrize(
    "phone", ["12812345678", "1381234567", "138123456789", "0523-86612349", "1381234567a", None, ""]
)
def test_invalid_mobile_numbers(phone):
    with pytest.raises(Invalid) as caught:
        validate_phone(phone, field="contacts.0.phone")
    assert caught.value.errors == [FieldError("contacts.0.phone", "手机号码应为 11 位大陆手机号，以 13–19 开头")]


@pytest.mark.parametrize(("phone", "masked"), [("13812345678", "138****5678"), ("1234567", "*******")])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked
