"""A report photo without the metadata a camera or a phone writes into it. Pure: bytes in, bytes out, no I/O.

A resident's photo of a blocked fire exit may carry where it was taken (EXIF GPS: often their own building),
when, with which phone, its owner's name, an editing history (XMP), a thumbnail of the uncropped picture. None of
that is the report's business, and the grid worker and the admin who read the photo must not learn it, so every
photo is rewritten before it is stored (`strip_metadata`):

- **JPEG**: every APPn segment goes (APP1 Exif and XMP, APP13 Photoshop/IPTC, APP2 FlashPix and MPF…) and every
  COM comment, except what decoding and display need: APP0 JFIF/JFXX (pixel density), APP2 ICC_PROFILE (colours)
  and APP14 Adobe (the colour transform of CMYK/YCCK data). Anything after the end of the image (a phone's
  trailer, a second picture, a motion-photo video) goes too.

  **Orientation is kept, only it**: a phone stores a picture as its sensor saw it and says in EXIF Orientation
  (tag 0x0112) how to turn it; browsers honour that tag, so dropping it would show many photos sideways.
  Applying the rotation instead would mean decoding and re-encoding the JPEG (a second lossy compression, and the
  CPU of a decoder on the web tier) or lossless DCT transforms that only work on whole MCU blocks. So when the
  photo's EXIF has an orientation other than 1 (already upright), it is written back as a fresh, minimal Exif
  segment holding that one tag and nothing else; no other EXIF byte of the upload survives.
- **PNG**: the eXIf, tEXt, iTXt, zTXt and tIME chunks go, and anything after IEND.
- **WebP**: the EXIF and XMP chunks go (and their flags in the VP8X header); the RIFF size is recomputed.

No pixel is decoded or re-encoded: the image data is copied byte for byte, so quality and size stay as uploaded.
A photo whose structure cannot be followed (a segment or chunk running past the end of the file) is refused
(422 `photo_unreadable`): what cannot be parsed cannot be known to be clean.
"""
from __future__ import annotations

import struct

from shared.errors import Unprocessable

# -- JPEG -------------------------------------------------------------------------------------------------
SOI, EOI, SOS, COM = 0xD8, 0xD9, 0xDA, 0xFE
APP0, APP1, APP2, APP14, APP15 = 0xE0, 0xE1, 0xE2, 0xEE, 0xEF
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0-7 carry no length
# APPn segments decoding needs, by marker and the identifier their payload starts with.
_JPEG_KEEP = {APP0: (b"JFIF\x00", b"JFXX\x00"), APP2: (b"ICC_PROFILE\x00",), APP14: (b"Adobe",)}
EXIF_ID = b"Exif\x00\x00"
ORIENTATION_TAG = 0x0112

