"""Demo data on first start, created through the gateway's API like a real office would.

One account per role (passwords generated per installation, written to var/demo-accounts.json),
a demo elder in 海陵区 assessed by two assessors (so this month's vouchers are issued from the
assessment event), and a demo provider near the elder with a caregiver, so an order can be placed
and matched at once. Street-level coordinates are not published: the demo places everything
around the district centre (DOMAIN.md).
"""
from __future__ import annotations

import asyncio
import json
import secrets

import httpx

from gateway import accounts
from shared.db import Database
from shared.pii import PiiCipher
from shared.settings import Settings
from youfu.seed_providers import checked as _ok
from youfu.seed_providers import create_demo_provider, stock_demo_provider

DEMO_DISTRICT = "321202"  # 海陵区
HAILING = (32.49, 119.92)
STAFF = [
    ("admin", "13800000001", "系统管理员"),
    ("city_officer", "13800000002", "市民政局 李科长"),
    ("officer", "13800000003", "海陵区民政 张科员"),
    ("assessor", "13800000004", "评估员 陈医生"),
    ("assessor", "13800000009", "评估员 周护士"),
]
PEOPLE = [
    ("provider_admin", "13800000005", "城中居家养老服务中心 管理员"),
    ("caregiver", "13800000006", "护理员 刘阿姨"),
    ("elder", "13800000007", "王大爷"),  # order matters: see seed_demo
    ("family", "13800000008", "王大爷的女儿"),
]


def _password() -> str:
    return "yf-" + secrets.token_urlsafe(6)


async def _create_accounts(settings: Settings, rows: list[tuple[str, str, str]], world: dict) -> list[dict]:
    db = Database(settings.database_url("gateway"))
    cipher = PiiCipher(settings.pii_key_value)
    out = []
    try:
        async with db.transaction() as s:
            for role, phone, name in rows:
                password = _password()
                user = await accounts.create_user(
                    s, cipher=cipher, phone=phone, password=password, role=role, display_name=name,
                    district_code=DEMO_DISTRICT if role in ("officer", "assessor", "elder", "family") else None,
                    provider_id=world.get("provider_id") if role in ("provider_admin", "caregiver") else None,
                    caregiver_id=world.get("caregiver_id") if role == "caregiver" else None,
                    elder_id=world.get("elder_id") if role == "elder" else None)
                if role == "family" and world.get("elder_id"):
                    await accounts.add_family_link(s, user=user, elder_id=world["elder_id"], relation="女儿",
                                                   consent_by="老人本人", consent_method="in_person", recorded_by="seed")
                out.append({"role": role, "phone": phone, "password": password, "name": name})
    finally:
        await db.dispose()
    return out


def _login(client: httpx.Client, account: dict) -> dict:
    r = client.post("/api/auth/login", json={"phone": account["phone"], "password": account["password"]})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _id_card(first17: str) -> str:
    from services.assessment.idcard import id_card_check_char

    return first17 + id_card_check_char(first17)


def demo_elder(client: httpx.Client, officer: dict, assessors: list[dict]) -> str:
    elder = _ok(client.post("/api/assessment/elders", headers={**officer, "Idempotency-Key": "seed-elder-wang"}, json={
        "name": "王大爷", "gender": "male", "birth_date": "1946-05-06", "id_card": _id_card("32120219460506123"),
        "phone": "13800000007", "address": "泰州市海陵区城中街道鼓楼南路 18 号 2 单元 301",
        "lat": HAILING[0] + 0.004, "lon": HAILING[1] + 0.003, "district_code": DEMO_DISTRICT, "street": "城中街道",
        "living_situation": "alone", "economic_status": "dibao",
        "emergency_contacts": [{"name": "王小红", "relation": "女儿", "phone": "13800000008"}],
    }))
    from services.assessment.instruments import get_instrument

    items = {i.code: sorted(i.allowed_scores)[len(i.allowed_scores) // 2] for i in get_instrument().items}
    draft = _ok(client.post(f"/api/assessment/elders/{elder['id']}/assessments", headers=assessors[0],
                            json={"items": items, "note": "上门评估（演示数据）"}))
    _ok(client.post(f"/api/assessment/assessments/{draft['id']}/sign", headers=assessors[0]))
    _ok(client.post(f"/api/assessment/assessments/{draft['id']}/sign", headers=assessors[1]))
    return elder["id"]


def seed_demo(settings: Settings) -> list[dict]:
    gateway = f"http://{settings.host}:{settings.port('gateway')}"
    staff = asyncio.run(_create_accounts(settings, STAFF, {}))
    world: dict = {}
    by_role = {p[0]: p for p in PEOPLE}
    with httpx.Client(base_url=gateway, timeout=30) as client:
        officer = _login(client, next(a for a in staff if a["role"] == "officer"))
        assessors = [_login(client, a) for a in staff if a["role"] == "assessor"]
        world["elder_id"] = demo_elder(client, officer, assessors)
        world |= create_demo_provider(client, officer, (HAILING[0] + 0.004, HAILING[1] + 0.003))
        provider_admin = asyncio.run(_create_accounts(settings, [by_role["provider_admin"]], world))
        world |= stock_demo_provider(client, _login(client, provider_admin[0]), world)
    people = [by_role[r] for r in ("caregiver", "elder", "family")]
    demo = staff + provider_admin + asyncio.run(_create_accounts(settings, people, world))
    path = settings.var_dir / "demo-accounts.json"
    path.write_text(json.dumps(demo, ensure_ascii=False, indent=2))
    path.chmod(0o600)
    (settings.var_dir / "demo-world.json").write_text(json.dumps(world, indent=2))
    return demo
