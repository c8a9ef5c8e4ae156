"""统一社会信用代码 (GB 32100-2015): the check character and the zh-CN errors."""
from __future__ import annotations

import pytest

from services.providers.rules.credit_code import (
    ALPHABET,
    WEIGHTS,
    credit_code_check_char,
    describe_credit_code,
    is_valid_credit_code,
    normalize_credit_code,
    validate_credit_code,
)
from shared.errors import Invalid

# The worked example printed in many guides to the standard, and codes built for Taizhou.
PUBLISHED_EXAMPLE = "91350100M000100Y43"
TAIZHOU_COMPANY = "91321202MA1W8XKJ03"  # 企业, registered in 海陵区
TAIZHOU_NONPROFIT = "52321202MJ5512345Y"  # 民办非企业单位 (many 养老机构 are)
TAIZHOU_PUBLIC = "12321200466000123U"  # 事业单位


def test_weights_are_powers_of_three_mod_31():
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(ALPHABET) == 31 and not set("IOZSV") & set(ALPHABET)


@pytest.mark.parametrize(
    ("first17", "check"),
    [
        ("91350100M000100Y4", "3"),
        ("91321202MA1W8XKJ0", "3"),
        ("52321202MJ5512345", "Y"),
        ("12321200466000123", "U"),
    ],
)
def test_check_character(first17, check):
    assert credit_code_check_char(first17) == check


@pytest.mark.parametrize("code", [PUBLISHED_EXAMPLE, TAIZHOU_COMPANY, TAIZHOU_NONPROFIT, TAIZHOU_PUBLIC])
def test_valid_codes(code):
    assert validate_credit_code(code) == code
    assert is_valid_credit_code(code)


def test_remainder_zero_gives_check_character_zero():
    # Find a body whose weighted sum is a multiple of 31: its check character must be "0", not "31".
    for last in ALPHABET:
        body = "9132120200000000" + last
        if sum(ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS)) % 31 == 0:
            assert credit_code_check_char(body) == "0"
            assert is_valid_credit_code(body + "0")
            return
    pytest.fail("no body with remainder 0 in this family")


def test_every_single_wrong_character_is_caught():
    for position in range(18):
        for replacement in ALPHABET:
            if replacement == TAIZHOU_COMPANY[position]:
                continue
            typo = TAIZHOU_COMPANY[:position] + replacement + TAIZHOU_COMPANY[position + 1 :]
            if position in range(2, 8) and not replacement.isdigit():
                continue  # refused earlier, for the division code
            assert not is_valid_credit_code(typo), typo


def test_every_swap_of_neighbours_is_caught():
    for position in range(17):
        a, b = TAIZHOU_COMPANY[position], TAIZHOU_COMPANY[position + 1]
        if a != b:
            swapped = TAIZHOU_COMPANY[:position] + b + a + TAIZHOU_COMPANY[position + 2 :]
            assert not is_valid_credit_code(swapped), swapped


@pytest.mark.parametrize(
    "typed",
    [
        "91321202ma1w8xkj03",
        " 9132 1202 MA1W 8XKJ 03 ",
        "91321202-MA1W8XKJ0-3",
        "９１３２１２０２ＭＡ１Ｗ８ＸＫＪ０３",  # full-width, as a phone keyboard may type it
    ],
)
def test_typing_variants_are_normalised(typed):
    assert normalize_credit_code(typed) == TAIZHOU_COMPANY
    assert validate_credit_code(typed) == TAIZHOU_COMPANY


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "请填写统一社会信用代码"),
        ("91321202MA1W8XKJ0", "应为 18 位，现为 17 位"),
        ("91321202MA1W8XKJ033", "应为 18 位，现为 19 位"),
        ("91321202MA1W8XKIO3", "第 16 位“I”不是有效字符（代码中不使用 I、O、Z、S、V）"),
        ("91321202MA1W8XK#03", "第 16 位“#”不是有效字符"),
        ("9132A202MA1W8XKJ03", "第 3 至 8 位应为 6 位数字的行政区划代码"),
        ("91321202MA1W8XKJ04", "校验位（第 18 位）与前 17 位不符，请逐位核对营业执照或登记证书"),
    ],
)
def test_errors_are_422_with_a_chinese_reason_on_the_field(code, reason):
    with pytest.raises(Invalid) as raised:
        validate_credit_code(code, field="body.credit_code")
    error = raised.value
    assert error.status == 422
    assert error.errors[0].field == "body.credit_code"
    assert error.errors[0].reason == reason
    assert error.detail == f"统一社会信用代码不正确：{reason}"
    assert not is_valid_credit_code(code)


def test_none_is_treated_as_empty():
    assert not is_valid_credit_code(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "authority", "kind", "division"),
    [
        (TAIZHOU_COMPANY, "市场监管（工商）", "企业", "321202"),
        (TAIZHOU_NONPROFIT, "民政", "民办非企业单位（社会服务机构）", "321202"),
        (TAIZHOU_PUBLIC, "机构编制", "事业单位", "321200"),
    ],
)
def test_describe(code, authority, kind, division):
    parts = describe_credit_code(code)
    assert (parts.authority, parts.kind, parts.division_code) == (authority, kind, division)
    assert parts.organisation_code == code[8:17]


def test_unknown_authority_is_described_not_refused():
    body = "B1321202MA1W8XKJ0"
    code = body + credit_code_check_char(body)
    parts = describe_credit_code(code)
    assert (parts.authority, parts.kind) == ("未知", "未知")
