"""Record encoding of the synthetic writer: one `Sample` (label, writer, position on the sheet) and its image ->
the bytes of a genuine record of each ETL record type (G, B, M, C, K), as kanjiedge.etl reads them.

The layouts are those of kanjiedge.formats (docs/etl-format.md); header fields the real files fill from the forms
(readings, dates, scanner settings) get fixed plausible values, documented per encoder.
"""

import struct
from dataclasses import dataclass

import numpy as np

from kanjiedge import charsets

T56 = ("0123456789[#@:>? ABCDEFGHI&.](<  JKLMNOPQR-$*);'|/STUVWXYZ ,%=\"!")
_T56_CODE = {ch: i for i, ch in reversed(list(enumerate(T56)))}  # first index wins (space = 16)
_KATA_ROMAJI = dict(zip(charsets.KATAKANA46 + "ヰヱ", (
    "A I U E O KA KI KU KE KO SA SI SU SE SO TA TI TU TE TO NA NI NU NE NO HA HI HU HE HO MA MI MU ME MO "
    "YA YU YO RA RI RU RE RO WA WO N WI WE").split()))
_SMALL_TO_LARGE = dict(zip("ァィゥェォッャュョヮ", "アイウエオツヤユヨワ"))


def romaji(ch: str) -> str:
    """Short ASCII name of a kana / alnum label ("KA", "A", ",,"); "" for kanji."""
    if ch in "゛゜":
        return ",," if ch == "゛" else ",0"
    if ch.isascii():
        return ch
    kata = chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch
    return _KATA_ROMAJI.get(_SMALL_TO_LARGE.get(kata, kata), "")


def _reading(ch: str, width: int) -> bytes:
    """ASCII reading field: `A.HIRA` for kana as in the real files, a `U4E9C`-style code-point placeholder for
    kanji (the real files hold on/kun readings, which kanjiedge has no source for)."""
    name = romaji(ch)
    text = f"{name}.HIRA" if name else f"U{ord(ch):04X}"
    return text[:width].ljust(width).encode("ascii")


def pack4(levels: np.ndarray) -> bytes:
    """uint8 [H,W] 0..15 -> 4 bpp bytes, high nibble = left pixel."""
    return (levels[:, 0::2] << 4 | levels[:, 1::2]).astype(np.uint8).tobytes()


def pack1(bits: np.ndarray) -> bytes:
    """uint8 [H,W] 0/1 -> 1 bpp bytes, bit 7 = left pixel."""
    return np.packbits(bits.astype(np.uint8), axis=1).tobytes()


def pack6(values) -> bytes:
    """Sequence of 6-bit values (length multiple of 4) -> bytes, MSB first (4 values per 3 bytes)."""
    v = np.asarray(values, dtype=np.uint8).reshape(-1, 4)
    out = np.stack([v[:, 0] << 2 | v[:, 1] >> 4, (v[:, 1] & 15) << 4 | v[:, 2] >> 2, (v[:, 2] & 3) << 6 | v[:, 3]], 1)
    return out.astype(np.uint8).tobytes()


def _six(n: int, chars: int = 6) -> list:
    """Integer -> `chars` 6-bit digits, most significant first."""
    return [(n >> (6 * (chars - 1 - k))) & 63 for k in range(chars)]


def _t56(text: str) -> list:
    return [_T56_CODE[c] for c in text]


@dataclass(frozen=True)
class Sample:
    """What one record says besides its image."""

    code: int  # raw label code
    char: str  # its Unicode label
    writer: int  # 0-based global writer / data-set index
    index: int  # 0-based position inside the writer's data set
    serial: int  # 1-based serial data number
    sheet: int  # serial sheet number


def record_g(fmt, s: Sample, levels: np.ndarray) -> bytes:
    """G-type record (ETL8G image at 60, ETL9G at 64), 8199 bytes."""
    head = struct.pack(">HH8sIBBBBHHHHBB", s.sheet, s.code, _reading(s.char, 8), s.serial, 0, 0, 0, 0, 0, 0,
                       8212, 8310, s.index % 10, s.index // 10 % 16)
    head = head.ljust(fmt.img_off, b"\0") + pack4(levels)
    return head.ljust(fmt.record, b"\0")


def record_b(fmt, s: Sample, bits: np.ndarray) -> bytes:
    """B-type record (ETL8B2 512 B, ETL9B 576 B): header + 64x63 1 bpp image."""
    return (struct.pack(">HH4s", s.sheet, s.code, _reading(s.char, 4)) + pack1(bits)).ljust(fmt.record, b"\0")


def record_m(fmt, s: Sample, levels: np.ndarray) -> bytes:
    """M-type record (ETL1/6/7), 2052 bytes; label = JIS X 0201 byte at offset 6."""
    name = romaji(s.char).rjust(2)[:2].encode("ascii")
    head = struct.pack(">H2sHBBBBBBIHHHHBBBB4x", s.index + 1, name, s.sheet, s.code, 0, 0, 0, 1, 25, s.serial,
                       0, 0, 7309, 7310, s.index // 16 + 1, s.index % 16 + 1, 0, 255)
    return head + pack4(levels) + b"\0" * 4


def record_c(fmt, s: Sample, levels: np.ndarray) -> bytes:
    """C-type record (ETL3/4/5), 3936 six-bit chars = 2952 bytes; image (4 bpp bytes) at byte 216."""
    kind = {"ETL3": "A" if s.char.isalpha() else ("N" if s.char.isdigit() else "S"),
            "ETL4": "H", "ETL5": "K"}[fmt.name]
    fields = [s.serial, s.sheet, s.code << 28, 0]  # JIS / EBCDIC are the leftmost 8 bits of 36
    six = [d for n in fields for d in _six(n)] + _t56(kind + romaji(s.char).rjust(3)) + _t56("  ")
    numbers = [0, 0, s.index // 16 + 1, s.index % 16, 1, 23, 0, 0, 741202, 741216, 72, 76, 16, 133, 0]
    six += [d for n in numbers for d in _six(n)]
    six += [0] * (288 - len(six))
    return pack6(six) + pack4(levels)


def record_k(fmt, s: Sample, levels: np.ndarray) -> bytes:
    """K-type record (ETL2), 3660 six-bit chars = 2745 bytes; CO-59 code at chars 29-30, 6-bit image."""
    contents = "KANJI " if ord(s.char) >= 0x4E00 else ("HRKANA" if "ぁ" <= s.char <= "ゖ" else
                                                        "KTKANA" if "ァ" <= s.char <= "ヺ" else "KIGO  ")
    mark = "ABCD"[s.writer % 4]  # "writers" of printed ETL2 are the four typeface/source marks
    face = "GOTHIC" if mark in "BD" else "MINCHO"
    six = _six(s.serial) + _t56(mark + " " * 5 + contents + face) + [0] * 4 + [s.code >> 6, s.code & 63]
    six += [0] * (60 - len(six))
    return pack6(six + levels.ravel().tolist())


_ENCODERS = {"G": record_g, "B": record_b, "M": record_m, "C": record_c, "K": record_k}


def encode(fmt, s: Sample, levels: np.ndarray) -> bytes:
    """One record of `fmt` (a kanjiedge.formats.Format) with image `levels` (uint8 [H,W] in its frame and depth)."""
    return _ENCODERS[fmt.kind](fmt, s, levels)
