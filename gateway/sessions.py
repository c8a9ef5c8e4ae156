"""Is this token's account and session still alive? Checked by the gateway on every call,
cached for a couple of seconds so the check costs one query per session, not per request."""
from __future__ import annotations

import time
import uuid

import sqlalchemy as sa
from fastapi import Request

from gateway.accounts import token_still_valid
from gateway.models import RefreshToken, User
from shared.auth import Principal, TokenVerifier
from shared.db import Database
from shared.errors import Unauthorized


class SessionChecker:
    def __init__(self, db: Database, verifier: TokenVerifier, ttl_s: float = 2.0) -> None:
        self.db = db
        self.verifier = verifier
        self.ttl_s = ttl_s
        self._cache: dict[tuple[str, str, int], tuple[float, bool]] = {}

    def forget_all(self) -> None:
        self._cache.clear()

    async def principal(self, request: Request) -> Principal:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            raise Unauthorized("请先登录")
        principal, claims = self.verifier.verify_claims(auth[7:].strip())
        if principal.is_service:
            return principal
        key = (principal.user_id, claims.get("sid", ""), int(claims.get("iat_ms", 0)))
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is None or hit[0] < now:
            alive = await self._alive(*key)
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[key] = (now + self.ttl_s, alive)
            hit = self._cache[key]
        if not hit[1]:
            raise Unauthorized("登录已失效，请重新登录")
        return principal

    async def alive(self, principal: Principal, claims: dict) -> bool:
        """Is the session behind these claims still alive (a notices ticket carries its access token's)?"""
        return await self._alive(principal.user_id, claims.get("sid", ""), int(claims.get("iat_ms", 0)))

    async def _alive(self, user_id: str, sid: str, iat_ms: int) -> bool:
        try:
            uid = uuid.UUID(user_id)
        except ValueError:
            return False
        async with self.db.sessions() as s:
            user = await s.get(User, uid)
            if not token_still_valid(user, iat_ms):
                return False
            if sid:
                revoked = (await s.execute(sa.select(RefreshToken.id).where(
                    RefreshToken.family_id == uuid.UUID(sid), RefreshToken.revoked_at.is_not(None)).limit(1))).first()
                if revoked is not None:
                    return False
        return True
