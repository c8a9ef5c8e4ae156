"""Chinese resident identity numbers (GB 11643-1999) and mainland mobile numbers: validation,
masking, and what the ID number itself says about a person. Pure: the caller passes "today".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.errors import invalid_field

# GB 11643-1999: weights 2^(17-i) mod 11 for the first 17 digits; the check character is
# indexed by (sum mod 11).
ID_CARD_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CARD_CHECK_CHARS = "10X98765432"

# First two digits of GB/T 2260 division codes: the 31 mainland provinces, Taiwan (71) and the
# residence-permit prefixes for Hong Kong, Macao and Taiwan residents (81, 82, 83).
PROVINCE_PREFIXES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)
EARLIEST_BIRTH_YEAR = 1900  # nobody registering for elderly care today was born earlier

_ID_CARD_SHAPE = re.compile(r"\d{17}[\dX]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE_SEPARATORS = re.compile(r"[\s-]")


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"

    @property
    def zh_name(self) -> str:
        return "男" if self is Gender.MALE else "女"


@dataclass(frozen=True)
class IdCardFacts:
    region_code: str  # six-digit division code at the time of issue
    birth_date: date
    gender: Gender


def id_card_check_char(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    if not re.fullmatch(r"\d{17}", first17):
        raise ValueError("first17 must be 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_CARD_WEIGHTS))
    return ID_CARD_CHECK_CHARS[total % 11]


def _embedded_birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def validate_id_card(
    number: object,
    *,
    birth_date: date | None = None,
    today: date | None = None,
    field: str = "id_card",
) -> str:
    """The normalised number (trimmed, upper-case X), or `Invalid` naming `field` with the first
    fault found, checked in the order a clerk would fix them."""
    text = number.strip().upper() if isinstance(number, str) else ""
    if len(text) != 18:
        raise invalid_field(field, "身份证号码应为 18 位")
    if not _ID_CARD_SHAPE.fullmatch(text):
        raise invalid_field(field, "身份证号码前 17 位应为数字，最后一位为数字或 X")
    if text[:2] not in PROVINCE_PREFIXES:
        raise invalid_field(field, f"身份证号码的地区码 {text[:6]} 不是有效的省级行政区划代码")
    embedded = _embedded_birth_date(text)
    if embedded is None:
        raise invalid_field(field, f"身份证号码中的出生日期 {text[6:14]} 不是有效日期")
    if embedded.year < EARLIEST_BIRTH_YEAR or (today is not None and embedded > today):
        raise invalid_field(field, f"身份证号码中的出生日期 {embedded.isoformat()} 不合理")
    if text[17] != id_card_check_char(text[:17]):
        raise invalid_field(field, "身份证号码校验位不正确，请核对是否输错")
    if birth_date is not None and birth_date != embedded:
        raise invalid_field(
            field,
            f"身份证号码中的出生日期 {embedded.isoformat()} 与填写的出生日期 {birth_date.isoformat()} 不一致",
        )
    return text


def id_card_facts(number: str) -> IdCardFacts:
    """Region, birth date and gender as the (validated) number encodes them: the 17th digit is
    odd for men and even for women."""
    text = validate_id_card(number)
    return IdCardFacts(
        region_code=text[:6],
        birth_date=_embedded_birth_date(text),  # type: ignore[arg-type]
        gender=Gender.MALE if int(text[16]) % 2 else Gender.FEMALE,
    )


def _mask(value: str, keep_head: int, keep_tail: int) -> str:
    if len(value) <= keep_head + keep_tail:
        return "*" * len(value)  # too short to show anything without showing all of it
    return value[:keep_head] + "*" * (len(value) - keep_head - keep_tail) + value[-keep_tail:]


def mask_id_card(number: str) -> str:
    """"321202194805061234" → "3212**********1234": district kept for the officer, person hidden."""
    return _mask(number.strip().upper(), 4, 4)


def validate_phone(phone: object, *, field: str = "phone") -> str:
    """A mainland mobile number as 11 digits; spaces, hyphens and a +86 prefix are accepted."""
    text = _PHONE_SEPARATORS.sub("", phone) if isinstance(phone, str) else ""
    if text.startswith("+86"):
        text = text[3:]
    elif len(text) == 13 and text.startswith("86"):
        text = text[2:]
    if not _MOBILE.fullmatch(text):
        raise invalid_field(field, "手机号码应为 11 位大陆手机号，以 13–19 开头")
    return text


def mask_phone(phone: str) -> str:
    """"13812345678" → "138****5678"."""
    return _mask(phone.strip(), 3, 4)
