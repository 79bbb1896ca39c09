"""Independent pure-Python reference for the ETL codec tests: a record packer, a decoder and the ke.h
resize/normalize algorithm, written only with `struct`, int bit operations and plain lists (no numpy, nothing
shared with the C path), so a C bug cannot hide behind the same bug here.

Layouts: docs/etl-format.md §2-3. Record types use the C names: M, K, C, B8, B9, G8, G9.
"""

import math
import struct

# record bytes, width, height, bpp, image byte offset
LAYOUT = {
    "M": (2052, 64, 63, 4, 32),
    "K": (2745, 60, 60, 6, 45),
    "C": (2952, 72, 76, 4, 216),
    "B8": (512, 64, 63, 1, 8),
    "B9": (576, 64, 63, 1, 8),
    "G8": (8199, 128, 127, 4, 60),
    "G9": (8199, 128, 127, 4, 64),
}
T56 = "0123456789[#@:>? ABCDEFGHI&.](<  JKLMNOPQR-$*);'|/STUVWXYZ ,%=\"!"


# ------------------------------------------------------------------------------------------------ bit helpers


def get_bits(data: bytes, off: int, n: int) -> int:
    """Big-endian field of n bits at bit offset off (bit 0 = MSB of byte 0)."""
    value = 0
    for k in range(off, off + n):
        value = value << 1 | (data[k // 8] >> (7 - k % 8)) & 1
    return value


def put_bits(buf: bytearray, off: int, n: int, value: int) -> None:
    """Store value as a big-endian n-bit field at bit offset off."""
    assert 0 <= value < 1 << n, (value, n)
    for k in range(n):
        bit = value >> (n - 1 - k) & 1
        pos = off + k
        if bit:
            buf[pos // 8] |= 0x80 >> (pos % 8)
        else:
            buf[pos // 8] &= ~(0x80 >> (pos % 8)) & 0xFF


def pack_pixels(pixels: list, bpp: int) -> bytes:
    """Row-major list of rows of levels -> MSB-first packed bytes."""
    out = b""
    for row in pixels:  # every row is a whole number of bytes: build it as one big-endian integer
        value = 0
        for v in row:
            assert 0 <= v < 1 << bpp
            value = value << bpp | v
        out += value.to_bytes(len(row) * bpp // 8, "big")
    return out


def unpack_pixels(data: bytes, width: int, height: int, bpp: int) -> list:
    """MSB-first packed rows -> rows of levels (each row read as one big-endian integer)."""
    rows, rb, mask = [], width * bpp // 8, (1 << bpp) - 1
    for y in range(height):
        value = int.from_bytes(data[y * rb:(y + 1) * rb], "big")
        rows.append([value >> (bpp * (width - 1 - x)) & mask for x in range(width)])
    return rows


def t56_index(ch: str) -> int:
    return T56.index(ch)


# ------------------------------------------------------------------------------------------------ packer


def pack(rtype: str, code: int, sheet: int, pixels, **f) -> bytes:
    """One record of type rtype with the given label code, sheet and image (rows of levels, or packed bytes)."""
    nbytes, w, h, bpp, off = LAYOUT[rtype]
    if isinstance(pixels, bytes):
        img = pixels
    else:
        assert len(pixels) == h and all(len(r) == w for r in pixels)
        img = pack_pixels(pixels, bpp)
    assert len(img) == w * h * bpp // 8
    if rtype == "M":
        head = struct.pack(">H2sHBBBBBBIHHHHBBBB4x", f.get("data_number", 1), f.get("name", b"A "), sheet, code,
                           f.get("ebcdic", 0), 0, 0, 1, 25, f.get("serial", 1), 9144, 11, 7309, 7310, 1, 1, 0, 255)
        rec = head + img + b"\0" * 4
    elif rtype == "K":
        rec = _pack_k(code, f.get("mark", "A"), img)
    elif rtype == "C":
        rec = _pack_c(code, sheet, f.get("klass", "K  A"), img)
    elif rtype in ("B8", "B9"):
        rec = struct.pack(">HH4s", sheet, code, f.get("reading", b"A.HI")) + img
    else:
        pad = 30 if rtype == "G8" else 34
        rec = struct.pack(f">HH8sIBBBBHHHHBB{pad}x", sheet, code, f.get("reading", b"A.HIRA  "), f.get("serial", 1),
                          0, 0, 0, 0, 0, 0, 7910, 8001, 0, 0) + img
    rec = rec.ljust(nbytes, b"\0")
    assert len(rec) == nbytes
    return rec


def _pack_k(code: int, mark: str, img: bytes) -> bytes:
    buf = bytearray(2745)
    put_bits(buf, 0, 36, 1)  # serial
    put_bits(buf, 36, 6, t56_index(mark))
    for k, ch in enumerate("KANJI MINCHO"):
        put_bits(buf, 72 + 6 * k, 6, t56_index(ch))
    put_bits(buf, 168, 12, code)  # CO-59 a<<6|b
    buf[45:] = img
    return bytes(buf)


def _pack_c(code: int, sheet: int, klass: str, img: bytes) -> bytes:
    buf = bytearray(2952)
    put_bits(buf, 0, 36, 1)  # serial
    put_bits(buf, 36, 36, sheet)
    put_bits(buf, 72, 36, code << 28)  # only the leftmost 8 bits carry the JIS X 0201 code
    for k, ch in enumerate(klass):
        put_bits(buf, 144 + 6 * k, 6, t56_index(ch))
    for k, v in enumerate((72, 76, 16)):
        put_bits(buf, 540 + 36 * k, 36, v)
    buf[216:] = img
    return bytes(buf)


# ------------------------------------------------------------------------------------------------ decoder


def decode(rtype: str, rec: bytes) -> dict:
    """code, sheet, aux (as ke_meta) and pixels (rows of raw levels) of one record."""
    nbytes, w, h, bpp, off = LAYOUT[rtype]
    assert len(rec) >= nbytes
    if rtype == "M":
        sheet, code = struct.unpack_from(">H", rec, 4)[0], rec[6]
        aux = 0
    elif rtype == "K":
        code, sheet, aux = get_bits(rec, 168, 12), 0, get_bits(rec, 36, 6)
    elif rtype == "C":
        code, sheet, aux = get_bits(rec, 72, 8), get_bits(rec, 36, 36), get_bits(rec, 144, 6)
    else:
        sheet, code = struct.unpack_from(">HH", rec, 0)
        aux = 0
    pixels = unpack_pixels(rec[off:off + w * h * bpp // 8], w, h, bpp)
    return {"code": code, "sheet": sheet, "aux": aux, "pixels": pixels}


# ------------------------------------------------------------------------------------------------ normalize


def normalize(pixels: list, maxlevel: int, oh: int, ow: int, mode: str) -> list:
    """The ke.h resize/normalize algorithm, step by step, on rows of levels; returns rows of 0..255."""
    h, w = len(pixels), len(pixels[0])
    t = maxlevel // 8 + 1
    win = _window(pixels, h, w, t, oh, ow, mode)
    if win is None:
        return [[0] * ow for _ in range(oh)]
    x0, y0, sx, sy = win
    cols = [_span(x0, sx, j, w) for j in range(ow)]
    scale = 255.0 / (sx * sy * float(maxlevel))
    out = []
    for i in range(oh):
        acc = [0.0] * ow
        for y, wy in _span(y0, sy, i, h):
            for j in range(ow):
                r = 0.0
                for x, wx in cols[j]:
                    r += wx * pixels[y][x]
                acc[j] += wy * r
        out.append([min(255, max(0, int(a * scale + 0.5))) for a in acc])
    return out


def _window(pixels, h, w, t, oh, ow, mode):
    if mode == "none":
        return 0.0, 0.0, w / ow, h / oh
    ink = [(x, y, v) for y, row in enumerate(pixels) for x, v in enumerate(row) if v >= t]
    if not ink:
        return None
    if mode == "bbox":
        bx0, bx1 = min(p[0] for p in ink), max(p[0] for p in ink) + 1
        by0, by1 = min(p[1] for p in ink), max(p[1] for p in ink) + 1
        s = max((bx1 - bx0) / ow, (by1 - by0) / oh)
        return _to_grid((bx0 + bx1) / 2.0 - s * ow / 2, (by0 + by1) / 2.0 - s * oh / 2, s)
    m = sum(v for _, _, v in ink)
    mx, my = sum(x * v for x, _, v in ink) / m, sum(y * v for _, y, v in ink) / m
    vx = sum(x * x * v for x, _, v in ink) / m - mx * mx
    vy = sum(y * y * v for _, y, v in ink) / m - my * my
    side = max(4 * math.sqrt(max(vx, vy, 0)), 1.0)
    s = side / min(oh, ow)
    return _to_grid(mx + 0.5 - s * ow / 2, my + 0.5 - s * oh / 2, s)


def _to_grid(x0: float, y0: float, s: float) -> tuple:
    """BBOX / MOMENT window (x0, y0, s, s) with origin and pitch on the 1/256-pixel grid (pitch >= 1/256)."""
    s = max(math.floor(s * 256 + 0.5), 1) / 256
    return math.floor(x0 * 256 + 0.5) / 256, math.floor(y0 * 256 + 0.5) / 256, s, s


def _span(o: float, pitch: float, k: int, n: int) -> list:
    """[(source index, overlap weight)] of output pixel k, left to right."""
    a, b = max(o + k * pitch, 0.0), min(o + k * pitch + pitch, float(n))
    if b <= a:
        return []
    return [(x, min(x + 1, b) - max(x, a)) for x in range(math.floor(a), min(math.ceil(b), n))]


# ------------------------------------------------------------------------------------------------ files


def load_hex(path, length: int) -> bytes:
    """A tests/fixtures/*.hex file (lines `offset: hex bytes`, # comments) as `length` bytes, rest zero."""
    buf = bytearray(length)
    for line in open(path, encoding="utf-8"):
        if not line.strip() or line.startswith("#"):
            continue
        off, hexes = line.split(":", 1)
        data = bytes.fromhex(hexes)
        buf[int(off, 16):int(off, 16) + len(data)] = data
    return bytes(buf)


def write_etl(folder, name: str, records: list, dummy: bool = False):
    """Write records (bytes) as an ETL file `folder/name`, with a leading all-zero dummy when asked."""
    path = folder / name
    head = b"\0" * len(records[0]) if dummy else b""
    path.write_bytes(head + b"".join(records))
    return path
