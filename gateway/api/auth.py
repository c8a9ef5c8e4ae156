"""Sign-in, tokens, accounts and family links: the gateway's own routes."""
from __future__ import annotations

import time
import uuid
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from gateway import accounts
from gateway.models import AdminAction, FamilyLink, User
from gateway.runtime import Runtime
from gateway.schemas import FamilyLinkIn, LoginIn, LogoutIn, PasswordResetIn, RefreshIn, TokenOut, UserIn, UserPatch
from shared.app import Ctx, PageOffset
from shared.auth import Principal, require_role
from shared.errors import NotFound, TooManyRequests, Unauthorized

router = APIRouter(prefix="/api", tags=["accounts"])


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def gateway_principal(request: Request, rt: Runtime) -> Principal:
    """The caller, verified and checked against the live account (deleted users, signed-out sessions)."""
    return await rt.sessions.principal(request)


Caller = Annotated[Principal, Depends(gateway_principal)]


@router.post("/auth/login", response_model=TokenOut)
async def login(body: LoginIn, request: Request, ctx: Ctx, rt: Runtime) -> dict:
    now = time.monotonic()
    phone_key, addr_key = f"phone:{rt.cipher.blind_index(body.phone)}", f"addr:{client_address(request)}"
    wait = max(rt.login_by_phone.retry_after(phone_key, now), rt.login_by_address.retry_after(addr_key, now))
    if wait:
        raise TooManyRequests(f"登录尝试次数过多，请在 {wait} 秒后再试", retry_after=wait)
    try:
        user = await accounts.authenticate(ctx.db, cipher=rt.cipher, phone=body.phone, password=body.password)
        new_hash = await accounts.replacement_hash(user, body.password)
        async with ctx.db.transaction() as s:
            if new_hash:
                await accounts.store_replacement_hash(s, user=user, new_hash=new_hash)
            return await accounts.issue_tokens(s, signer=rt.signer, user=user,
                                               access_ttl_s=ctx.settings.access_token_ttl_s,
                                               refresh_ttl_s=ctx.settings.refresh_token_ttl_s, now=ctx.now())
    except Unauthorized:
        rt.login_by_phone.hit(phone_key, now)
        rt.login_by_address.hit(addr_key, now)
        raise


@router.post("/auth/refresh", response_model=TokenOut)
async def refresh(body: RefreshIn, ctx: Ctx, rt: Runtime) -> dict:
    async with ctx.db.transaction() as s:
        tokens = await accounts.rotate_refresh(s, signer=rt.signer, refresh_token=body.refresh_token,
                                               access_ttl_s=ctx.settings.access_token_ttl_s,
                                               refresh_ttl_s=ctx.settings.refresh_token_ttl_s, now=ctx.now())
    if tokens is None:  # reuse of a rotated token: the whole family was revoked and committed
        rt.sessions.forget_all()
        raise Unauthorized("登录凭证已被使用过，为安全起见已退出登录，请重新登录")
    return tokens


@router.post("/auth/logout", status_code=204)
async def logout(body: LogoutIn, request: Request, ctx: Ctx, rt: Runtime):
    claims = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        try:
            _, claims = ctx.verifier.verify_claims(auth[7:].strip())
        except Unauthorized:
            claims = None
    now = ctx.now()
    async with ctx.db.transaction() as s:
        if body.refresh_token:
            await accounts.revoke_refresh(s, refresh_token=body.refresh_token, now=now)
        if claims and accounts.is_uuid(claims.get("sid") or ""):
            await accounts.revoke_family(s, uuid.UUID(claims["sid"]), now=now)
    rt.sessions.forget_all()
    return JSONResponse(None, status_code=204)


@router.get("/auth/me")
async def me(caller: Caller, ctx: Ctx, rt: Runtime) -> dict:
    async with ctx.db.sessions() as s:
        user = await accounts.get_user(s, caller.user_id)
        return accounts.user_view(user, rt.cipher, reveal_phone=True, elders=await accounts.linked_elders(s, user))


# ---- administration: every action is written to admin_actions ----

@router.post("/admin/users", status_code=201)
async def create_user(body: UserIn, caller: Caller, ctx: Ctx, rt: Runtime) -> dict:
    require_role(caller, "admin")
    fields = body.model_dump()
    accounts.check_new_user(role=fields["role"], district_code=fields.get("district_code"),
                            provider_id=fields.get("provider_id"), password=fields["password"])
    password_hash = await accounts.hash_outside(fields["password"])
    async with ctx.db.transaction() as s:
        user = await accounts.create_user(s, cipher=rt.cipher, actor_id=caller.user_id,
                                          password_hash=password_hash, now=ctx.now(), **fields)
        return accounts.user_view(user, rt.cipher)


async def admin_caller(caller: Caller) -> Principal:
    """Admins only, checked before the query is read (a refused role learns nothing about it)."""
    require_role(caller, "admin")
    return caller


Admin = Annotated[Principal, Depends(admin_caller)]


@router.get("/admin/users")
async def list_users(caller: Admin, ctx: Ctx, rt: Runtime, role: str | None = Query(None, max_length=30),
                     limit: int = Query(100, ge=1, le=500), offset: PageOffset = 0) -> list[dict]:
    q = sa.select(User).where(User.status != "deleted").order_by(User.created_at).limit(limit).offset(offset)
    if role:
        q = q.where(User.role == role)
    async with ctx.db.transaction() as s:  # the read and its access-log row commit together
        users = list((await s.execute(q)).scalars())
        accounts.log_admin(s, caller.user_id, "list_users", role or "*", now=ctx.now())
    return [accounts.user_view(u, rt.cipher) for u in users]


