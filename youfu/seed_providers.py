"""The demo provider: an approved home-care centre near the demo elder, with its documents, a
catalogue at the guide prices, a service area and one caregiver who can take meals, cleaning,
bathing, visits and emergency calls (助急)."""
from __future__ import annotations

from datetime import date, timedelta

import httpx


def checked(r: httpx.Response) -> dict:
    """The JSON answer, or a readable error naming the call that failed."""
    if r.status_code >= 400:
        raise RuntimeError(f"seed: {r.request.method} {r.request.url.path} → {r.status_code} {r.text[:300]}")
    return r.json() if r.content else {}


def _credit_code(first17: str) -> str:
    from services.providers.rules.credit_code import credit_code_check_char

    return first17 + credit_code_check_char(first17)


def create_demo_provider(client: httpx.Client, officer: dict, near: tuple[float, float]) -> dict:
    lat, lon = near[0] - 0.006, near[1] - 0.004  # about 750 m from the elder
    provider = checked(client.post("/api/providers/providers", headers={**officer, "Idempotency-Key": "seed-provider"},
                               json={"kind": "home_care_centre", "legal_name": "泰州市海陵区城中居家养老服务中心（演示）",
                                     "credit_code": _credit_code("52321202MJ0000001"), "district_code": "321202",
                                     "street": "城中街道", "address": "泰州市海陵区城中街道鼓楼路 1 号", "lat": lat,
                                     "lon": lon, "contact_name": "周主任", "contact_phone": "0523-86000000",
                                     "star_rating": 4}))
    pid = provider["id"]
    today = date.today()
    for kind, number in (("licence", "MZ3212020001"), ("insurance", "PICC-2026-0001")):
        checked(client.post(f"/api/providers/providers/{pid}/documents", headers=officer, json={
            "kind": kind, "number": number, "issued_on": str(today - timedelta(days=30)),
            "expires_on": str(today + timedelta(days=365))}))
    checked(client.post(f"/api/providers/providers/{pid}/approve", headers=officer, json={"reason": "材料齐全，现场核验通过"}))
    return {"provider_id": pid, "provider_location": [lat, lon]}


def stock_demo_provider(client: httpx.Client, provider_admin: dict, world: dict) -> dict:
    """Catalogue, service area and caregiver are the provider's own business: its admin sets them."""
    pid = world["provider_id"]
    items = {i["code"]: i for i in checked(client.get("/api/providers/service-items", headers=provider_admin))}
    # 助急 (emergency): its caregiver is among those an emergency alarm of the demo elder alerts (issue 25)
    for code in ("meal", "clean", "bath", "visit", "emergency"):
        checked(client.post(f"/api/providers/providers/{pid}/catalogue", headers=provider_admin, json={
            "service_code": code, "price_fen": items[code]["guide_price_fen"]}))
    checked(client.put(f"/api/providers/providers/{pid}/service-area", headers=provider_admin,
                   json={"radius_m": 8000, "streets": ["城中街道", "城东街道", "城西街道"]}))
    lat, lon = world["provider_location"]
    caregiver = checked(client.post(f"/api/providers/providers/{pid}/caregivers", headers=provider_admin, json={
        "name": "刘秀英", "gender": "female", "skills": ["meal", "clean", "bath", "visit", "emergency"],
        "certificate_level": "level_4", "base_lat": lat, "base_lon": lon, "service_radius_m": 6000, "daily_limit": 8}))
    return {"caregiver_id": caregiver["id"]}


# The two demo meal points (助餐点, issue 23): approved near the demo elder, each with its counter's
# staff account (youfu/seed.py, MEAL_POINT_STAFF). A meal point needs a licence and a food permit.
MEAL_POINTS = (
    ("meal_point_1", "泰州市海陵区城中社区老年食堂（演示）", "52321202MJ0000004", "城中街道",
     "泰州市海陵区城中街道鼓楼南路 30 号", (0.002, 0.001), "0523-86000010"),
    ("meal_point_2", "泰州市海陵区城东社区助餐点（演示）", "52321202MJ0000005", "城东街道",
     "泰州市海陵区城东街道东进东路 12 号", (0.006, 0.009), "0523-86000011"),
)


def create_demo_meal_point(client: httpx.Client, officer: dict, step: str, near: tuple[float, float]) -> dict:
    _, name, first17, street, address, (dlat, dlon), phone = next(p for p in MEAL_POINTS if p[0] == step)
    lat, lon = near[0] + dlat, near[1] + dlon
    point = checked(client.post("/api/providers/providers", headers={**officer, "Idempotency-Key": f"seed-{step}"},
                                json={"kind": "meal_point", "legal_name": name, "credit_code": _credit_code(first17),
                                      "district_code": "321202", "street": street, "address": address, "lat": lat,
                                      "lon": lon, "contact_name": "食堂负责人", "contact_phone": phone,
                                      "star_rating": 3}))
    pid = point["id"]
    # a resumed seeding: the keyed create answers as the first time did, so ask how the point is now
    if checked(client.get(f"/api/providers/providers/{pid}", headers=officer)).get("status") == "approved":
        return {step: pid}
    today = date.today()
    for kind, number in (("licence", f"MZ32120200{step[-1]}0"), ("food_permit", f"JY3321202000{step[-1]}")):
        checked(client.post(f"/api/providers/providers/{pid}/documents", headers=officer, json={
            "kind": kind, "number": number, "issued_on": str(today - timedelta(days=30)),
            "expires_on": str(today + timedelta(days=365))}))
    checked(client.post(f"/api/providers/providers/{pid}/approve", headers=officer, json={"reason": "食品经营许可核验通过"}))
    return {step: pid}


def issue_demo_alarm_device(client: httpx.Client, officer: dict, elder_id: str, *, attempts: int = 60) -> dict:
    """A home alarm device (呼叫终端) for the demo elder, issued by the district officer (issue 25).
    The token is shown once; the seed keeps it in demo-world.json and prints it. The orders
    service learns of the elder from assessment's event, so the first tries may find no elder yet."""
    import time

    for _ in range(attempts):
        r = client.post(f"/api/orders/elders/{elder_id}/alarm-devices", headers=officer, json={"label": "演示呼叫终端"})
        if r.status_code != 404:
            device = checked(r)
            return {"alarm_device_id": device["id"], "alarm_device_token": device["token"]}
        time.sleep(0.5)
    raise RuntimeError(f"seed: the orders service never learnt of the demo elder {elder_id}")