# -- PNG / WebP ---------------------------------------------------------------------------------------------
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_DROP = {b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"}
WEBP_DROP = {b"EXIF", b"XMP "}
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def unreadable() -> Unprocessable:
    return Unprocessable("照片已损坏，无法读取。 The photo is damaged and cannot be read.", code="photo_unreadable")


def strip_metadata(data: bytes, media_type: str) -> bytes:
    """The photo (`media_type` as `reports.photo_type` found it) without its metadata; see the module's text."""
    strip = {"image/jpeg": _strip_jpeg, "image/png": _strip_png, "image/webp": _strip_webp}[media_type]
    try:
        return strip(data)
    except (IndexError, struct.error):
        raise unreadable() from None


def _strip_jpeg(data: bytes) -> bytes:
    out, pos, end, orientation, scanned = bytearray(data[:2]), 2, len(data), None, False
    if data[:2] != b"\xff\xd8":
        raise unreadable()
    while pos < end:
        if data[pos] != 0xFF:
            raise unreadable()
        while pos < end and data[pos] == 0xFF:   # fill bytes before a marker
            pos += 1
        marker = data[pos]
        pos += 1
        if marker == EOI:
            if not scanned:
                raise unreadable()
            out += b"\xff\xd9"
            return bytes(out)                    # what follows the image is not the image
        if marker in _STANDALONE:
            out += bytes((0xFF, marker))
            continue
        length = struct.unpack_from(">H", data, pos)[0]
        if length < 2 or pos + length > end:
            raise unreadable()
        segment, payload = data[pos - 2:pos + length], data[pos + 2:pos + length]
        pos += length
        if marker == APP1 and payload.startswith(EXIF_ID) and orientation is None:
            orientation = exif_orientation(payload[len(EXIF_ID):])
            if orientation not in (None, 1):
                out += orientation_segment(orientation)
        elif (APP0 <= marker <= APP15 and not payload.startswith(_JPEG_KEEP.get(marker, ()))) or marker == COM:
            pass                                 # metadata: dropped
        else:
            out += segment
        if marker == SOS:
            scanned, scan_end = True, _scan_end(data, pos)
            out += data[pos:scan_end]
            pos = scan_end
    if not scanned:
        raise unreadable()                       # headers and no image
    return bytes(out)                            # a file cut short in its last scan: kept as far as it goes


def _scan_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data starting at `pos` ends: the next marker that is neither a stuffed 0xFF00 nor
    a restart marker (or the end of the file)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            return len(data)
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1 if following == 0xFF else 2
            continue
        return pos


def exif_orientation(tiff: bytes) -> int | None:
    """The Orientation (1-8) in IFD0 of an EXIF TIFF structure, or None (absent, out of range or malformed EXIF:
    a broken EXIF block is dropped like any other, it does not make the photo unreadable)."""
    try:
        order = {b"II": "<", b"MM": ">"}[tiff[:2]]
        magic, ifd = struct.unpack_from(order + "HI", tiff, 2)
        count = struct.unpack_from(order + "H", tiff, ifd)[0]
        for n in range(count):
            tag, kind, many = struct.unpack_from(order + "HHI", tiff, ifd + 2 + 12 * n)
            if tag == ORIENTATION_TAG and kind == 3 and many == 1 and magic == 42:
                value = struct.unpack_from(order + "H", tiff, ifd + 2 + 12 * n + 8)[0]
                return value if 1 <= value <= 8 else None
    except (KeyError, struct.error):
        return None
    return None


def orientation_segment(orientation: int) -> bytes:
    """A minimal APP1 Exif segment: a big-endian TIFF header and IFD0 with the one Orientation entry."""
    tiff = (b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
            + struct.pack(">HHIHH", ORIENTATION_TAG, 3, 1, orientation, 0) + struct.pack(">I", 0))
    payload = EXIF_ID + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def _strip_png(data: bytes) -> bytes:
    out, pos = bytearray(PNG_SIGNATURE), len(PNG_SIGNATURE)
    while True:
        length = struct.unpack_from(">I", data, pos)[0]
        kind, after = data[pos + 4:pos + 8], pos + 12 + length
        if after > len(data):
            raise unreadable()
        if kind not in PNG_DROP:
            out += data[pos:after]
        pos = after
        if kind == b"IEND":
            return bytes(out)


def _strip_webp(data: bytes) -> bytes:
    chunks, pos, end = [], 12, min(len(data), 8 + struct.unpack_from("<I", data, 4)[0])
    while pos + 8 <= end:
        kind, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        after = pos + 8 + size + (size & 1)
        if pos + 8 + size > end:
            raise unreadable()
        if kind == b"VP8X":
            flags = data[pos + 8] & ~(_VP8X_EXIF | _VP8X_XMP)
            chunks.append(data[pos:pos + 8] + bytes((flags,)) + data[pos + 9:min(after, end)])
        elif kind not in WEBP_DROP:
            chunks.append(data[pos:min(after, end)])
        pos = after
    if not chunks:
        raise unreadable()
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body
