"""The demo institutions (issue 22): two approved care institutions (养老院) near the demo elder,
each with its own desk account, beds in rooms of mixed care levels with daily rates under the
city's guide rates, and a resident admitted since the 1st of this month, so the desk, the bureau's
occupancy and the month's bed-day claims have something to show from the first start.

Every step goes through the gateway as the office would do it: the district officer registers and
approves the institutions and the residents (with their two-assessor assessment, so the
institutional voucher is issued from the event); the institution's admin declares its beds and
rates, accepts the officer's application with a bed and admits. Each step is recorded in
var/demo-world.json by the caller (youfu/seed.py) so a second run adds only what is missing.
"""
from __future__ import annotations

from datetime import date, timedelta

import httpx

from youfu.seed_providers import _credit_code, checked

# (world key, legal name, 17 characters of the credit code, street, address, offset from the
# district centre, star rating, the desk's phone, rooms: (room, care level, room gender, beds),
# daily rates in fen per care level, the resident: (key, name, gender, birth, 17 ID characters,
# address, care level))
INSTITUTIONS = (
    ("institution_a", "泰州市海陵区颐和养老院（演示）", "52321202MJ0000002", "城东街道", "泰州市海陵区城东街道凤凰路 66 号",
     (0.010, 0.012), 4, "13800000010",
     (("101", "self_care", "male", 2), ("102", "self_care", "female", 2), ("201", "nursing", "female", 3),
      ("202", "nursing", "male", 3), ("301", "dementia", None, 2)),
     {"self_care": 6000, "nursing": 10000, "dementia": 13000},
     ("resident_a", "李秀兰", "female", "1938-03-12", "32120219380312222", "泰州市海陵区城东街道凤凰路 66 号 201 室",
      "nursing")),
    ("institution_b", "泰州市海陵区康宁护理院（演示）", "52321202MJ0000003", "城西街道", "泰州市海陵区城西街道春晖路 9 号",
     (-0.008, -0.015), 3, "13800000011",
     (("A1", "nursing", None, 4), ("A2", "nursing", None, 4), ("B1", "self_care", None, 2)),
     {"self_care": 7000, "nursing": 11000},
     ("resident_b", "赵德明", "male", "1941-11-02", "32120219411102131", "泰州市海陵区城西街道春晖路 9 号 A1 室",
      "nursing")),
)
# the desks' accounts, beside the other demo accounts (youfu/seed.py)
DESK_ACCOUNTS = [("provider_admin", phone, f"{name.removesuffix('（演示）')[6:]} 管理员", key)
                 for key, name, _, _, _, _, _, phone, _, _, _ in INSTITUTIONS]




def _id_card(first17: str) -> str:
    from services.assessment.rules.idcard import id_card_check_char

    return first17 + id_card_check_char(first17)


def create_institution(client: httpx.Client, officer: dict, key: str, centre: tuple[float, float]) -> dict:
    """Registered by the district officer with its documents and approved: the world step `key`."""
    _, name, code, street, address, (dlat, dlon), stars, *_ = next(i for i in INSTITUTIONS if i[0] == key)
    lat, lon = centre[0] + dlat, centre[1] + dlon
    made = checked(client.post("/api/providers/providers", headers={**officer, "Idempotency-Key": f"seed-{key}"}, json={
        "kind": "care_institution", "legal_name": name, "credit_code": _credit_code(code), "district_code": "321202",
        "street": street, "address": address, "lat": lat, "lon": lon, "contact_name": "院长办公室",
        "contact_phone": "0523-86100000", "star_rating": stars}))
    pid = made["id"]
    today = date.today()
    for kind, number in (("licence", f"MZ{code[-6:]}"), ("institution_filing", f"BA{code[-6:]}"),
                         ("insurance", f"PICC-{code[-6:]}")):
        checked(client.post(f"/api/providers/providers/{pid}/documents", headers=officer, json={
            "kind": kind, "number": number, "issued_on": str(today - timedelta(days=60)),
            "expires_on": str(today + timedelta(days=700))}))
    checked(client.post(f"/api/providers/providers/{pid}/approve", headers=officer, json={"reason": "材料齐全，现场核验通过"}))
    return {f"{key}_id": pid}


