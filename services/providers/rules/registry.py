"""Pure rules of the provider registry: kinds, the life cycle, qualification documents and the
service area. No I/O; `registry` applies them (prices: `rules/catalogue.py`, working hours:
`rules/staff.py`).

Where the issue was silent, the choices are written next to the rule they shape.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.providers.nearest.rules.geodesy import chord2_of_metres, unit_vector
from shared.errors import Conflict, FieldError

KINDS = {
    "care_institution": "养老机构",
    "home_care_centre": "居家养老服务中心",
    "meal_point": "助餐点",
    "bathing_point": "助浴点",
    "mutual_aid_group": "邻里互助点",
    "home_service_company": "家政服务企业",
}
MUTUAL_AID_KIND = "mutual_aid_group"

# ---- life cycle ---------------------------------------------------------------------------------
# Status values: applied, approved, suspended, rejected. "Reinstated" is an action, not a state: a
# reinstated provider is approved again, so every reader needs only one test (status == approved).
STATUS_NAMES = {"applied": "待审核", "approved": "已通过", "suspended": "已暂停", "rejected": "已驳回"}
ACTIONS = {  # action → (allowed from, to, zh name)
    "approve": ("applied", "approved", "审核通过"),
    "reject": ("applied", "rejected", "驳回申请"),
    "suspend": ("approved", "suspended", "暂停接单"),
    "reinstate": ("suspended", "approved", "恢复接单"),
}


def next_status(current: str, action: str) -> str:
    """The status after `action`, or 409 naming the current state and what would be allowed."""
    allowed_from, to, name = ACTIONS[action]
    if current != allowed_from:
        raise Conflict(f"服务商当前为“{STATUS_NAMES.get(current, current)}”，不能{name}",
                       current_state=current, action=action)
    return to


# ---- qualification documents --------------------------------------------------------------------
DOCUMENT_KINDS = {
    "licence": "营业执照或登记证书",
    "institution_filing": "养老机构备案回执",
    "food_permit": "食品经营许可证",
    "insurance": "责任保险或志愿者意外险保单",
    "other": "其他证明材料",
}
# Which documents each kind must hold valid to be approved and to receive orders. A city may
# demand more; these are the ones national practice names for each kind of service.
REQUIRED_DOCUMENTS = {
    "care_institution": ("licence", "institution_filing", "insurance"),
    "home_care_centre": ("licence", "insurance"),
    "meal_point": ("licence", "food_permit"),
    "bathing_point": ("licence", "insurance"),
    "mutual_aid_group": ("insurance",),  # volunteers: accident insurance; the group itself is informal
    "home_service_company": ("licence", "insurance"),
}


@dataclass(frozen=True, slots=True)
class DocumentState:
    valid_until: date | None  # the day the first required document runs out; None: one is missing
    missing: tuple[str, ...]  # required kinds never uploaded
    expired: tuple[str, ...]  # required kinds whose latest document has run out by `today`

    @property
    def ok(self) -> bool:
        return not self.missing and not self.expired


def document_state(kind: str, latest_expiry: dict[str, date], today: date) -> DocumentState:
    """`latest_expiry`: per document kind, the latest expiry date uploaded (a renewal is a new
    upload; the later one counts). A document is valid through its expiry date."""
    required = REQUIRED_DOCUMENTS.get(kind, ())
    missing = tuple(k for k in required if k not in latest_expiry)
    expired = tuple(k for k in required if k in latest_expiry and latest_expiry[k] < today)
    dates = [latest_expiry[k] for k in required if k in latest_expiry]
    valid_until = None if missing else (min(dates) if dates else date.max)
    return DocumentState(valid_until, missing, expired)


def documents_problem(state: DocumentState) -> str | None:
    names = [DOCUMENT_KINDS[k] for k in (*state.missing, *state.expired)]
    if not names:
        return None
    return "、".join(names)


# ---- place --------------------------------------------------------------------------------------
# China's bounding box (Hainan's south tip to Mohe, Pamirs to Fuyuan): a coarse guard against a
# swapped latitude and longitude or a point typed into the sea, not a border check.
CHINA_LAT, CHINA_LON = (18.0, 53.6), (73.4, 135.1)


def location_problems(lat: float | None, lon: float | None, *, prefix: str = "") -> list[FieldError]:
    if lat is None or lon is None:
        return [FieldError(f"{prefix}lat", "请填写经纬度，或填写能识别的地址")]
    if not (CHINA_LAT[0] <= lat <= CHINA_LAT[1] and CHINA_LON[0] <= lon <= CHINA_LON[1]):
        return [FieldError(f"{prefix}lat", "位置不在中国境内，请检查经纬度是否填反")]
    return []


def within_m(lat1: float, lon1: float, lat2: float, lon2: float, radius_m: float) -> bool:
    """Great-circle distance ≤ radius, on the same sphere and arithmetic as the search index."""
    a, b = unit_vector(lat1, lon1), unit_vector(lat2, lon2)
    chord2 = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2
    return chord2 <= chord2_of_metres(radius_m)


def area_covers(*, provider_lat: float, provider_lon: float, radius_m: float | None, streets: frozenset[str],
                lat: float, lon: float, street: str | None) -> bool:
    """A provider's own service area: a radius around its address and/or a list of streets. With
    neither set, the provider has not narrowed anything and each caregiver's own radius decides.
    A street matches only when the caller names the elder's street (the search has no offline
    point-in-street data: street boundaries are not published)."""
    if radius_m is None and not streets:
        return True
    if radius_m is not None and within_m(provider_lat, provider_lon, lat, lon, radius_m):
        return True
    return bool(street) and normalize_street(street) in streets


def normalize_street(name: str) -> str:
    return "".join(name.split())
