"""Draw the Teams app icons (no image library needed): color.png 192x192, outline.png 32x32.

    .venv/bin/python manifest/make_icons.py

A shield-like ring with a tick: the colour icon on Chaperone teal, the outline icon white on
transparent as Teams requires.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEAL = (0, 110, 120, 255)
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)


def png(size: int, pixel) -> bytes:  # type: ignore[no-untyped-def]
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def mark(size: int, x: int, y: int) -> bool:
    """A ring with a tick inside, scaled to the icon."""
    cx = cy = (size - 1) / 2
    r = ((x - cx) ** 2 + (y - cy) ** 2) ** 0.5
    ring = 0.36 * size <= r <= 0.46 * size
    u, v = x / size, y / size
    tick = (abs(v - (u + 0.18)) < 0.05 and 0.30 <= u <= 0.45) or (abs(v - (1.12 - u)) < 0.05 and 0.43 <= u <= 0.72)
    return ring or tick


def main() -> None:
    (HERE / "color.png").write_bytes(png(192, lambda x, y: WHITE if mark(192, x, y) else TEAL))
    (HERE / "outline.png").write_bytes(png(32, lambda x, y: WHITE if mark(32, x, y) else CLEAR))


if __name__ == "__main__":
    main()
