"""A report photo loses its metadata before it is stored (services/community/photos.py): crafted JPEG, PNG and
WebP files carrying a GPS position come out without it, still decode to the same pixels, and keep the orientation
(JPEG) they need to be shown the right way up."""
from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from shared.errors import Unprocessable
from shared.testing import (CAMERA_MAKE, GPS_LATITUDE, GPS_LONGITUDE, XMP_GPS, exif_with_gps, jpeg_segment,
                            jpeg_with_gps, png_with_gps, tiny_png)
from services.community.photos import exif_orientation, strip_metadata
from services.community.reports import accept_photo

GPS_IFD = 0x8825
LEAKS = (GPS_LATITUDE, GPS_LONGITUDE, CAMERA_MAKE, b"xmpmeta", b"Photoshop", b"trailer")


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _assert_clean(data: bytes) -> None:
    for leak in LEAKS:
        assert leak not in data, leak


def test_the_crafted_jpeg_really_carries_a_gps_position():
    exif = _decoded(jpeg_with_gps()).getexif()
    gps = exif.get_ifd(GPS_IFD)
    assert gps[1] == "N" and [float(v) for v in gps[2]] == [31.0, 14.0, 12.34] and exif[0x0112] == 6
    assert exif[0x010F] == CAMERA_MAKE[:-1].decode()


def test_a_jpeg_loses_exif_gps_xmp_iptc_comment_and_trailer_but_keeps_its_pixels_and_orientation():
    photo = jpeg_with_gps(orientation=6)
    clean = strip_metadata(photo, "image/jpeg")
    _assert_clean(clean)
    image = _decoded(clean)
    assert image.format == "JPEG" and image.size == (16, 8)
    assert image.tobytes() == _decoded(photo).tobytes()            # not re-encoded: the very same pixels
    exif = image.getexif()
    assert dict(exif) == {0x0112: 6} and not exif.get_ifd(GPS_IFD)  # the orientation, and nothing else
    assert "xmp" not in image.info and clean.endswith(b"\xff\xd9")


def test_an_upright_jpeg_keeps_no_exif_at_all():
    clean = strip_metadata(jpeg_with_gps(orientation=1), "image/jpeg")
    assert b"Exif" not in clean and not _decoded(clean).getexif()


def test_what_decoding_needs_stays_icc_profile_and_jfif_and_a_progressive_jpeg_keeps_every_scan():
    icc = b"\x00\x00\x02\x0cfake-icc-profile-bytes" * 4
    photo = jpeg_with_gps(32, 32, icc_profile=icc, progressive=True)
    clean = strip_metadata(photo, "image/jpeg")
    _assert_clean(clean)
    image = _decoded(clean)
    assert image.info["icc_profile"] == icc and image.info.get("progressive") and b"JFIF\x00" in clean
    assert image.tobytes() == _decoded(photo).tobytes()


def test_a_photo_without_metadata_comes_out_byte_for_byte():
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, "JPEG")
    assert strip_metadata(out.getvalue(), "image/jpeg") == out.getvalue()
    assert strip_metadata(tiny_png(3, 2), "image/png") == tiny_png(3, 2)


@pytest.mark.parametrize("tiff, orientation", [
    (exif_with_gps(8), 8), (exif_with_gps(1), 1), (exif_with_gps(9), None),       # 9 is no orientation
    (b"II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x03\x00\x00\x00", 3),  # little-endian
    (b"MM\x00\x2a\x00\x00\xff\xff", None), (b"XX", None), (b"", None)])           # broken EXIF: no orientation
def test_the_orientation_is_read_from_either_byte_order_and_broken_exif_yields_none(tiff, orientation):
    assert exif_orientation(tiff) == orientation


def test_a_jpeg_with_broken_exif_is_stored_without_it():
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, "JPEG")
    photo = out.getvalue()
    broken = photo[:2] + jpeg_segment(0xE1, b"Exif\x00\x00MM\x00\x2a\xff\xff\xff\xff" + GPS_LATITUDE) + photo[2:]
    clean = strip_metadata(broken, "image/jpeg")
    _assert_clean(clean)
    assert clean == photo and dict(_decoded(clean).getexif()) == {}


def test_a_png_loses_exif_and_text_chunks_and_still_decodes():
    photo = png_with_gps(3, 2)
    assert _decoded(photo).getexif().get_ifd(GPS_IFD)                  # the crafted PNG does carry it
    clean = strip_metadata(photo, "image/png")
    _assert_clean(clean)
    for chunk in (b"eXIf", b"tEXt", b"zTXt", b"tIME"):
        assert chunk not in clean
    assert clean == tiny_png(3, 2) and _decoded(clean).tobytes() == _decoded(photo).tobytes()


def test_a_webp_loses_its_exif_and_xmp_chunks_and_their_flags():
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 10)).save(out, "WEBP", lossless=True, exif=b"Exif\x00\x00" + exif_with_gps(),
                                                 xmp=XMP_GPS[29:])
    photo = out.getvalue()
    assert _decoded(photo).getexif().get_ifd(GPS_IFD) and b"VP8X" in photo
    clean = strip_metadata(photo, "image/webp")
    _assert_clean(clean)
    assert b"EXIF" not in clean and b"XMP " not in clean
    assert clean[20] & 0x0C == 0 and struct.unpack("<I", clean[4:8])[0] == len(clean) - 8
    image = _decoded(clean)
    assert not image.getexif() and image.tobytes() == _decoded(photo).tobytes()


@pytest.mark.parametrize("data, media_type", [
    (b"\xff\xd8\xff\xe1\x40\x00Exif\x00\x00", "image/jpeg"),            # a segment longer than the file
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 9 + b"\xff\xd9", "image/jpeg"),  # headers and no image
    (b"\xff\xd8\xff" + b"\x00" * 64, "image/jpeg"),                      # no marker where one must be
    (tiny_png()[:40], "image/png"),                                        # cut off in a chunk
    (b"RIFF\x20\x00\x00\x00WEBPVP8X\xff\x00\x00\x00", "image/webp")])
def test_a_photo_whose_structure_cannot_be_followed_is_refused(data, media_type):
    with pytest.raises(Unprocessable) as refused:
        strip_metadata(data, media_type)
    assert refused.value.code == "photo_unreadable" and refused.value.status == 422


def test_accept_photo_types_by_content_then_strips():
    media_type, data = accept_photo(jpeg_with_gps())
    assert media_type == "image/jpeg"
    _assert_clean(data)
