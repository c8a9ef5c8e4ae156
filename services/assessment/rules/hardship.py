"""Special hardship (特殊困难) and reassessment timing, derived from an elder's record. Pure.

Other services never compute these themselves: they read the flag from the elder events, so this
module is the one place the rule lives. The string values of the enums are the event contract.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from enum import StrEnum

from shared.city import local_day

DEFAULT_HARDSHIP_MIN_GRADE = 2  # GB/T 42195 grade 2 = 能力中度受损
DEFAULT_REASSESSMENT_MONTHS = 6  # policy default; callers pass the city's setting


class LivingSituation(StrEnum):
    ALONE = "alone"
    EMPTY_NEST = "empty_nest"
    WITH_FAMILY = "with_family"
    INSTITUTION = "institution"

    @property
    def zh_name(self) -> str:
        return {"alone": "独居", "empty_nest": "空巢", "with_family": "与家人同住", "institution": "入住养老机构"}[
            self.value
        ]


class EconomicStatus(StrEnum):
    TEKUN = "tekun"
    DIBAO = "dibao"
    DIBAO_EDGE = "dibao_edge"
    EXPENSE_HARDSHIP = "expense_hardship"
    NONE = "none"

    @property
    def zh_name(self) -> str:
        return {
            "tekun": "特困",
            "dibao": "低保",
            "dibao_edge": "低保边缘",
            "expense_hardship": "支出型困难",
            "none": "无",
        }[self.value]


LIVING_WITHOUT_FAMILY = frozenset({LivingSituation.ALONE, LivingSituation.EMPTY_NEST})
ECONOMIC_HARDSHIP = frozenset(set(EconomicStatus) - {EconomicStatus.NONE})


def special_hardship_reasons(
    *,
    living_situation: str,
    economic_status: str,
    grade: int | None,
    min_grade: int = DEFAULT_HARDSHIP_MIN_GRADE,
) -> list[str]:
    """Why an elder counts as special hardship, in zh-CN; empty when they do not.

    `grade` is the latest finalised capability grade, None before the first assessment.
    Unknown enum strings raise ValueError: they mean a caller bug, not a person's situation.
    """
    living, economic = LivingSituation(living_situation), EconomicStatus(economic_status)
    reasons = []
    if living in LIVING_WITHOUT_FAMILY and economic in ECONOMIC_HARDSHIP:
        reasons.append(f"{living.zh_name}且经济困难（{economic.zh_name}）")
    if grade is not None and grade >= min_grade:
        reasons.append(f"能力等级为 {grade} 级（{min_grade} 级及以上）")
    return reasons


def is_special_hardship(
    *,
    living_situation: str,
    economic_status: str,
    grade: int | None,
    min_grade: int = DEFAULT_HARDSHIP_MIN_GRADE,
) -> bool:
    return bool(
        special_hardship_reasons(
            living_situation=living_situation, economic_status=economic_status, grade=grade, min_grade=min_grade
        )
    )


def add_months(day: date, months: int) -> date:
    """Same day `months` later, clamped to the month's end (08-31 + 6 months → end of February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def reassessment_due(last_finalised_at: datetime, *, months: int = DEFAULT_REASSESSMENT_MONTHS) -> date:
    """The city's calendar day a reassessment falls due after the last finalised assessment."""
    if last_finalised_at.tzinfo is None or last_finalised_at.utcoffset() is None:
        # A naive time is ambiguous between UTC and local; near midnight that moves the due day.
        raise ValueError("last_finalised_at must be timezone-aware")
    if months < 1:
        raise ValueError("months must be at least 1")
    return add_months(local_day(last_finalised_at), months)


def is_reassessment_due(
    last_finalised_at: datetime, *, today: date, months: int = DEFAULT_REASSESSMENT_MONTHS
) -> bool:
    """True from the due day on (due and overdue alike); `today` is the city's date."""
    return today >= reassessment_due(last_finalised_at, months=months)


def latest_finalisation_day_due(today: date, *, months: int = DEFAULT_REASSESSMENT_MONTHS) -> date:
    """The latest city day of finalisation whose reassessment is due by `today`, so a due list
    is one range query (`finalised before the day after this`). `add_months` clamps month ends,
    so the answer may lie a few days after `today` minus `months` (08-31 is due on 02-28)."""
    if months < 1:
        raise ValueError("months must be at least 1")
    day = add_months(today, -months)
    while add_months(day + timedelta(days=1), months) <= today:
        day += timedelta(days=1)
    return day
