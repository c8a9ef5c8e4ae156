"""Tokens and principals.

The gateway signs access tokens with its Ed25519 private key; every service verifies them
with the public key only. A service calling another carries its own service token (role
`service`), minted at deploy time by whoever holds the private key.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.errors import Forbidden, Unauthorized

ISSUER = "youfu-gateway"
AUDIENCE = "youfu"
ALGORITHM = "EdDSA"

LEEWAY_S = 5
VERIFIED_CACHE_SIZE = 10_000
# operator (坐席): the 12349 hotline desk, city-wide (no district) or one district's (docs/decisions.md D57)
ROLES = ("elder", "family", "caregiver", "provider_admin", "assessor", "officer", "city_officer", "admin", "service",
         "operator")


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str
    district: str | None = None
    provider_id: str | None = None
    elder_ids: tuple[str, ...] = field(default_factory=tuple)
    caregiver_id: str | None = None

    @property
    def is_service(self) -> bool:
        return self.role == "service"

    def claims(self) -> dict:
        return {"sub": self.user_id, "role": self.role, "district": self.district,
                "provider_id": self.provider_id, "elders": list(self.elder_ids), "caregiver_id": self.caregiver_id}


def generate_keypair() -> tuple[str, str]:
    """(private PEM, public PEM) for a fresh Ed25519 key."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


class TokenSigner:
    def __init__(self, private_key_pem: str) -> None:
        if not private_key_pem:
            raise RuntimeError("no signing key: set YOUFU_JWT_PRIVATE_KEY or run `youfu up` once")
        self._key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)

    def sign(self, principal: Principal, *, ttl: timedelta, token_type: str = "access", extra: dict | None = None) -> str:
        now = datetime.now(timezone.utc)
        claims = principal.claims() | {
            "iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + ttl,
            "jti": uuid.uuid4().hex, "typ": token_type, "iat_ms": int(now.timestamp() * 1000),
        } | (extra or {})
        return jwt.encode({k: v for k, v in claims.items() if v is not None}, self._key, algorithm=ALGORITHM)


class TokenVerifier:
    """Checks a token's signature and claims. A token that passed is remembered until it expires:
    a client sends the same access token with every call for its whole life, and decoding and
    verifying it again each time cost 0.13-0.2 ms of CPU a call in every process on the way
    (gateway, then the service). The key is the whole token, signature included, so only the
    very same bytes hit; expiry is checked again on every hit. Revocation is not this class's
    business: the gateway's session check (gateway/sessions.py) runs on every call regardless."""

    def __init__(self, public_key_pem: str) -> None:
        if not public_key_pem:
            raise RuntimeError("no public key: set YOUFU_JWT_PUBLIC_KEY or run `youfu up` once")
        self._key = serialization.load_pem_public_key(public_key_pem.encode())
        self._verified: dict[str, tuple[float, Principal, dict]] = {}  # token -> (exp, principal, claims)

    def verify(self, token: str) -> Principal:
        return self.verify_claims(token)[0]

    def verify_claims(self, token: str) -> tuple[Principal, dict]:
        hit = self._verified.get(token)
        if hit is not None:
            if time.time() <= hit[0] + LEEWAY_S:
                return hit[1], hit[2]
            del self._verified[token]
            raise Unauthorized("登录已过期，请重新登录")
        principal, claims = self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()  # crude, and enough: a burst of new tokens costs one verify each
        self._verified[token] = (float(claims["exp"]), principal, claims)
        return principal, claims

    def verify_typed(self, token: str, token_type: str) -> tuple[Principal, dict]:
        """A token of one other type (the gateway's notices ticket, `typ` = `token_type`): the same
        checks, that type only. Not cached. Such a token is refused by `verify` everywhere else."""
        return self._verify(token, types=(token_type,))

    def _verify(self, token: str, types: tuple[str, ...] = ("access", "service")) -> tuple[Principal, dict]:
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                                options={"require": ["exp", "sub", "iss", "aud"]}, leeway=LEEWAY_S)
        except jwt.ExpiredSignatureError:
            raise Unauthorized("登录已过期，请重新登录") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("登录凭证无效，请重新登录") from None
        if claims.get("typ", "access") not in types:
            raise Unauthorized("登录凭证无效，请重新登录")
        role = claims.get("role")
        if role not in ROLES:
            raise Unauthorized("登录凭证无效，请重新登录")
        principal = Principal(user_id=str(claims["sub"]), role=role, district=claims.get("district"),
                              provider_id=claims.get("provider_id"), elder_ids=tuple(claims.get("elders") or ()),
                              caregiver_id=claims.get("caregiver_id"))
        return principal, claims


def require_role(principal: Principal, *roles: str) -> Principal:
    if principal.role not in roles and principal.role != "admin":
        raise Forbidden("当前账号没有权限进行此操作")
    return principal


def service_principal(service: str) -> Principal:
    return Principal(user_id=f"svc:{service}", role="service")
