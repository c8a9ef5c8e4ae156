"""Uploaded photos (at the door, with a complaint): what the file is by its first bytes, the size
and type limits, and a re-encoding with Pillow that keeps nothing but the pixels. The one copy:
orders' door photos and vouchers' complaint photos both use it; where the blob then goes is
`shared/storage.py`.

    kind = check_photo(data, max_bytes=2 * 1024 * 1024)              # 413 / 422 (field `photo`)
    clean, width, height = await asyncio.to_thread(clean_image, data, kind)

No I/O here (the caller reads the upload and stores the result): Pillow decodes in memory.
"""
from __future__ import annotations

import io

from shared.errors import FieldError, Invalid, PayloadTooLarge, invalid_field

MAX_PIXELS = 40_000_000  # a bigger picture in 2 MB is a decompression bomb, not a photo
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}


def sniff_image(head: bytes) -> str | None:
    """"image/jpeg" or "image/png" by the file's magic bytes, else None (whatever its name or
    declared type)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def check_photo(data: bytes, *, max_bytes: int, field: str = "photo") -> str:
    """413 past the size limit, 422 when empty or not JPEG/PNG by its first bytes; else the
    content type."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"照片太大（上限 {_mb(max_bytes)}），请压缩后再上传",
                              errors=[FieldError(field, f"照片不能超过 {_mb(max_bytes)}")], limit_bytes=max_bytes)
    if not data:
        raise invalid_field(field, "请选择要上传的照片")
    kind = sniff_image(data[:16])
    if kind is None:
        raise Invalid("只能上传 JPEG 或 PNG 格式的照片", errors=[FieldError(field, "照片须为 JPEG 或 PNG 格式")])
    return kind


def clean_image(data: bytes, content_type: str, *, field: str = "photo") -> tuple[bytes, int, int]:
    """Re-encode the picture with Pillow so nothing but pixels is kept (EXIF with GPS, XMP, ICC,
    comments, text chunks): upright as the camera meant (EXIF orientation applied first).
    CPU-bound: run it in a worker thread."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise invalid_field(field, "照片像素过大，请用手机相机的普通尺寸拍照")
            img.load()
            upright = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise invalid_field(field, "照片文件已损坏或不完整，请重新拍照") from None
    out = io.BytesIO()
    if content_type == "image/jpeg":
        pixels = upright if upright.mode in ("RGB", "L") else upright.convert("RGB")
        pixels.save(out, format="JPEG", quality=85, optimize=True)  # no exif=, icc_profile=: none written
    else:
        pixels = upright if upright.mode in ("RGB", "RGBA", "L", "LA", "P") else upright.convert("RGBA")
        pixels.save(out, format="PNG", optimize=True)  # no pnginfo=, exif=: no text or eXIf chunk
    return out.getvalue(), upright.width, upright.height
