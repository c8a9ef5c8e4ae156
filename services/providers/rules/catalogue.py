"""Pure rules of the catalogues: the city's units, voucher kinds and categories, what a provider's
item may cost, and the search index's keys for what a caregiver can be sent to do. No I/O;
`catalogue` and the nearest search apply them."""
from __future__ import annotations

from services.providers.rules.registry import MUTUAL_AID_KIND
from shared.errors import FieldError

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
