"""Development keys under var/keys (generated once). Production passes them as secrets."""
from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet

from shared.auth import TokenSigner, generate_keypair, service_principal


def ensure_dev_keys(var_dir: Path) -> Path:
    keys = var_dir / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    private, public = keys / "jwt_private.pem", keys / "jwt_public.pem"
    if not private.exists() or not public.exists():
        priv, pub = generate_keypair()
        private.write_text(priv)
        public.write_text(pub)
        private.chmod(0o600)
    pii = keys / "pii.key"
    if not pii.exists():
        pii.write_bytes(Fernet.generate_key())
        pii.chmod(0o600)
    meal_code = keys / "meal_code.key"  # the orders service's meal-code HMAC key (issue 23)
    if not meal_code.exists():
        meal_code.write_text(secrets.token_urlsafe(32))
        meal_code.chmod(0o600)
    return keys


def mint_service_token(private_pem: str, service: str, *, days: int = 365) -> str:
    return TokenSigner(private_pem).sign(service_principal(service), ttl=timedelta(days=days), token_type="service")
