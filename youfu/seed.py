"""Demo data on first start, created through the gateway's API like a real office would.

One account per role (passwords generated per installation, written to var/demo-accounts.json),
a demo elder in 海陵区 assessed by two assessors (so this month's vouchers are issued from the
assessment event), a demo provider near the elder with a caregiver, so an order can be placed
and matched at once, and two meal points (助餐点) with a counter account each, where the elder's
meal code is taken. The elder has a care plan at that provider (grade 2's policy items), drafted by
the assessor and accepted by the daughter, so the plan's visits are ordered a day ahead.
Street-level coordinates are not published: the demo places everything around the district centre
(docs/domain.md).

Seeding is idempotent and resumable: the passwords are written before the accounts are created,
each step of the world is written to var/demo-world.json as it is done, and a run finds what is
there (accounts by phone in the gateway's database, world steps in the file) and only adds what is
missing. `youfu up` seeds on first start; `youfu seed` (youfu/cli.py) does it on demand.
"""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from gateway import accounts
from gateway.models import User
from shared.city import CITY_TZ
from shared.clock import system_clock
from shared.db import Database
from shared.pii import PiiCipher
from shared.settings import Settings
from youfu.seed_institutions import (
    DESK_ACCOUNTS,
    INSTITUTIONS,
    admit_resident,
    create_institution,
    furnish_institution,
    register_resident,
)
from youfu.seed_providers import (
    MEAL_POINTS,
    create_demo_meal_point,
    create_demo_provider,
    issue_demo_alarm_device,
    stock_demo_provider,
)
from youfu.seed_providers import checked as _ok

DEMO_DISTRICT = "321202"  # 海陵区
HAILING = (32.49, 119.92)
STAFF = [
    ("admin", "13800000001", "系统管理员"),
    ("city_officer", "13800000002", "市民政局 李科长"),
    ("officer", "13800000003", "海陵区民政 张科员"),
    ("assessor", "13800000004", "评估员 陈医生"),
    ("assessor", "13800000009", "评估员 周护士"),
    # the 12349 hotline desks (坐席): the city's (no district) and 海陵区's
    ("operator", "13800000014", "12349 坐席 赵敏（全市）"),
    ("operator", "13800000015", "12349 坐席 孙丽（海陵区）"),
]
DISTRICT_OPERATORS = {"13800000015"}  # the other operator desk is city-wide
PEOPLE = [
    ("provider_admin", "13800000005", "城中居家养老服务中心 管理员"),
    ("caregiver", "13800000006", "护理员 刘阿姨"),
    ("elder", "13800000007", "王大爷"),
    ("family", "13800000008", "王大爷的女儿"),
]
# the counters of the two meal points (after PEOPLE: the first provider_admin stays the home-care centre's)
MEAL_POINT_STAFF = [
    ("provider_admin", "13800000012", "城中社区老年食堂 收银员"),
    ("provider_admin", "13800000013", "城东社区助餐点 收银员"),
]
PROVIDER_OF = {"13800000012": "meal_point_1", "13800000013": "meal_point_2"}  # phone → the world step of its point


ACCOUNTS_FILE, WORLD_FILE, MARKER = "demo-accounts.json", "demo-world.json", ".seeded"
WORLD_STEPS = ("elder_id", "assessed", "provider_id", "caregiver_id", "plan_id", "meal_point_1", "meal_point_2")
# the institutions' steps (youfu/seed_institutions.py), after the ones above
INSTITUTION_STEPS = tuple(f"{i[0]}_{step}" for i in INSTITUTIONS for step in ("id", "furnished")) + tuple(
    f"{i[10][0]}_{step}" for i in INSTITUTIONS for step in ("id", "stay_id"))
# the desks' accounts: phone → the world key of their institution
DESKS = [(role, phone, name) for role, phone, name, _ in DESK_ACCOUNTS]
DESK_PROVIDER_KEY = {phone: f"{key}_id" for _, phone, _, key in DESK_ACCOUNTS}
# the demo elder's care plan: grade 2's policy items (services/assessment/care_plans.json) at the demo provider
DEMO_PLAN_ITEMS = (
    {"service_code": "clean", "frequency": {"type": "weekly", "weekdays": [1, 4], "time": "09:00"}, "duration_min": 60,
     "voucher_kind": "community"},
    {"service_code": "visit", "frequency": {"type": "per_week", "count": 1, "time": "15:00"}, "duration_min": 30,
     "voucher_kind": "community"},
)
LIVE_PLAN_STATES = ("active", "to_review")


