"""Pure rules of the meal codes (issue 23): sign, parse and verify the elder's dynamic code and the
printed card code, and decide whether a dynamic code was valid when it was scanned.

The format (docs/decisions.md, "Meals at the counter"): 35 bytes

    kind (1: 0x01 dynamic, 0x02 card) | elder_id (16) | nonce (6) | issued_at (4, Unix seconds, big-endian) | mac (8)

where mac = HMAC-SHA256(key, b"youfu-meal-code:" + the first 27 bytes), first 8 bytes. The text is
"YF1-" and the 56 base32 letters (RFC 4648, no padding: 35 bytes are 56 letters) in groups of 4,
73 characters: a version-2 QR code, and typeable from the screen. Reading a typed code forgives
case, spaces, dashes, and the digits people type for the letters they look like (0→O, 1→I, 8→B).

A dynamic code's nonce is its code id: the redemption stores `code_id` (elder + nonce) under a
unique index, so a code is used once; replay is the caller's unique key, not a rule here. A card's
nonce is its serial, looked up (revocable) by the caller.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from shared.errors import Conflict, invalid_field

PREFIX = "YF1"
DYNAMIC, CARD = 0x01, 0x02
_BODY = struct.Struct(">B16s6sI")  # kind, elder id, nonce, issued_at
_MAC_BYTES = 8
_RAW_BYTES = _BODY.size + _MAC_BYTES  # 35
_LETTERS = _RAW_BYTES * 8 // 5  # 56
_DOMAIN = b"youfu-meal-code:"
_TYPED_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})

EXPIRED_ZH = "已过期，请刷新"
USED_ZH = "已使用"


@dataclass(frozen=True)
class MealCode:
    kind: int  # DYNAMIC | CARD
    elder_id: uuid.UUID
    nonce: str  # 12 hex digits: the dynamic code's id within the elder, or the card's serial
    issued_at: datetime  # aware UTC, whole seconds

    @property
    def static(self) -> bool:
        return self.kind == CARD

    @property
    def code_id(self) -> str:
        """What the unique index of redemptions holds for a dynamic code: 44 hex digits."""
        return self.elder_id.hex + self.nonce


def _mac(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, _DOMAIN + body, hashlib.sha256).digest()[:_MAC_BYTES]


def sign_code(key: bytes, *, kind: int, elder_id: uuid.UUID, nonce: bytes, issued_at: datetime) -> str:
    """The text form of a code. `nonce`: 6 random bytes (the caller's `secrets.token_bytes(6)`)."""
    if kind not in (DYNAMIC, CARD) or len(nonce) != 6:
        raise ValueError("a meal code is of kind DYNAMIC or CARD with a 6-byte nonce")
    body = _BODY.pack(kind, elder_id.bytes, nonce, int(issued_at.timestamp()))
    letters = base64.b32encode(body + _mac(key, body)).decode()
    return "-".join([PREFIX, *(letters[i:i + 4] for i in range(0, _LETTERS, 4))])


def _malformed() -> Exception:
    return invalid_field("code", "码的格式不正确", "无法识别这个助餐码，请重新扫码或核对输入")


def parse_code(text: str) -> tuple[bytes, bytes]:
    """(body, mac) of a code's text, or 422 when it is not a meal code at all."""
    if not isinstance(text, str) or len(text) > 200:
        raise _malformed()
    compact = "".join(text.split()).replace("-", "").upper().translate(_TYPED_LOOKALIKES)
    prefix = PREFIX.translate(_TYPED_LOOKALIKES)  # "YF1" reads as "YFI" once the lookalikes are mapped
    if not compact.startswith(prefix):
        raise _malformed()
    letters = compact[len(prefix):]
    if len(letters) != _LETTERS:
        raise _malformed()
    try:
        raw = base64.b32decode(letters)
    except (binascii.Error, ValueError):
        raise _malformed() from None
    body, mac = raw[:_BODY.size], raw[_BODY.size:]
    if body[0] not in (DYNAMIC, CARD):
        raise _malformed()
    return body, mac


def verify_code(key: bytes, text: str) -> MealCode:
    """The code, once its signature checks out: 422 when malformed or forged (no expiry here)."""
    body, mac = parse_code(text)
    if not hmac.compare_digest(mac, _mac(key, body)):
        raise invalid_field("code", "码无效", "这个助餐码无效（签名不符），请让老人重新出示")
    kind, elder, nonce, issued = _BODY.unpack(body)
    return MealCode(kind=kind, elder_id=uuid.UUID(bytes=elder), nonce=nonce.hex(),
                    issued_at=datetime.fromtimestamp(issued, timezone.utc))


@dataclass(frozen=True)
class ScanLimits:
    lifetime_s: int  # a dynamic code is valid this long after it is issued, both ends included
    clock_skew_s: int  # how far the counter's clock may run ahead of the server's (or behind the issuer's)
    sync_grace_h: int  # how late an offline scan may still be synced


def check_scan(code: MealCode, *, scanned_at: datetime, now: datetime, limits: ScanLimits) -> None:
    """Whether a dynamic code was valid at `scanned_at` (the counter's clock), judged at `now`:
    a scan in the future beyond the skew → 422; a scan older than the sync grace → 409; the code
    older than its lifetime at the scan → 409 "已过期，请刷新". A code valid at its scan is honoured
    however late it is synced within the grace (the counter was offline). Cards never expire."""
    if scanned_at.tzinfo is None:
        raise invalid_field("scanned_at", "请带上时区")
    if scanned_at > now + timedelta(seconds=limits.clock_skew_s):
        raise invalid_field("scanned_at", "扫码时间晚于服务器时间",
                            "扫码时间晚于当前时间，请校准收银设备的时钟后重试")
    if scanned_at < now - timedelta(hours=limits.sync_grace_h):
        raise Conflict(f"这条扫码记录已超过 {limits.sync_grace_h} 小时，不能再补录", scanned_at=scanned_at.isoformat())
    if code.static:
        return
    age = scanned_at - code.issued_at
    if age > timedelta(seconds=limits.lifetime_s):
        raise Conflict(EXPIRED_ZH, expired_at=(code.issued_at + timedelta(seconds=limits.lifetime_s)).isoformat())
    if age < -timedelta(seconds=limits.clock_skew_s):
        raise invalid_field("scanned_at", "扫码时间早于出码时间", "扫码时间早于助餐码生成的时间，请校准收银设备的时钟")