@router.patch("/admin/users/{user_id}")
async def update_user(user_id: str, body: UserPatch, caller: Caller, ctx: Ctx, rt: Runtime) -> dict:
    require_role(caller, "admin")
    changes = body.model_dump(exclude_none=True)
    now = ctx.now()
    async with ctx.db.transaction() as s:
        user = await accounts.get_user(s, user_id)
        for field, value in changes.items():
            setattr(user, field, value)
        if {"role", "district_code", "provider_id", "caregiver_id", "status"} & set(changes):
            await accounts.sign_out_everywhere(s, user, now=now)  # scope changed: old tokens must not keep the old scope
        accounts.log_admin(s, caller.user_id, "update_user", user_id, ",".join(sorted(changes)), now=now)
        view = accounts.user_view(user, rt.cipher)
    rt.sessions.forget_all()
    return view


@router.post("/admin/users/{user_id}/reset-password", status_code=204)
async def reset_password(user_id: str, body: PasswordResetIn, caller: Caller, ctx: Ctx, rt: Runtime):
    require_role(caller, "admin")
    password_hash = await accounts.hash_outside(body.new_password)
    now = ctx.now()
    async with ctx.db.transaction() as s:
        user = await accounts.get_user(s, user_id)
        user.password_hash = password_hash
        await accounts.sign_out_everywhere(s, user, now=now)
        accounts.log_admin(s, caller.user_id, "reset_password", user_id, now=now)
    rt.sessions.forget_all()
    return JSONResponse(None, status_code=204)


@router.delete("/admin/users/{user_id}", status_code=204)
async def delete_user(user_id: str, caller: Caller, ctx: Ctx, rt: Runtime):
    require_role(caller, "admin")
    now = ctx.now()
    async with ctx.db.transaction() as s:
        user = await accounts.get_user(s, user_id)
        user.status = "deleted"
        await accounts.sign_out_everywhere(s, user, now=now)
        accounts.log_admin(s, caller.user_id, "delete_user", user_id, now=now)
    rt.sessions.forget_all()
    return JSONResponse(None, status_code=204)


@router.get("/admin/actions")
async def admin_actions(caller: Admin, ctx: Ctx, limit: int = Query(100, ge=1, le=1000)) -> list[dict]:
    async with ctx.db.sessions() as s:
        rows = (await s.execute(sa.select(AdminAction).order_by(AdminAction.at.desc()).limit(limit))).scalars()
        return [{"actor_id": r.actor_id, "action": r.action, "target": r.target, "detail": r.detail,
                 "at": r.at.isoformat()} for r in rows]


# ---- family links: who may order for which elder, with the elder's consent on record ----

@router.post("/family-links", status_code=201)
async def link_family(body: FamilyLinkIn, caller: Caller, ctx: Ctx) -> dict:
    require_role(caller, "admin", "officer", "city_officer")
    now = ctx.now()
    async with ctx.db.transaction() as s:
        user = await accounts.get_user(s, body.user_id)
        link = await accounts.add_family_link(s, user=user, elder_id=body.elder_id, relation=body.relation,
                                              consent_by=body.consent_by, consent_method=body.consent_method,
                                              recorded_by=caller.user_id, now=now)
        accounts.log_admin(s, caller.user_id, "link_family", f"{body.user_id}->{body.elder_id}", body.consent_method,
                          now=now)
        return _link_view(link)


@router.get("/family-links")
async def list_links(caller: Caller, ctx: Ctx) -> list[dict]:
    async with ctx.db.sessions() as s:
        q = sa.select(FamilyLink).order_by(FamilyLink.consent_at)
        if caller.role == "family":
            q = q.where(FamilyLink.user_id == uuid.UUID(caller.user_id))
        elif caller.role == "elder":
            q = q.where(FamilyLink.elder_id.in_(caller.elder_ids))
        else:
            require_role(caller, "admin", "officer", "city_officer")
        return [_link_view(x) for x in (await s.execute(q)).scalars()]


@router.delete("/family-links/{link_id}", status_code=204)
async def revoke_link(link_id: str, caller: Caller, ctx: Ctx, rt: Runtime):
    now = ctx.now()
    async with ctx.db.transaction() as s:
        try:
            link = await s.get(FamilyLink, uuid.UUID(link_id))
        except ValueError:
            link = None
        # the elder themself may withdraw consent; otherwise staff
        mine = link is not None and caller.role == "elder" and link.elder_id in caller.elder_ids
        if link is None or (not mine and caller.role not in ("admin", "officer", "city_officer")):
            raise NotFound("没有这条家属关联")
        if link.revoked_at is None:
            link.revoked_at = now
            link.revoked_by = uuid.UUID(caller.user_id) if accounts.is_uuid(caller.user_id) else None
            await accounts.sign_out_everywhere(s, await s.get(User, link.user_id), now=now)
            accounts.log_admin(s, caller.user_id, "revoke_family_link", link_id, now=now)
    rt.sessions.forget_all()
    return JSONResponse(None, status_code=204)


def _link_view(link: FamilyLink) -> dict:
    return {"id": str(link.id), "user_id": str(link.user_id), "elder_id": link.elder_id, "relation": link.relation,
            "consent_by": link.consent_by, "consent_method": link.consent_method,
            "consent_at": link.consent_at.isoformat(), "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None}
