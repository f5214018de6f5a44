"""A fake phone camera for Chromium that films a QR code: the code's pixels, taken from the screen that shows it,
written as a Y4M video (Chromium's --use-file-for-fake-video-capture plays it in a loop)."""
from __future__ import annotations

from pathlib import Path

WIDTH, HEIGHT, FRAMES = 640, 480, 5
# The pixels of an <img> as luma (0-255) rows, drawn at its natural size on a canvas in the page itself.
LUMA = """(selector) => {
  const img = document.querySelector(selector);
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const context = canvas.getContext('2d');
  context.drawImage(img, 0, 0);
  const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const luma = [];
  for (let i = 0; i < rgba.length; i += 4) luma.push(Math.round(0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2]));
  return { width: canvas.width, height: canvas.height, luma };
}"""


def qr_video(page, selector: str, path: Path) -> Path:
    """A Y4M file (4:2:0, grey) of the QR image `selector` on `page`, centred on a white frame."""
    image = page.evaluate(LUMA, selector)
    width, height, luma = image["width"], image["height"], image["luma"]
    assert width <= WIDTH and height <= HEIGHT, (width, height)
    top, left = (HEIGHT - height) // 2, (WIDTH - width) // 2
    plane = bytearray(b"\xff" * (WIDTH * HEIGHT))
    for y in range(height):
        start = (top + y) * WIDTH + left
        plane[start:start + width] = bytes(luma[y * width:(y + 1) * width])
    chroma = b"\x80" * ((WIDTH // 2) * (HEIGHT // 2))  # no colour: both chroma planes at their midpoint
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F5:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(FRAMES):
            out.write(b"FRAME\n" + bytes(plane) + chroma + chroma)
    return path


def camera_args(video: Path) -> list[str]:
    """Chromium's switches for a camera that films `video`, granted without asking."""
    return ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}",
            "--use-fake-ui-for-media-stream"]
