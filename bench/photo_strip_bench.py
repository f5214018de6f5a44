"""How much a 随手拍 upload costs to clean: `services.community.photos.strip_metadata` (a byte-level rewrite) on a
phone-sized JPEG with EXIF GPS, XMP and a trailer, against what re-encoding with Pillow (decode, then encode with
the EXIF dropped) would cost instead. Pillow is a development dependency (requirements-dev.txt), used here only to
make the photo and to measure the alternative.

    python bench/photo_strip_bench.py [--width 4000] [--height 3000] [--runs 20]

Prints the photo's size, then per photo: the median and worst time of strip_metadata, its throughput in MB/s, and
the median time of a Pillow re-encode at quality 90 for comparison."""
from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from shared.testing import GPS_LATITUDE, jpeg_with_gps  # noqa: E402
from services.community.photos import strip_metadata  # noqa: E402


def phone_photo(width: int, height: int) -> bytes:
    """A JPEG of a noisy gradient (compresses like a photo, unlike a flat colour) with a phone's metadata."""
    rng = random.Random(7)
    small = Image.new("RGB", (width // 8, height // 8))
    small.putdata([(x % 256, y % 256, rng.randrange(256)) for y in range(height // 8) for x in range(width // 8)])
    out = io.BytesIO()
    small.resize((width, height), Image.Resampling.BICUBIC).save(out, "JPEG", quality=92)
    return jpeg_with_gps(base=out.getvalue())


def timed(work, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    photo = phone_photo(args.width, args.height)
    clean = strip_metadata(photo, "image/jpeg")
    assert GPS_LATITUDE in photo and GPS_LATITUDE not in clean
    print(f"photo {args.width}×{args.height}: {len(photo) / 1e6:.2f} MB with metadata, {len(clean) / 1e6:.2f} MB "
          f"stripped ({len(photo) - len(clean)} bytes of metadata removed)")
    strip = timed(lambda: strip_metadata(photo, "image/jpeg"), args.runs)
    median = statistics.median(strip)
    print(f"strip_metadata: median {median * 1000:.1f} ms, worst {max(strip) * 1000:.1f} ms, "
          f"{len(photo) / 1e6 / median:.0f} MB/s ({args.runs} runs)")

    def reencode() -> None:
        image = Image.open(io.BytesIO(photo))
        image.save(io.BytesIO(), "JPEG", quality=90)
    again = timed(reencode, max(3, args.runs // 4))
    print(f"Pillow decode + re-encode (for comparison): median {statistics.median(again) * 1000:.1f} ms "
          f"({statistics.median(again) / median:.0f}× the byte-level strip, and a second lossy compression)")


if __name__ == "__main__":
    main()