class SeedError(RuntimeError):
    """Seeding cannot go on; the message is for people (zh-CN)."""


def _password() -> str:
    return "yf-" + secrets.token_urlsafe(6)


def _write_private(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, ensure_ascii=False, indent=2)
    os.replace(tmp, path)


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def demo_accounts(settings: Settings) -> list[dict]:
    """The demo accounts with their passwords: the ones already written (var/demo-accounts.json),
    and a new password for any row not there yet. Written back at once (owner-only), before any
    account is created, so an interrupted seeding never loses a password."""
    path = settings.var_dir / ACCOUNTS_FILE
    known = {a["phone"]: a for a in _read_json(path, []) if isinstance(a, dict) and "phone" in a}
    rows = [{"role": role, "phone": phone, "password": known.get(phone, {}).get("password") or _password(),
             "name": name} for role, phone, name in STAFF + PEOPLE + DESKS + MEAL_POINT_STAFF]
    if [known.get(r["phone"]) for r in rows] != rows:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        _write_private(path, rows)
    return rows


def _check_database(settings: Settings) -> str:
    """The gateway's database URL, after making sure it is the one the platform runs on."""
    url = settings.database_url("gateway")
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        raise SeedError(f"找不到网关的数据库 {url.split('///', 1)[-1]}：请用与 youfu up 相同的 YOUFU_VAR_DIR"
                        f"（或 YOUFU_GATEWAY_DATABASE_URL）运行 youfu seed")
    if not settings.pii_key_value:
        raise SeedError(f"找不到个人信息加密密钥 {settings.var_dir / 'keys' / 'pii.key'}：请用与 youfu up 相同的 "
                        f"YOUFU_VAR_DIR 运行 youfu seed（或设置 YOUFU_PII_KEY）")
    return url


async def _create_accounts(settings: Settings, rows: list[dict], world: dict) -> int:
    """Creates the accounts of `rows` that do not exist yet (found by phone); returns how many."""
    db = Database(_check_database(settings))
    cipher = PiiCipher(settings.pii_key_value)
    made = 0
    try:
        # hashed before the transaction, both cores at once: the write lock (SQLite) is held only
        # for the inserts, not for a fifth of a second of argon2 per account
        async with db.sessions() as s:
            existing = set((await s.execute(sa.select(User.phone_index))).scalars())
        missing = [row for row in rows if cipher.blind_index(row["phone"]) not in existing]
        hashes = await asyncio.gather(*(accounts.hash_outside(row["password"]) for row in missing))
        async with db.transaction() as s:
            for row, password_hash in zip(missing, hashes):
                role, phone = row["role"], row["phone"]
                if await s.scalar(sa.select(User.id).where(User.phone_index == cipher.blind_index(phone))):
                    continue
                user = await accounts.create_user(
                    s, cipher=cipher, phone=phone, password=row["password"], role=role, display_name=row["name"],
                    password_hash=password_hash, now=system_clock(),
                    district_code=DEMO_DISTRICT if role in ("officer", "assessor", "elder", "family")
                    or phone in DISTRICT_OPERATORS else None,
                    provider_id=world.get(DESK_PROVIDER_KEY.get(phone) or PROVIDER_OF.get(phone, "provider_id"))
                    if role in ("provider_admin", "caregiver") else None,
                    caregiver_id=world.get("caregiver_id") if role == "caregiver" else None,
                    elder_id=world.get("elder_id") if role == "elder" else None)
                if role == "family" and world.get("elder_id"):
                    await accounts.add_family_link(s, user=user, elder_id=world["elder_id"], relation="女儿",
                                                   consent_by="老人本人", consent_method="in_person", recorded_by="seed",
                                                   now=system_clock())
                made += 1
    except SeedError:
        raise
    except Exception as exc:  # noqa: BLE001 - said to people, with the cause
        raise SeedError(f"写入演示账号失败（网关数据库 {db.url.split('@')[-1]}）：{type(exc).__name__}: {exc}"[:400]) from exc
    finally:
        await db.dispose()
    return made


