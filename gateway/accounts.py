"""Accounts, sign-in and tokens: use cases, one transaction each."""
from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import AdminAction, FamilyLink, RefreshToken, User
from shared.auth import ROLES, Principal, TokenSigner
from shared.city import DISTRICTS
from shared.db import Database
from shared.errors import Conflict, FieldError, Invalid, NotFound, Unauthorized
from shared.pii import PiiCipher, mask_phone

# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane) rather than the library's
# RFC 9106 low-memory profile (64 MiB, 3 passes, 4 lanes): 49 ms a hash here instead of 207, and
# 19 MiB instead of 64 per sign-in in flight, which decides how many a morning peak can take at
# once. Hashes made with other parameters still verify and are re-made at the next sign-in.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
_DUMMY_HASH = _hasher.hash("timing-equaliser")
USER_ROLES = tuple(r for r in ROLES if r != "service")
NEEDS_DISTRICT = {"officer", "assessor"}
NEEDS_PROVIDER = {"provider_admin", "caregiver"}
# an operator (坐席) is city-wide without a district, one district's with it; never a provider's
MAY_HAVE_DISTRICT = {"operator"}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_new_user(*, role: str, district_code: str | None, provider_id: str | None, password: str) -> None:
    errors = []
    if role not in USER_ROLES:
        errors.append(FieldError("role", "不是可选的角色"))
    if role in NEEDS_DISTRICT and not district_code:
        errors.append(FieldError("district_code", "此角色必须指定所属区县"))
    if role in NEEDS_PROVIDER and not provider_id:
        errors.append(FieldError("provider_id", "此角色必须指定所属服务商"))
    if role in MAY_HAVE_DISTRICT and district_code and district_code not in DISTRICTS:
        errors.append(FieldError("district_code", "不是本市的区县代码"))
    if role in MAY_HAVE_DISTRICT and provider_id:
        errors.append(FieldError("provider_id", "坐席账号不属于服务商"))
    if len(password) < 8:
        errors.append(FieldError("password", "密码至少 8 位"))
    if errors:
        raise Invalid("账号信息有误，请按提示修改", errors=errors)


async def create_user(s: AsyncSession, *, cipher: PiiCipher, phone: str, password: str, role: str, display_name: str,
                      now: datetime, district_code: str | None = None, provider_id: str | None = None,
                      caregiver_id: str | None = None, elder_id: str | None = None, actor_id: str | None = None,
                      password_hash: str | None = None) -> User:
    """`password_hash`: hashed by the caller before its transaction began (see `hash_outside`)."""
    check_new_user(role=role, district_code=district_code, provider_id=provider_id, password=password)
    index = cipher.blind_index(phone)
    if (await s.execute(sa.select(User.id).where(User.phone_index == index))).first():
        raise Conflict("这个手机号已经注册过账号", errors=[FieldError("phone", "手机号已被使用")])
    user = User(phone_index=index, phone_enc=cipher.encrypt(phone), display_name=display_name,
                password_hash=password_hash or await asyncio.to_thread(hash_password, password), role=role,
                district_code=district_code,
                provider_id=provider_id, caregiver_id=caregiver_id, elder_id=elder_id, status="active",
                tokens_valid_after=now - timedelta(seconds=1), created_at=now, updated_at=now)
    s.add(user)
    await s.flush()
    if actor_id:
        log_admin(s, actor_id, "create_user", str(user.id), f"role={role}", now=now)
    return user


def log_admin(s: AsyncSession, actor_id: str, action: str, target: str, detail: str = "", *, now: datetime) -> None:
    s.add(AdminAction(actor_id=actor_id, action=action, target=target, detail=detail, at=now))


async def linked_elders(s: AsyncSession, user: User) -> tuple[str, ...]:
    if user.role == "elder":
        return (user.elder_id,) if user.elder_id else ()
    if user.role != "family":
        return ()
    rows = await s.execute(sa.select(FamilyLink.elder_id).where(FamilyLink.user_id == user.id,
                                                                FamilyLink.revoked_at.is_(None)))
    return tuple(sorted(set(rows.scalars())))


async def principal_for(s: AsyncSession, user: User) -> Principal:
    return Principal(user_id=str(user.id), role=user.role, district=user.district_code, provider_id=user.provider_id,
                     elder_ids=await linked_elders(s, user), caregiver_id=user.caregiver_id)


async def hash_outside(password: str) -> str:
    """argon2 takes a tenth of a second or more on purpose: hashed off the event loop (one sign-in
    must not stall every request the gateway is proxying) and before any transaction begins (on
    SQLite a write transaction holds the database's one write lock; on PostgreSQL a pooled
    connection would sit idle in a transaction meanwhile)."""
    return await asyncio.to_thread(hash_password, password)


