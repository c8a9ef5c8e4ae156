"""Rules of an elder's record: the city's districts, whole-record validation, who may read a
record and who sees the ID card and phones unmasked. Pure: callers pass "today" and the facts.

Privacy rule (DESIGN.md "Personal data"), decided here once:

| caller                                   | reads                 | ID card  | phones (elder's, contacts') |
|------------------------------------------|-----------------------|----------|-----------------------------|
| admin, city_officer                      | every elder           | full     | full                        |
| officer                                  | elders of their district | full  | full                        |
| assessor                                 | elders of their district | full only if assigned to the elder | same as ID card |
| elder, family                            | principal.elder_ids   | masked   | full (their own household's numbers) |
| service (another Youfu service)          | every elder           | masked   | masked                      |
| provider_admin, caregiver                | nothing here (403)    |          |                             |

Unmasked values appear only in single-record reads (`GET /elders/{id}`); lists and the answers
to writes are always masked (write answers are also kept in the idempotency table, which must
not hold plain personal data). Every answer that carries an unmasked value is written to the
access log, the elder's own household included.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.assessment.hardship import EconomicStatus, LivingSituation
from services.assessment.idcard import id_card_facts, validate_id_card, validate_phone
from shared.auth import Principal
from shared.errors import DomainError, FieldError, Invalid

# The county-level units of Taizhou (DOMAIN.md); an elder outside them is not this city's.
TAIZHOU_DISTRICTS: dict[str, str] = {
    "321202": "海陵区",
    "321203": "高港区",
    "321204": "姜堰区",
    "321281": "兴化市",
    "321282": "靖江市",
    "321283": "泰兴市",
}
ELDER_STATUSES: dict[str, str] = {"active": "在册", "deceased": "已故", "moved_away": "已迁出"}
MIN_AGE = 60  # GB/T 42195 assesses people aged 60 and over
# Mainland China's extent; a point outside it is almost always latitude and longitude swapped.
CHINA_LAT, CHINA_LON = (3.0, 54.0), (73.0, 136.0)

ID_CARD, PHONE, CONTACT_PHONES = "id_card", "phone", "emergency_contacts.phone"
ALL_PII = (ID_CARD, PHONE, CONTACT_PHONES)
STAFF_ALL = frozenset({"admin", "city_officer"})
DISTRICT_STAFF = frozenset({"officer", "assessor"})
HOUSEHOLD = frozenset({"elder", "family"})
READERS = STAFF_ALL | DISTRICT_STAFF | HOUSEHOLD | {"service"}
REGISTRARS = STAFF_ALL | DISTRICT_STAFF


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
    if facts.district_code not in TAIZHOU_DISTRICTS:
        choices = "、".join(f"{code}（{name}）" for code, name in TAIZHOU_DISTRICTS.items())
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


def can_read(principal: Principal, *, elder_id: str, district_code: str) -> bool:
    """Ownership. A caller who cannot read an elder is told the elder does not exist."""
    if principal.role in STAFF_ALL or principal.role == "service":
        return True
    if principal.role in DISTRICT_STAFF:
        return principal.district is not None and principal.district == district_code
    if principal.role in HOUSEHOLD:
        return elder_id in principal.elder_ids
    return False


def can_register_in(principal: Principal, district_code: str) -> bool:
    if principal.role in STAFF_ALL:
        return True
    return principal.role in DISTRICT_STAFF and principal.district == district_code


def unmasked_fields(principal: Principal, *, district_code: str, assigned: bool) -> tuple[str, ...]:
    """Which personal fields this caller sees in full on a single-record read (see the table)."""
    role = principal.role
    if role in STAFF_ALL or (role == "officer" and principal.district == district_code):
        return ALL_PII
    if role == "assessor" and principal.district == district_code and assigned:
        return ALL_PII
    if role in HOUSEHOLD:
        return (PHONE, CONTACT_PHONES)
    return ()


def living_name(value: str) -> str:
    return LivingSituation(value).zh_name


def economic_name(value: str) -> str:
    return EconomicStatus(value).zh_name
