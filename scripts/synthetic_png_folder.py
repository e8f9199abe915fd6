#!/usr/bin/env python3
"""Writes N synthetic 64x64 RGB PNGs (default 50,000) into a folder, for the big-folder run
(scripts/dcgan64_50k.sh). Pure standard library: each image is 64 rows cut from a smooth
pseudo-random byte tape at an offset of its own, so every image differs. Never commit the
output.

usage: scripts/synthetic_png_folder.py OUT_DIR [N]
"""
import math
import os
import struct
import sys
import zlib

SIZE = 64
ROW = SIZE * 3


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(raw):
    ihdr = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")


def tape(n):
    out = bytearray(n)
    for i in range(n):
        v = 127.5 + 80 * math.sin(i * 0.013) * math.cos(i * 0.00071) + 40 * math.sin(i * 0.31)
        out[i] = max(0, min(255, int(v)))
    return bytes(out)


def main():
    out_dir = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
    t = tape(1 << 20)
    span = len(t) - ROW * 4 * SIZE
    for k in range(count):
        sub = os.path.join(out_dir, f"{k // 1000:03d}")
        if k % 1000 == 0:
            os.makedirs(sub, exist_ok=True)
        start, stride = (k * 7919) % span, ROW + (k % 5) * 3
        rows = b"".join(b"\x00" + t[start + y * stride : start + y * stride + ROW] for y in range(SIZE))
        with open(os.path.join(sub, f"{k:06d}.png"), "wb") as f:
            f.write(png(rows))


if __name__ == "__main__":
    main()
