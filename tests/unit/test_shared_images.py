"""Uploaded photos (shared/images.py, used by orders' door photos and vouchers' complaint
photos): sniffing by magic bytes, the size limit at its boundary, and a re-encoding that keeps
the pixels upright and drops EXIF (with GPS), XMP and PNG text chunks."""
from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin

from shared.errors import Invalid, PayloadTooLarge
from shared.images import check_photo, clean_image, sniff_image

LIMIT = 2 * 1024 * 1024


@pytest.mark.parametrize(("head", "kind"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"\xff\xd8\xff\xe1\x00\x10Exif", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
    (b"GIF89a\x01\x00", None),
    (b"RIFF\x00\x00\x00\x00WEBP", None),
    (b"<svg xmlns=", None),
    (b"\x89PNG\r\n", None),  # cut short
    (b"", None),
])
def test_photos_are_sniffed_by_magic_bytes(head, kind):
    assert sniff_image(head) == kind


@pytest.mark.parametrize(("size", "error"), [(LIMIT, None), (LIMIT + 1, PayloadTooLarge), (0, Invalid)])
def test_the_size_limit_is_inclusive(size, error):
    data = (b"\xff\xd8\xff" + b"\0" * LIMIT)[:size]
    if error is None:
        assert check_photo(data, max_bytes=LIMIT) == "image/jpeg"
    else:
        with pytest.raises(error) as caught:
            check_photo(data, max_bytes=LIMIT)
        assert caught.value.errors[0].field == "photo"


def test_a_declared_jpeg_that_is_a_gif_is_refused():
    with pytest.raises(Invalid):
        check_photo(b"GIF89a" + b"\0" * 50, max_bytes=LIMIT)


def test_jpeg_loses_exif_and_is_turned_upright():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    exif[0x8825] = {2: (31.0, 56.0, 0.0), 4: (119.0, 55.0, 0.0)}  # GPS
    raw = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 10, 10)).save(raw, format="JPEG", exif=exif.tobytes())
    assert b"Exif" in raw.getvalue()
    clean, width, height = clean_image(raw.getvalue(), "image/jpeg")
    assert (width, height) == (20, 40)
    assert b"Exif" not in clean and not Image.open(io.BytesIO(clean)).getexif()


def test_png_loses_its_text_chunks():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Hailing district, building 3")
    raw = io.BytesIO()
    Image.new("RGBA", (8, 8)).save(raw, format="PNG", pnginfo=info)
    clean, _, _ = clean_image(raw.getvalue(), "image/png")
    assert b"tEXt" in raw.getvalue() and b"tEXt" not in clean and b"Comment" not in clean


def test_a_broken_file_is_a_field_error():
    with pytest.raises(Invalid) as caught:
        clean_image(b"\xff\xd8\xff\xe0" + b"\x13" * 50, "image/jpeg")
    assert caught.value.errors[0].field == "photo"
