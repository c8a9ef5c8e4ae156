"""Personal data at rest: Fernet encryption, a keyed blind index for lookups, and masks.

ID-card numbers and phones are stored encrypted; equality lookups (login by phone, duplicate
ID check) go through an HMAC of the normalised value, so the plain value is never in a column.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class PiiCipher:
    def __init__(self, key: str) -> None:
        if not key:
            raise RuntimeError("no PII key: set YOUFU_PII_KEY or run `youfu up` once")
        self._fernet = Fernet(key.encode() if isinstance(key, str) else key)
        # the blind-index key is derived, so one secret serves both and they can't be mixed up
        self._index_key = hashlib.sha256(b"youfu-blind-index:" + base64.urlsafe_b64decode(key)).digest()

    def encrypt(self, value: str | None) -> str | None:
        return None if value is None else self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise RuntimeError("PII value cannot be decrypted with the configured key") from None

    def blind_index(self, value: str) -> str:
        return hmac.new(self._index_key, value.strip().upper().encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:] if len(phone) >= 8 else "*" * len(phone)


def mask_id_number(number: str | None) -> str | None:
    if not number:
        return number
    return number[:4] + "*" * max(0, len(number) - 8) + number[-4:] if len(number) >= 9 else "*" * len(number)
