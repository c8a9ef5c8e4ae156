"""Answer builders of the providers service: a stored row → what people read (zh names beside the
codes, ratings as averages, document state)."""
from __future__ import annotations

from datetime import date

from services.providers.models import (
    BedRateRow,
    BedRow,
    CaregiverRow,
    CatalogueItemRow,
    DocumentRow,
    ProviderRow,
    ServiceItemRow,
)
from services.providers.rules.beds import CARE_LEVELS, BedPolicy, RankedPlace
from services.providers.rules.beds import STATUS_NAMES as BED_STATUS_NAMES
from services.providers.rules.catalogue import CATEGORIES, UNITS
from services.providers.rules.registry import (
    DOCUMENT_KINDS,
    KINDS,
    MUTUAL_AID_KIND,
    REQUIRED_DOCUMENTS,
    STATUS_NAMES,
    DocumentState,
    documents_problem,
)
from services.providers.rules.staff import CAREGIVER_STATUSES, CERTIFICATE_LEVELS
from shared.city import district_name


def rating_view(total: int, count: int) -> float | None:
    return round(total / count, 2) if count else None


def provider_public(p: ProviderRow) -> dict:
    return {
        "id": str(p.id), "name": p.legal_name, "kind": p.kind, "kind_name": KINDS.get(p.kind, p.kind),
        "district_code": p.district_code, "district_name": district_name(p.district_code),
        "street": p.street, "status": p.status, "status_name": STATUS_NAMES.get(p.status, p.status),
        "rating": rating_view(p.rating_sum, p.rating_count), "rating_count": p.rating_count,
        "star_rating": p.star_rating,
    }


def provider_detail(p: ProviderRow, docs: DocumentState) -> dict:
    return provider_public(p) | {
        "credit_code": p.credit_code, "address": p.address, "lat": p.lat, "lon": p.lon,
        "contact_name": p.contact_name, "contact_phone": p.contact_phone,
        "status_reason": p.status_reason, "status_changed_at": p.status_changed_at,
        "service_area": {"radius_m": p.area_radius_m, "streets": list(p.area_streets or [])},
        "documents": documents_view(docs),
        "applied_by": p.applied_by, "created_at": p.created_at, "updated_at": p.updated_at,
    }


def documents_view(docs: DocumentState) -> dict:
    return {"ok": docs.ok, "valid_until": None if docs.valid_until in (None, date.max) else docs.valid_until,
            "missing": list(docs.missing), "expired": list(docs.expired),
            "problem": documents_problem(docs)}


def document_view(doc: DocumentRow, provider: ProviderRow, today: date) -> dict:
    return {"id": str(doc.id), "provider_id": str(provider.id), "provider_name": provider.legal_name,
            "district_code": provider.district_code, "provider_status": provider.status,
            "kind": doc.kind, "kind_name": DOCUMENT_KINDS.get(doc.kind, doc.kind), "number": doc.number,
            "issued_on": doc.issued_on, "expires_on": doc.expires_on, "days_left": (doc.expires_on - today).days,
            "expired": doc.expires_on < today,
            "required": doc.kind in REQUIRED_DOCUMENTS.get(provider.kind, ()),
            "file_url": doc.file_url, "uploaded_by": doc.uploaded_by, "uploaded_at": doc.uploaded_at}


def service_item_view(row: ServiceItemRow) -> dict:
    return {"code": row.code, "name": row.name, "category": row.category,
            "category_name": CATEGORIES.get(row.category, row.category), "unit": row.unit,
            "unit_name": UNITS.get(row.unit, row.unit), "guide_price_fen": row.guide_price_fen,
            "min_duration_min": row.min_duration_min, "voucher_kinds": list(row.voucher_kinds),
            "dispatch_mode": row.dispatch_mode, "grab_size": row.grab_size,
            "updated_by": row.updated_by, "updated_at": row.updated_at}


def item_view(row: CatalogueItemRow) -> dict:
    return {"id": str(row.id), "provider_id": str(row.provider_id), "service_code": row.service_code,
            "name": row.name, "unit": row.unit, "unit_name": UNITS.get(row.unit, row.unit),
            "price_fen": row.price_fen, "min_duration_min": row.min_duration_min,
            "voucher_kinds": list(row.voucher_kinds), "active": row.active, "updated_at": row.updated_at}


def caregiver_view(row: CaregiverRow, provider: ProviderRow, load: int) -> dict:
    return {"id": str(row.id), "provider_id": str(row.provider_id), "provider_name": provider.legal_name,
            "name": row.name, "gender": row.gender, "skills": list(row.skills),
            "certificate_level": row.certificate_level,
            "certificate_name": CERTIFICATE_LEVELS.get(row.certificate_level or ""),
            "volunteer": provider.kind == MUTUAL_AID_KIND,
            "base_lat": row.base_lat, "base_lon": row.base_lon, "service_radius_m": row.service_radius_m,
            "working_hours": list(row.working_hours or []), "daily_limit": row.daily_limit, "today_load": load,
            "status": row.status, "status_name": CAREGIVER_STATUSES.get(row.status, row.status),
            "rating": rating_view(row.rating_sum, row.rating_count), "rating_count": row.rating_count,
            "created_at": row.created_at, "updated_at": row.updated_at}


def bed_view(row: BedRow) -> dict:
    return {"bed_id": str(row.bed_id), "provider_id": str(row.provider_id), "room": row.room, "bed_no": row.bed_no,
            "care_level": row.care_level, "care_level_name": CARE_LEVELS.get(row.care_level, row.care_level),
            "room_gender": row.room_gender, "status": row.status,
            "status_name": BED_STATUS_NAMES.get(row.status, row.status),
            "application_id": str(row.application_id) if row.application_id else None,
            "stay_id": str(row.stay_id) if row.stay_id else None, "updated_at": row.updated_at}


def bed_rates_view(provider_id, rows: dict[str, BedRateRow], policy: BedPolicy) -> dict:
    """Every care level, set or not, beside the guide rate in force."""
    rates = []
    for level, name in CARE_LEVELS.items():
        row = rows.get(level)
        rates.append({"care_level": level, "care_level_name": name,
                      "daily_rate_fen": row.daily_rate_fen if row else None,
                      "guide_daily_rate_fen": policy.guide_daily_rate_fen[level],
                      "policy_version": row.policy_version if row else None,
                      "updated_at": row.updated_at if row else None})
    return {"provider_id": str(provider_id), "policy_version": policy.version, "rates": rates}


def place_view(ranked: RankedPlace, provider: ProviderRow, care_level: str) -> dict:
    return provider_public(provider) | {
        "provider_id": str(provider.id), "address": provider.address, "lat": provider.lat, "lon": provider.lon,
        "distance_m": round(ranked.distance_m, 1), "care_level": care_level,
        "care_level_name": CARE_LEVELS[care_level], "daily_rate_fen": ranked.place.daily_rate_fen,
        "free_beds": ranked.place.free_beds, "score": round(ranked.score, 4)}
