"""The bureau's dashboard reports (providers' part): each district's centre and streets (from
the offline gazetteer, `geocoding.py`) with the approved home-care centres (居家养老服务中心) on
each street — the numerator and denominator of 街道综合性养老服务中心覆盖率 — and every approved
provider's position, for the map's reach and nearest-provider lists. Officers get their district's
streets, city officers the city's; approved providers are public (the provider list shows them
to everyone), and a district's elders may be served from across its border, so the positions
are the city's for both."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.providers.access import capacity_clauses
from services.providers.geocoding import default_gazetteer
from services.providers.models import ProviderRow
from services.providers.rules.registry import KINDS
from shared.auth import Principal
from shared.city import DISTRICTS

CENTRE_KIND = "home_care_centre"


async def street_coverage(session: AsyncSession, *, principal: Principal, district_code: str | None) -> dict:
    clauses = capacity_clauses(principal, district_code)  # officers: their district; the city: any
    gazetteer = default_gazetteer()
    approved = list((await session.execute(
        sa.select(ProviderRow).where(ProviderRow.status == "approved").order_by(ProviderRow.id))).scalars())
    scoped = {p.id for p in (await session.execute(
        sa.select(ProviderRow).where(ProviderRow.status == "approved", *clauses))).scalars()}
    centres: dict[tuple[str, str], list[str]] = {}
    for p in approved:
        if p.kind == CENTRE_KIND and p.street and p.id in scoped:
            centres.setdefault((p.district_code, p.street), []).append(p.legal_name)
    district = (principal.district or "") if principal.role == "officer" else district_code
    wanted = [code for code in DISTRICTS if district is None or code == district]
    districts = []
    for code in wanted:
        centre = gazetteer.districts.get(code)
        streets = [{"street": s.name, "lat": s.lat, "lon": s.lon, "centres": centres.get((code, s.name), [])}
                   for s in gazetteer.places if s.kind == "street" and s.district_code == code]
        districts.append({"district_code": code, "district_name": DISTRICTS[code],
                          "lat": centre.lat if centre else None, "lon": centre.lon if centre else None,
                          "streets": streets})
    providers = [{"provider_id": str(p.id), "name": p.legal_name, "kind": p.kind, "kind_name": KINDS.get(p.kind, p.kind),
                  "district_code": p.district_code, "street": p.street, "lat": p.lat, "lon": p.lon,
                  "area_radius_m": p.area_radius_m} for p in approved]
    return {"district_code": district, "districts": districts, "providers": providers}
