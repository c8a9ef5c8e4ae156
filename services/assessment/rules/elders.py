"""Rules of an elder's record: the city's districts, whole-record validation, the names of its
values. Pure: callers pass "today" and the facts. Who may read a record and who sees the ID card
and phones unmasked is `access.py`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.assessment.rules.hardship import EconomicStatus, LivingSituation
from services.assessment.rules.idcard import id_card_facts, validate_id_card, validate_phone
from shared.city import DISTRICTS
from shared.errors import DomainError, FieldError, Invalid

ELDER_STATUSES: dict[str, str] = {"active": "在册", "deceased": "已故", "moved_away": "已迁出"}
MIN_AGE = 60  # GB/T 42195 assesses people aged 60 and over
# Mainland China's extent; a point outside it is almost always latitude and longitude swapped.
CHINA_LAT, CHINA_LON = (3.0, 54.0), (73.0, 136.0)

# The personal fields, by the names errors and the access log use for them.
ID_CARD, PHONE, CONTACT_PHONES = "id_card", "phone", "emergency_contacts.phone"
ALL_PII = (ID_CARD, PHONE, CONTACT_PHONES)


@dataclass(frozen=True)
class RecordFacts:
    """The parts of a record the cross-field rules look at (a registration, or a record with an
    update applied)."""

    name: str
    gender: str
    birth_date: date
    id_card: str
    phone: str | None
    district_code: str
    lat: float | None
    lon: float | None
    status: str
    status_date: date | None
    contact_phones: tuple[str, ...] = ()


def age_on(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def _reason(error: DomainError) -> FieldError:
    return error.errors[0] if error.errors else FieldError("body", error.detail)


def record_errors(facts: RecordFacts, *, today: date) -> tuple[dict[str, str], list[FieldError]]:
    """The normalised ID card and phones, and every field problem of the record at once (a clerk
    fixes the whole form in one pass, not one field per round trip)."""
    normal: dict[str, str] = {}
    errors: list[FieldError] = []
    try:
        normal[ID_CARD] = validate_id_card(facts.id_card, birth_date=facts.birth_date, today=today)
    except Invalid as exc:
        errors.append(_reason(exc))
    else:
        encoded = id_card_facts(normal[ID_CARD]).gender
        if facts.gender != encoded.value:
            errors.append(FieldError("gender", f"身份证号码显示性别为{encoded.zh_name}，与填写的性别不一致"))
    if facts.birth_date > today:
        errors.append(FieldError("birth_date", "出生日期不能晚于今天"))
    elif age_on(facts.birth_date, today) < MIN_AGE:
        errors.append(FieldError("birth_date", f"老年人能力评估适用于 {MIN_AGE} 周岁及以上的老人"))
    if facts.phone:
        try:
            normal[PHONE] = validate_phone(facts.phone)
        except Invalid as exc:
            errors.append(_reason(exc))
    for index, phone in enumerate(facts.contact_phones):
        try:
            normal[f"{CONTACT_PHONES}.{index}"] = validate_phone(phone, field=f"emergency_contacts.{index}.phone")
        except Invalid as exc:
            errors.append(_reason(exc))
    if facts.district_code not in DISTRICTS:  # an elder outside the city's districts is not this city's
        choices = "、".join(f"{code}（{name}）" for code, name in DISTRICTS.items())
        errors.append(FieldError("district_code", f"区县代码应为泰州市的 {choices} 之一"))
    errors += _location_errors(facts.lat, facts.lon)
    if facts.status != "active" and facts.status_date is None:
        errors.append(FieldError("status_date", f"老人状态为{ELDER_STATUSES.get(facts.status, facts.status)}时请填写日期"))
    if facts.status_date is not None and facts.status_date > today:
        errors.append(FieldError("status_date", "状态日期不能晚于今天"))
    return normal, errors


def _location_errors(lat: float | None, lon: float | None) -> list[FieldError]:
    if (lat is None) != (lon is None):
        return [FieldError("lat" if lat is None else "lon", "经度和纬度需同时填写")]
    if lat is None:
        return []
    if not (CHINA_LAT[0] <= lat <= CHINA_LAT[1] and CHINA_LON[0] <= lon <= CHINA_LON[1]):
        return [FieldError("lat", "位置不在中国境内，请确认使用 WGS-84 经纬度且纬度、经度没有填反")]
    return []


def raise_if_invalid(errors: list[FieldError]) -> None:
    if errors:
        detail = errors[0].reason if len(errors) == 1 else f"老人信息有 {len(errors)} 处不符合要求，请逐项修改"
        raise Invalid(detail, errors=errors)


def living_name(value: str) -> str:
    return LivingSituation(value).zh_name


def economic_name(value: str) -> str:
    return EconomicStatus(value).zh_name
