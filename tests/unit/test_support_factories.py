"""The test data factories (tests/support/factories.py) make numbers the services accept."""
from __future__ import annotations

from datetime import date

import pytest

from services.assessment.rules.idcard import Gender, id_card_facts, validate_id_card
from services.providers.rules.credit_code import validate_credit_code
from tests.support.factories import credit_code_check_char, new_credit_code, new_id_card


@pytest.mark.parametrize(("first17", "check"), [("91350100M000100Y4", "3"), ("52321202MJ5512345", "Y"),
                                                 ("12321200466000123", "U")])
def test_credit_code_check_character_agrees_with_published_codes(first17, check):
    assert credit_code_check_char(first17) == check


def test_new_codes_and_numbers_are_valid_and_fresh():
    codes = {new_credit_code(prefix=prefix) for prefix in ("91", "52") for _ in range(50)}
    assert all(validate_credit_code(code) == code for code in codes)
    numbers = [new_id_card("321204", date(1940, 2, 29), male=i % 2 == 0) for i in range(50)]
    assert len(set(numbers)) == 50
    assert all(validate_id_card(n, birth_date=date(1940, 2, 29)) == n for n in numbers)
    assert [id_card_facts(n).gender for n in numbers[:2]] == [Gender.MALE, Gender.FEMALE]
