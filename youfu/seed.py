"""Demo data on first start: one account per role, written to var/demo-accounts.json.

Passwords are generated per installation (no secret lives in code). The family account is
linked to a demo elder and the provider accounts to a demo provider once those services can
create them (see `demo_world`)."""
from __future__ import annotations

import asyncio
import json
import secrets

from gateway import accounts
from shared.db import Database
from shared.pii import PiiCipher
from shared.settings import Settings

DEMO_DISTRICT = "321202"  # 海陵区
DEMO_ACCOUNTS = [
    ("admin", "13800000001", "系统管理员"),
    ("city_officer", "13800000002", "市民政局 李科长"),
    ("officer", "13800000003", "海陵区民政 张科员"),
    ("assessor", "13800000004", "评估员 陈医生"),
    ("provider_admin", "13800000005", "城中居家养老服务中心 管理员"),
    ("caregiver", "13800000006", "护理员 刘阿姨"),
    ("elder", "13800000007", "王大爷"),
    ("family", "13800000008", "王大爷的女儿"),
]


async def create_demo_accounts(settings: Settings, world: dict | None = None) -> list[dict]:
    world = world or {}
    db = Database(settings.database_url("gateway"))
    cipher = PiiCipher(settings.pii_key_value)
    out = []
    try:
        async with db.transaction() as s:
            for role, phone, name in DEMO_ACCOUNTS:
                password = "yf-" + secrets.token_urlsafe(6)
                user = await accounts.create_user(
                    s, cipher=cipher, phone=phone, password=password, role=role, display_name=name,
                    district_code=DEMO_DISTRICT if role in ("officer", "assessor", "elder", "family") else None,
                    provider_id=world.get("provider_id") if role in ("provider_admin", "caregiver") else None,
                    caregiver_id=world.get("caregiver_id") if role == "caregiver" else None,
                    elder_id=world.get("elder_id") if role == "elder" else None,
                ) if role not in ("provider_admin", "caregiver") or world.get("provider_id") else None
                if user is None:
                    continue
                if role == "family" and world.get("elder_id"):
                    await accounts.add_family_link(s, user=user, elder_id=world["elder_id"], relation="女儿",
                                                   consent_by="老人本人", consent_method="in_person",
                                                   recorded_by="seed")
                out.append({"role": role, "phone": phone, "password": password, "name": name})
    finally:
        await db.dispose()
    return out


def seed_demo(settings: Settings) -> list[dict]:
    demo = asyncio.run(create_demo_accounts(settings))
    path = settings.var_dir / "demo-accounts.json"
    path.write_text(json.dumps(demo, ensure_ascii=False, indent=2))
    path.chmod(0o600)
    return demo
