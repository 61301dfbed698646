#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""png-colors.py FILE.png #rrggbb[=MIN]...: counts the pixels of each exact colour.

Exits 1 if a colour has fewer than MIN pixels (default 1). A PNG decoder in a
few lines of the standard library (8-bit RGB or RGBA, as Chromium writes its
screenshots), so the report test needs no imaging package.
"""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise SystemExit(f"{path}: depth {depth}, colour type {ctype}, interlace {interlace}: unsupported")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride = zlib.decompress(idat), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def main():
    width, height, bpp, rows = decode(sys.argv[1])
    counts = {}
    for row in rows:
        for x in range(0, len(row), bpp):
            rgb = row[x:x + 3]
            counts[rgb] = counts.get(rgb, 0) + 1
    bad = False
    for arg in sys.argv[2:]:
        color, _, need = arg.partition("=")
        rgb = bytes.fromhex(color.lstrip("#"))
        n = counts.get(rgb, 0)
        ok = n >= int(need or 1)
        bad |= not ok
        print(f"{color}: {n} pixels{'' if ok else ' (want at least ' + (need or '1') + ')'}")
    white = counts.get(b"\xff\xff\xff", 0)
    print(f"{width}x{height}, {white} white pixels, {len(counts)} colours")
    sys.exit(1 if bad else 0)


main()