def _login(client: httpx.Client, account: dict) -> dict:
    r = client.post("/api/auth/login", json={"phone": account["phone"], "password": account["password"]})
    if r.status_code == 401:
        raise SeedError(f"演示账号 {account['phone']}（{account['role']}）登录不了：网关用的账号库与 youfu seed 写入的不是"
                        f"同一个，或 var/{ACCOUNTS_FILE} 里的密码已不是它的密码。请用与 youfu up 相同的 YOUFU_VAR_DIR "
                        f"和数据库设置运行 youfu seed")
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _id_card(first17: str) -> str:
    from services.assessment.rules.idcard import id_card_check_char

    return first17 + id_card_check_char(first17)


def register_demo_elder(client: httpx.Client, officer: dict) -> str:
    elder = _ok(client.post("/api/assessment/elders", headers={**officer, "Idempotency-Key": "seed-elder-wang"}, json={
        "name": "王大爷", "gender": "male", "birth_date": "1946-05-06", "id_card": _id_card("32120219460506123"),
        "phone": "13800000007", "address": "泰州市海陵区城中街道鼓楼南路 18 号 2 单元 301",
        "lat": HAILING[0] + 0.004, "lon": HAILING[1] + 0.003, "district_code": DEMO_DISTRICT, "street": "城中街道",
        "living_situation": "alone", "economic_status": "dibao",
        "emergency_contacts": [{"name": "王小红", "relation": "女儿", "phone": "13800000008"}],
    }))
    return elder["id"]


