"""Valid identifiers for test data, built with the standards' check algorithms written out here,
independently of the services' validators (services/assessment/rules/idcard.py,
services/providers/rules/credit_code.py), so that a test also checks those.

Resident ID numbers (GB 11643-1999): 6-digit region, birth date, 3-digit sequence whose last digit
is odd for a man and even for a woman, and a check character. 统一社会信用代码 (GB 32100-2015):
registration authority and kind (2), region (6), organisation code (9), and a check character."""
from __future__ import annotations

import random
from datetime import date

HAILING = "321202"  # 海陵区, the demo district
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, Z, S, V

_handed_out: set[str] = set()


def id_card_check_char(first17: str) -> str:
    # the weight of position i (1-based from the left) is 2^(18-i) mod 11; the check value is
    # (12 - sum mod 11) mod 11, written X when it is 10
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def id_card(first17: str) -> str:
    """The full ID number whose first 17 digits are `first17`."""
    return first17 + id_card_check_char(first17)


def new_id_card(region: str = HAILING, born: date = date(1948, 5, 6), *, male: bool = True) -> str:
    """A valid number for someone born on `born` in `region`, not handed out before in this process."""
    while True:
        sequence = f"{random.randrange(100):02d}{random.choice('13579' if male else '02468')}"
        number = id_card(f"{region}{born:%Y%m%d}{sequence}")
        if number not in _handed_out:
            _handed_out.add(number)
            return number


def credit_code_check_char(first17: str) -> str:
    # the weight of position i (0-based) is 3^i mod 31; the check value is 31 - sum mod 31, and 0
    # when that is 31
    total = sum(CREDIT_CODE_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def credit_code(first17: str) -> str:
    """The full code whose first 17 characters are `first17`."""
    return first17 + credit_code_check_char(first17)


def new_credit_code(district: str = HAILING, prefix: str = "91") -> str:
    """A random valid code registered in `district`; `prefix` 91 is a company, 52 a 民办非企业单位
    (many 养老机构 are)."""
    return credit_code(prefix + district + "".join(random.choice("0123456789") for _ in range(9)))