def furnish_institution(client: httpx.Client, desk: dict, key: str, provider_id: str) -> None:
    """The desk declares its beds and sets its daily rates (under the guide rates)."""
    rooms, rates = next((i[8], i[9]) for i in INSTITUTIONS if i[0] == key)
    beds = [{"room": room, "bed_no": str(n), "care_level": level, "room_gender": gender}
            for room, level, gender, count in rooms for n in range(1, count + 1)]
    have = {(b["room"], b["bed_no"]) for b in checked(client.get(f"/api/providers/providers/{provider_id}/beds",
                                                                 headers=desk))}
    new = [b for b in beds if (b["room"], b["bed_no"]) not in have]
    if new:
        checked(client.post(f"/api/providers/providers/{provider_id}/beds", headers=desk, json={"beds": new}))
    checked(client.put(f"/api/providers/providers/{provider_id}/bed-rates", headers=desk, json={
        "rates": [{"care_level": level, "daily_rate_fen": fen} for level, fen in rates.items()]}))


def register_resident(client: httpx.Client, officer: dict, assessors: list[dict], key: str,
                      centre: tuple[float, float]) -> str:
    """The resident-to-be, registered and assessed (grade 3: the institutional voucher's grades)."""
    from services.assessment.instruments import get_instrument

    _, _, _, _, address, (dlat, dlon), *_, resident = next(i for i in INSTITUTIONS if i[10][0] == key)
    _, name, gender, birth, id17, _, _ = resident
    elder = checked(client.post("/api/assessment/elders", headers={**officer, "Idempotency-Key": f"seed-{key}"}, json={
        "name": name, "gender": gender, "birth_date": birth, "id_card": _id_card(id17), "address": address,
        "lat": centre[0] + dlat, "lon": centre[1] + dlon, "district_code": "321202", "street": "城中街道",
        "living_situation": "institution", "economic_status": "tekun", "emergency_contacts": []}))
    items = {i.code: sorted(i.allowed_scores)[int(len(i.allowed_scores) * 0.4)] for i in get_instrument().items}
    draft = checked(client.post(f"/api/assessment/elders/{elder['id']}/assessments", headers=assessors[0],
                                json={"items": items, "note": "入院评估（演示数据）"}))
    checked(client.post(f"/api/assessment/assessments/{draft['id']}/sign", headers=assessors[0]))
    checked(client.post(f"/api/assessment/assessments/{draft['id']}/sign", headers=assessors[1]))
    return elder["id"]


def admit_resident(client: httpx.Client, officer: dict, desk: dict, key: str, elder_id: str, provider_id: str,
                   today: date) -> str:
    """The officer applies for the resident, the desk accepts with a free bed and admits on the
    1st of this month (so the month's claim has days to count)."""
    _, _, gender, _, _, _, level = next(i[10] for i in INSTITUTIONS if i[10][0] == key)
    first = today.replace(day=1)
    open_stays = checked(client.get("/api/orders/stays", headers=desk, params={"elder_id": elder_id, "open": "true"}))
    if open_stays:
        return open_stays[0]["stay_id"]
    apps = [a for a in checked(client.get("/api/orders/stay-applications", headers=desk, params={"elder_id": elder_id}))
            if a["status"] in ("submitted", "accepted")]
    app = apps[0] if apps else checked(client.post(
        "/api/orders/stay-applications", headers={**officer, "Idempotency-Key": f"seed-{key}-application"}, json={
            "elder_id": elder_id, "provider_id": provider_id, "care_level": level, "kind": "long_term",
            "planned_start": str(first), "note": "家属无力照护，申请长期入住（演示数据）"}))
    if app["status"] == "submitted":
        free = [b for b in checked(client.get(f"/api/providers/providers/{provider_id}/beds", headers=desk,
                                              params={"status": "free", "care_level": level}))
                if b["room_gender"] in (None, gender)]
        app = checked(client.post(f"/api/orders/stay-applications/{app['application_id']}/accept", headers=desk,
                                  json={"bed_id": free[0]["bed_id"]}))
    stay = checked(client.post("/api/orders/stays", headers=desk, json={
        "application_id": app["application_id"], "admitted_on": str(first)}))
    return stay["stay_id"]
