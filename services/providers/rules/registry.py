"""Pure rules of the provider registry: kinds, the life cycle, qualification documents, catalogue
prices, working hours and service-area coverage. No I/O; `service` and friends apply them.

Where the issue was silent, the choices are written next to the rule they shape.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from services.providers.matching import chord2_of_metres, unit_vector
from shared.errors import Conflict, FieldError

SHANGHAI = ZoneInfo("Asia/Shanghai")

KINDS = {
    "care_institution": "养老机构",
    "home_care_centre": "居家养老服务中心",
    "meal_point": "助餐点",
    "bathing_point": "助浴点",
    "mutual_aid_group": "邻里互助点",
    "home_service_company": "家政服务企业",
}
MUTUAL_AID_KIND = "mutual_aid_group"

DISTRICTS = {"321202": "海陵区", "321203": "高港区", "321204": "姜堰区", "321281": "兴化市",
             "321282": "靖江市", "321283": "泰兴市"}

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


# ---- catalogue ----------------------------------------------------------------------------------
UNITS = {"per_visit": "次", "per_hour": "小时", "per_meal": "餐", "per_month": "月"}
VOUCHER_KINDS = {"community": "社区照护券", "mutual_aid": "邻里互助券", "institutional": "机构托养券"}
DISPATCH_MODES = ("sequential", "grab")
CATEGORIES = {"daily_living": "生活照料", "basic_nursing": "基础照护", "health": "健康管理", "visiting": "探访关爱",
              "companionship": "精神慰藉", "errands": "委托代办", "home_adaptation": "适老化改造",
              "residential": "托养服务"}


def catalogue_item_problems(*, provider_kind: str, price_fen: int, voucher_kinds: list[str],
                            guide_price_fen: int, allowed_kinds: list[str], name: str) -> list[FieldError]:
    """Why a provider's catalogue item cannot be saved (empty: it can).

    Orders are priced at the city's guide price, and a voucher pays a share of it; a provider that
    accepts vouchers for an item may therefore not list it above the guide price (the elder would
    be charged a top-up the bureau never agreed to). Without vouchers the price is the provider's
    own business."""
    errors = []
    unknown = [k for k in voucher_kinds if k not in allowed_kinds]
    if unknown:
        allowed = "、".join(VOUCHER_KINDS[k] for k in allowed_kinds) or "不可用券"
        errors.append(FieldError("voucher_kinds", f"“{name}”只能使用：{allowed}"))
    if voucher_kinds and price_fen > guide_price_fen:
        errors.append(FieldError("price_fen", f"可用券的服务价格不能高于指导价 {guide_price_fen / 100:.2f} 元"))
    if provider_kind == MUTUAL_AID_KIND and "mutual_aid" not in voucher_kinds:
        errors.append(FieldError("voucher_kinds", "邻里互助点只提供可用邻里互助券的服务"))
    return errors


def index_keys(service_codes: set[str], offered: dict[str, list[str]], *, volunteer: bool) -> frozenset[str]:
    """The search-index "skills" of one caregiver: `code` for every item they can do that their
    provider actively offers, and `code@kind` for each voucher kind the item accepts, so that one
    index lookup applies skill, catalogue and voucher kind together. A neighbour volunteer serves
    only 邻里互助券 items: only items accepting mutual_aid, and only under that kind."""
    keys: set[str] = set()
    for code in service_codes & offered.keys():
        kinds = offered[code]
        if volunteer:
            if "mutual_aid" in kinds:
                keys |= {code, f"{code}@mutual_aid"}
        else:
            keys |= {code, *(f"{code}@{kind}" for kind in kinds)}
    return frozenset(keys)


def index_key(service_code: str, voucher_kind: str | None) -> str:
    return f"{service_code}@{voucher_kind}" if voucher_kind else service_code


# ---- caregivers ---------------------------------------------------------------------------------
GENDERS = {"female": "女", "male": "男"}
CAREGIVER_STATUSES = {"active": "在岗", "on_leave": "休假", "inactive": "离职"}
# 养老护理员 national occupational skill levels (国家职业技能标准 2019): 五级 is the entry level.
CERTIFICATE_LEVELS = {"level_5": "五级/初级工", "level_4": "四级/中级工", "level_3": "三级/高级工",
                      "level_2": "二级/技师", "level_1": "一级/高级技师"}


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def works_at(working_hours: list[dict], when: datetime) -> bool:
    """Whether a caregiver's weekly hours cover an instant (read in Asia/Shanghai). Empty hours
    mean "not restricted". Each entry: {"days": [1..7, Monday = 1], "start": "08:00", "end": "17:30"}."""
    if not working_hours:
        return True
    local = when.astimezone(SHANGHAI)
    minute = local.hour * 60 + local.minute
    return any(local.isoweekday() in entry["days"] and _minutes(entry["start"]) <= minute < _minutes(entry["end"])
               for entry in working_hours)


def valid_hhmm(text: str) -> bool:
    try:
        time.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 5


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


def local_day(instant: datetime) -> date:
    return instant.astimezone(SHANGHAI).date()