def assess_demo_elder(client: httpx.Client, elder_id: str, assessors: list[dict]) -> None:
    from services.assessment.instruments import get_instrument

    items = {i.code: sorted(i.allowed_scores)[len(i.allowed_scores) // 2] for i in get_instrument().items}
    draft = _ok(client.post(f"/api/assessment/elders/{elder_id}/assessments", headers=assessors[0],
                            json={"items": items, "note": "上门评估（演示数据）"}))
    _ok(client.post(f"/api/assessment/assessments/{draft['id']}/sign", headers=assessors[0]))
    _ok(client.post(f"/api/assessment/assessments/{draft['id']}/sign", headers=assessors[1]))


def demo_elder(client: httpx.Client, officer: dict, assessors: list[dict]) -> str:
    elder_id = register_demo_elder(client, officer)
    assess_demo_elder(client, elder_id, assessors)
    return elder_id


def demo_plan(client: httpx.Client, assessor: dict, family: dict, elder_id: str, provider_id: str) -> str:
    """The demo elder's care plan, drafted by the assessor and accepted by the daughter in the app
    (with the self-paid rest, when the plan costs more than the month's vouchers). Resumes a plan an
    interrupted run left as a draft or awaiting consent; keeps a plan that is already running."""
    from datetime import datetime

    from shared.city import CITY_TZ

    plans = _ok(client.get(f"/api/assessment/elders/{elder_id}/care-plans", headers=assessor))
    plans = plans if isinstance(plans, list) else plans.get("items", [])
    live = next((p for p in plans if p["state"] in LIVE_PLAN_STATES), None)
    if live:
        return live["plan_id"]
    plan = next((p for p in plans if p["state"] in ("draft", "awaiting_consent")), None)
    if plan is None:
        body = {"start_date": datetime.now(CITY_TZ).date().isoformat(),
                "items": [{**item, "provider_id": provider_id} for item in DEMO_PLAN_ITEMS]}
        for _ in range(20):
            # with several providers replicas (`youfu up --replicas`), the one asked whether the demo
            # caregiver covers the elder may not have read the caregiver yet (it re-reads every
            # index_refresh_s): the answer is then a 422 for the provider, and it comes right soon
            r = client.post(f"/api/assessment/elders/{elder_id}/care-plans",
                            headers={**assessor, "Idempotency-Key": "seed-plan-wang"}, json=body)
            if r.status_code != 422 or "provider_id" not in r.text:
                break
            time.sleep(0.5)
        plan = _ok(r)
    if plan["state"] == "draft":
        plan = _ok(client.post(f"/api/assessment/care-plans/{plan['plan_id']}/submit", headers=assessor))
    _ok(client.post(f"/api/assessment/care-plans/{plan['plan_id']}/consent", headers=family,
                    json={"method": "app", "accepts_self_pay": bool(plan["budget"]["over_budget"])}))
    return plan["plan_id"]


def gateway_url(settings: Settings) -> str:
    return f"http://{settings.host}:{settings.port('gateway')}"


def check_running(gateway: str) -> None:
    """The platform answers: the gateway, and through it every service."""
    try:
        health = httpx.get(f"{gateway}/health", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        raise SeedError(f"平台没有在运行：连不上网关 {gateway}。请先运行 make up（或 .venv/bin/youfu up），"
                        f"等它打印 READY 后再运行 youfu seed；网关不在本机默认端口时请设置 YOUFU_GATEWAY_PORT") from None
    down = sorted(name for name, state in (health.get("services") or {}).items() if state != "up")
    if down:
        raise SeedError(f"平台还没有完全启动：{'、'.join(down)} 服务没有响应（网关 {gateway}）。请等 youfu up "
                        f"打印 READY 后再试，日志在 var/logs/")


def seeded(settings: Settings, client: httpx.Client | None = None) -> bool:
    """Is the demo data complete in the running platform? The files say every step was done, the
    demo admin signs in with its password, and the demo elder and provider are there."""
    var = settings.var_dir
    rows = _read_json(var / ACCOUNTS_FILE, [])
    world = _read_json(var / WORLD_FILE, {})
    if {r.get("phone") for r in rows if isinstance(r, dict)} != {p for _, p, _ in STAFF + PEOPLE + DESKS + MEAL_POINT_STAFF}:
        return False
    if not all(world.get(k) for k in WORLD_STEPS + INSTITUTION_STEPS if k != "assessed"):
        return False
    own = client is None
    client = client or httpx.Client(base_url=gateway_url(settings), timeout=30)
    try:
        admin = next(r for r in rows if r["role"] == "admin")
        r = client.post("/api/auth/login", json={"phone": admin["phone"], "password": admin["password"]})
        if r.status_code != 200:
            return False
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return (client.get(f"/api/assessment/elders/{world['elder_id']}", headers=headers).status_code == 200
                and client.get(f"/api/providers/providers/{world['provider_id']}", headers=headers).status_code == 200)
    finally:
        if own:
            client.close()


def seed_demo(settings: Settings) -> list[dict]:
    """Adds whatever of the demo data is missing (all of it on a new platform) and returns the demo
    accounts. Each step is recorded as it is done (see the module's docstring)."""
    var = settings.var_dir
    rows = demo_accounts(settings)
    by_role: dict[str, list[dict]] = {}
    for row in rows:
        if row["phone"] not in DESK_PROVIDER_KEY:  # the desks come with their institutions
            by_role.setdefault(row["role"], []).append(row)
    world_path = var / WORLD_FILE
    world: dict = _read_json(world_path, {})

    def done(**step) -> None:
        world.update(step)
        world_path.write_text(json.dumps(world, indent=2))

    staff = [r for r in rows if r["role"] in {role for role, _, _ in STAFF}]
    made = asyncio.run(_create_accounts(settings, staff, {}))
    if made == len(staff) and world:  # a new platform (its accounts were all missing): forget an old world
        world.clear()
        done()
    with httpx.Client(base_url=gateway_url(settings), timeout=30) as client:
        officer = _login(client, by_role["officer"][0])
        if not world.get("elder_id"):
            done(elder_id=register_demo_elder(client, officer))
        if not world.get("assessed") and not world.get("caregiver_id"):  # (older files: done when stocked)
            assess_demo_elder(client, world["elder_id"], [_login(client, a) for a in by_role["assessor"]])
            done(assessed=True)
        if not world.get("provider_id"):
            done(**create_demo_provider(client, officer, (HAILING[0] + 0.004, HAILING[1] + 0.003)))
        for step, *_ in MEAL_POINTS:
            if not world.get(step):
                done(**create_demo_meal_point(client, officer, step, HAILING))
        asyncio.run(_create_accounts(settings, by_role["provider_admin"], world))
        if not world.get("caregiver_id"):
            done(**stock_demo_provider(client, _login(client, by_role["provider_admin"][0]), world))
    asyncio.run(_create_accounts(settings, [r for r in rows if r["role"] in ("caregiver", "elder", "family")
                                            and r["phone"] not in DESK_PROVIDER_KEY], world))
    seed_institutions(settings, rows, by_role, world, done)
    with httpx.Client(base_url=gateway_url(settings), timeout=30) as client:
        wait_for_vouchers(client, _login(client, by_role["officer"][0]), world["elder_id"])
        if not world.get("plan_id"):  # priced on this month's vouchers: after they are issued
            done(plan_id=demo_plan(client, _login(client, by_role["assessor"][0]), _login(client, by_role["family"][0]),
                                   world["elder_id"], world["provider_id"]))
        if not world.get("alarm_device_token"):
            done(**issue_demo_alarm_device(client, _login(client, by_role["officer"][0]), world["elder_id"]))
    mark_seeded(settings)
    return rows


def seed_institutions(settings: Settings, rows: list[dict], by_role: dict[str, list[dict]], world: dict,
                      done) -> None:
    """The two demo institutions, their desks, beds and residents (youfu/seed_institutions.py).
    What does not wait on anything runs side by side (the institutions and the residents, then each
    institution's beds and admission), so the demo's start-up grows by about one chain of calls."""
    gateway = gateway_url(settings)
    lock = threading.Lock()

    def record(**step) -> None:
        with lock:
            done(**step)

    def calls(work):
        def run(*args):
            with httpx.Client(base_url=gateway, timeout=30) as client:
                return work(client, *args)
        return run

    def institution(client: httpx.Client, key: str) -> None:
        record(**create_institution(client, _login(client, by_role["officer"][0]), key, HAILING))

    def resident(client: httpx.Client, key: str) -> None:
        assessors = [_login(client, a) for a in by_role["assessor"]]
        record(**{f"{key}_id": register_resident(client, _login(client, by_role["officer"][0]), assessors, key,
                                                 HAILING)})

    today = datetime.now(CITY_TZ).date()

    def move_in(client: httpx.Client, key: str, resident_key: str, desk_row: dict) -> None:
        desk, pid = _login(client, desk_row), world[f"{key}_id"]
        if not world.get(f"{key}_furnished"):
            furnish_institution(client, desk, key, pid)
            record(**{f"{key}_furnished": True})
        if not world.get(f"{resident_key}_stay_id"):
            stay = admit_resident(client, _login(client, by_role["officer"][0]), desk, resident_key,
                                  world[f"{resident_key}_id"], pid, today)
            record(**{f"{resident_key}_stay_id": stay})

    desk_rows = [r for r in rows if r["phone"] in DESK_PROVIDER_KEY]
    with ThreadPoolExecutor(max_workers=4) as pool:
        first = [pool.submit(calls(institution), key) for key, *_ in INSTITUTIONS if not world.get(f"{key}_id")]
        first += [pool.submit(calls(resident), i[10][0]) for i in INSTITUTIONS if not world.get(f"{i[10][0]}_id")]
        for f in first:
            f.result()
        asyncio.run(_create_accounts(settings, desk_rows, world))
        desk_of = {DESK_PROVIDER_KEY[r["phone"]]: r for r in desk_rows}
        for f in [pool.submit(calls(move_in), i[0], i[10][0], desk_of[f"{i[0]}_id"]) for i in INSTITUTIONS]:
            f.result()


def wait_for_vouchers(client: httpx.Client, officer: dict, elder_id: str, timeout_s: float = 30.0) -> bool:
    """The demo elder's vouchers come from the assessment event, a moment after the assessment:
    wait for them, so that when `youfu up` says READY the demo family can order with a voucher at
    once (the first orders of the fault tests did not: 409, no voucher yet). Not there in time: say
    so and go on; the event still arrives."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = client.get(f"/api/vouchers/wallets/{elder_id}", headers=officer)
        if r.status_code == 200 and r.json().get("vouchers"):
            return True
        time.sleep(0.2)
    print(f"  (the demo elder's vouchers were not issued within {timeout_s:.0f} s; they follow when the "
          "assessment event arrives)", flush=True)
    return False


def mark_seeded(settings: Settings) -> None:
    """var/.seeded: `youfu up` loads the demo data only where this is absent."""
    (settings.var_dir / MARKER).write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
