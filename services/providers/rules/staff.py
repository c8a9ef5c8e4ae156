"""Pure rules about caregivers: genders, statuses, certificate levels and working hours. No I/O;
`staff` and the nearest search apply them."""
from __future__ import annotations

from datetime import datetime, time

from shared.city import CITY_TZ

GENDERS = {"female": "女", "male": "男"}
CAREGIVER_STATUSES = {"active": "在岗", "on_leave": "休假", "inactive": "离职"}
# 养老护理员 national occupational skill levels (国家职业技能标准 2019): 五级 is the entry level.
CERTIFICATE_LEVELS = {"level_5": "五级/初级工", "level_4": "四级/中级工", "level_3": "三级/高级工",
                      "level_2": "二级/技师", "level_1": "一级/高级技师"}


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def works_at(working_hours: list[dict], when: datetime) -> bool:
    """Whether a caregiver's weekly hours cover an instant (read in the city's time zone). Empty hours
    mean "not restricted". Each entry: {"days": [1..7, Monday = 1], "start": "08:00", "end": "17:30"}."""
    if not working_hours:
        return True
    local = when.astimezone(CITY_TZ)
    minute = local.hour * 60 + local.minute
    return any(local.isoweekday() in entry["days"] and _minutes(entry["start"]) <= minute < _minutes(entry["end"])
               for entry in working_hours)


def valid_hhmm(text: str) -> bool:
    try:
        time.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 5