async def authenticate(db: Database, *, cipher: PiiCipher, phone: str, password: str) -> User:
    """The account for this phone and password, read in a read-only session and checked after it
    (see `hash_outside`); the caller issues tokens in a transaction of its own."""
    async with db.sessions() as s:
        user = (await s.execute(sa.select(User).where(User.phone_index == cipher.blind_index(phone)))).scalar_one_or_none()
    try:
        await asyncio.to_thread(_hasher.verify, user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("手机号或密码不正确") from None
    if user is None or user.status != "active":
        raise Unauthorized("手机号或密码不正确")
    return user


async def replacement_hash(user: User, password: str) -> str | None:
    """After a good sign-in: a new hash when the stored one was made with older parameters (made
    before the caller's transaction, see `hash_outside`), else None."""
    return await hash_outside(password) if _hasher.check_needs_rehash(user.password_hash) else None


async def store_replacement_hash(s: AsyncSession, *, user: User, new_hash: str) -> None:
    # only over the hash that was checked: a password changed meanwhile stays changed
    await s.execute(sa.update(User).where(User.id == user.id, User.password_hash == user.password_hash)
                    .values(password_hash=new_hash))


async def issue_tokens(s: AsyncSession, *, signer: TokenSigner, user: User, access_ttl_s: int, refresh_ttl_s: int,
                       now: datetime, family_id: uuid.UUID | None = None) -> dict:
    refresh = secrets.token_urlsafe(32)
    family_id = family_id or uuid.uuid4()
    s.add(RefreshToken(token_hash=_token_hash(refresh), family_id=family_id, user_id=user.id,
                       issued_at=now, expires_at=now + timedelta(seconds=refresh_ttl_s), used_at=None, revoked_at=None))
    access = signer.sign(await principal_for(s, user), ttl=timedelta(seconds=access_ttl_s),
                         extra={"sid": str(family_id)})
    return {"access_token": access, "refresh_token": refresh, "token_type": "bearer", "expires_in": access_ttl_s}


async def rotate_refresh(s: AsyncSession, *, signer: TokenSigner, refresh_token: str, access_ttl_s: int,
                         refresh_ttl_s: int, now: datetime) -> dict | None:
    """Returns new tokens, or None when the token was reused (the caller then commits the family's
    revocation and answers 401: the stolen and the genuine copy are both dead)."""
    row = (await s.execute(sa.select(RefreshToken).where(RefreshToken.token_hash == _token_hash(refresh_token))
                           .with_for_update())).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise Unauthorized("登录已失效，请重新登录")
    if row.used_at is not None:
        await revoke_family(s, row.family_id, now=now)
        return None
    user = await s.get(User, row.user_id)
    if user is None or user.status != "active":
        raise Unauthorized("登录已失效，请重新登录")
    row.used_at = now
    return await issue_tokens(s, signer=signer, user=user, access_ttl_s=access_ttl_s, refresh_ttl_s=refresh_ttl_s,
                              now=now, family_id=row.family_id)


async def revoke_refresh(s: AsyncSession, *, refresh_token: str, now: datetime) -> None:
    row = (await s.execute(sa.select(RefreshToken).where(RefreshToken.token_hash == _token_hash(refresh_token)))
           ).scalar_one_or_none()
    if row is not None:
        await revoke_family(s, row.family_id, now=now)


async def revoke_family(s: AsyncSession, family_id: uuid.UUID, *, now: datetime) -> None:
    """End one sign-in: its refresh token and every rotation of it (the gateway's session check
    then refuses access tokens carrying this family as `sid`)."""
    await s.execute(sa.update(RefreshToken).where(RefreshToken.family_id == family_id,
                                                  RefreshToken.revoked_at.is_(None)).values(revoked_at=now))


async def sign_out_everywhere(s: AsyncSession, user: User, *, now: datetime) -> None:
    user.tokens_valid_after = now
    user.updated_at = now
    await s.execute(sa.update(RefreshToken).where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=now))


async def get_user(s: AsyncSession, user_id: str) -> User:
    try:
        uid = uuid.UUID(str(user_id))
    except ValueError:
        raise NotFound("没有这个账号") from None
    user = await s.get(User, uid)
    if user is None or user.status == "deleted":
        raise NotFound("没有这个账号")
    return user


def user_view(user: User, cipher: PiiCipher, *, reveal_phone: bool = False, elders: tuple[str, ...] = ()) -> dict:
    phone = cipher.decrypt(user.phone_enc)
    return {"id": str(user.id), "phone": phone if reveal_phone else mask_phone(phone), "display_name": user.display_name,
            "role": user.role, "district_code": user.district_code, "provider_id": user.provider_id,
            "caregiver_id": user.caregiver_id, "elder_id": user.elder_id, "elder_ids": list(elders),
            "status": user.status, "created_at": user.created_at.isoformat()}


async def add_family_link(s: AsyncSession, *, user: User, elder_id: str, relation: str, consent_by: str,
                          consent_method: str, recorded_by: str, now: datetime) -> FamilyLink:
    if user.role != "family":
        raise Invalid("只有家属账号可以关联老人", errors=[FieldError("user_id", "该账号不是家属账号")])
    existing = (await s.execute(sa.select(FamilyLink).where(FamilyLink.user_id == user.id, FamilyLink.elder_id == elder_id,
                                                             FamilyLink.revoked_at.is_(None)))).scalar_one_or_none()
    if existing:
        raise Conflict("该家属已关联这位老人")
    link = FamilyLink(user_id=user.id, elder_id=elder_id, relation=relation, consent_by=consent_by,
                      consent_method=consent_method, consent_at=now, recorded_by=uuid.UUID(recorded_by)
                      if is_uuid(recorded_by) else uuid.uuid5(uuid.NAMESPACE_URL, recorded_by), revoked_at=None,
                      revoked_by=None)
    s.add(link)
    await s.flush()
    return link


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return False


def token_still_valid(user: User | None, issued_at_ms: int) -> bool:
    return (user is not None and user.status == "active"
            and issued_at_ms >= int(user.tokens_valid_after.timestamp() * 1000))
