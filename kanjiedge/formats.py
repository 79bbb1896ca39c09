"""The ETL format table: one place that says how every ETL data set is laid out, named and checked.

kanjiedge.etl reads with it, kanjiedge.synth writes with it, kanjiedge.dataset groups files with it, and the C codec
(csrc/ke_record.c `LAYOUTS`) keeps its own copy of the record layouts, which tests/test_formats.py checks against
`LAYOUTS` here. docs/etl-format.md explains every number and where it comes from.

    fmt = FORMATS["etl9g"]         # or by_name("ETL9G")
    fmt.layout.image_offset        # 64
    fmt.valid_codes()              # sorted uint32 array of the 3,036 codes an ETL9G record may carry
"""

import functools
from dataclasses import dataclass

import numpy as np

from kanjiedge import charsets, codes
from kanjiedge.errors import UserError


@dataclass(frozen=True)
class Layout:
    """One record type: bytes per record, stored image frame (width x height x bits per pixel) and its offset."""

    rtype: str  # "M", "K", "C", "B8", "B9", "G8", "G9" (the KE_T_* names of csrc/ke.h)
    record_bytes: int
    width: int
    height: int
    bpp: int
    image_offset: int  # byte offset of the image in the record

    @property
    def max_level(self) -> int:
        return (1 << self.bpp) - 1


LAYOUTS = {lay.rtype: lay for lay in (
    Layout("M", 2052, 64, 63, 4, 32),  # ETL1/6/7
    Layout("K", 2745, 60, 60, 6, 45),  # ETL2: 3660 six-bit characters
    Layout("C", 2952, 72, 76, 4, 216),  # ETL3/4/5: 3936 six-bit characters
    Layout("B8", 512, 64, 63, 1, 8),  # ETL8B2
    Layout("B9", 576, 64, 63, 1, 8),  # ETL9B
    Layout("G8", 8199, 128, 127, 4, 60),  # ETL8G: 30 undefined bytes before the image
    Layout("G9", 8199, 128, 127, 4, 64),  # ETL9G: 34 undefined bytes before the image
)}

T56 = "0123456789[#@:>? ABCDEFGHI&.](<  JKLMNOPQR-$*);'|/STUVWXYZ ,%=\"!"  # 6-bit text of K/C records
STYLE_MARKS = "ABCD"  # ETL2 style marks (T56 17..20): Mincho/Gothic newspaper, Mincho/Gothic patent gazette


@dataclass(frozen=True)
class Format:
    """One ETL data set family: file names, record layout, label code, data-set structure and what may be in it."""

    name: str  # "ETL9G"
    rtype: str  # key of LAYOUTS
    encoding: str  # label code: "x0201", "x0208" or "co59"
    pattern: str  # regex (case-insensitive, full match) for the file name; group 1 = file number
    charset: str  # kanjiedge.charsets set that synth draws from
    file_pattern: str  # names synth writes, {i} = 1-based file number
    sets_per_file: int  # data sets (writers) per file: real files for G/B, synth's choice for the others
    sheets_per_set: int = 0  # G/B: sheets per data set (global sheet numbers -> data set)
    dummy: bool = False  # B-type: the file starts with an all-zero dummy record
    classes: int = 0  # characters in one data set of the real set (G-type: a longer data set is an error)
    hiragana: bool = False  # kana are hiragana stored under JIS X 0201 katakana codes (ETL4, ETL7)
    t56_class: str = ""  # C-type: first letter(s) the T56 class code may start with

    @property
    def layout(self) -> Layout:
        return LAYOUTS[self.rtype]

    @property
    def kind(self) -> str:
        """Record type letter: "G", "B", "M", "K" or "C"."""
        return self.rtype[0]

    @property
    def record(self) -> int:
        return self.layout.record_bytes

    @property
    def frame(self) -> tuple:
        """(H, W) of the stored image."""
        return self.layout.height, self.layout.width

    @property
    def bpp(self) -> int:
        return self.layout.bpp

    @property
    def img_off(self) -> int:
        return self.layout.image_offset

    def valid_codes(self) -> np.ndarray:
        """Sorted uint32 array of every code a record of this set may carry (see _valid_codes)."""
        return _valid_codes(self.name)


def _fmt(name, rtype, encoding, pattern, charset, file_pattern, sets_per_file, **kw) -> Format:
    return Format(name, rtype, encoding, pattern, charset, file_pattern, sets_per_file, **kw)


FORMATS = {f.name.lower(): f for f in (
    _fmt("ETL1", "M", "x0201", r"ETL1C?(?:[_-]?(\d+))?", "ETL1", "ETL1C_{i:02d}", 1000),
    _fmt("ETL2", "K", "co59", r"ETL2(?:[_-]?(\d+))?", "ETL2", "ETL2_{i}", 1000),
    _fmt("ETL3", "C", "x0201", r"ETL3C?(?:[_-]?(\d+))?", "ETL3", "ETL3C_{i}", 1000, t56_class="NAS"),
    _fmt("ETL4", "C", "x0201", r"ETL4C?(?:[_-]?(\d+))?", "ETL4", "ETL4C", 100000, t56_class="H", hiragana=True),
    _fmt("ETL5", "C", "x0201", r"ETL5C?(?:[_-]?(\d+))?", "ETL5", "ETL5C", 100000, t56_class="K"),
    _fmt("ETL6", "M", "x0201", r"ETL6C?(?:[_-]?(\d+))?", "ETL6", "ETL6C_{i:02d}", 1000),
    _fmt("ETL7", "M", "x0201", r"ETL7[LS]C?(?:[_-]?(\d+))?", "ETL7", "ETL7LC_{i}", 1000, hiragana=True),
    _fmt("ETL8B2", "B8", "x0208", r"ETL8B2?C?(?:[_-]?(\d+))?", "ETL8G", "ETL8B2C{i}", 160, sheets_per_set=10,
         dummy=True, classes=956),
    _fmt("ETL8G", "G8", "x0208", r"ETL8G(?:[_-]?(\d+))?", "ETL8G", "ETL8G_{i:02d}", 5, sheets_per_set=10,
         classes=956),
    _fmt("ETL9B", "B9", "x0208", r"ETL9B(?:[_-]?(\d+))?", "ETL9G", "ETL9B_{i}", 40, sheets_per_set=20, dummy=True,
         classes=3036),
    _fmt("ETL9G", "G9", "x0208", r"ETL9G(?:[_-]?(\d+))?", "ETL9G", "ETL9G_{i:02d}", 4, sheets_per_set=20,
         classes=3036),
)}


def get_format(name: str) -> Format:
    """Format by name ("etl9g", "ETL8B2", ...). Raises UserError for an unknown name."""
    key = name.lower()
    if key not in FORMATS:
        raise UserError(f"unknown format {name!r}; choose from {', '.join(FORMATS)}")
    return FORMATS[key]


# ---------------------------------------------------------------------------------------------- valid codes

_DIGITS, _CAPITALS = range(0x30, 0x3A), range(0x41, 0x5B)
_ASCII_SYMBOLS = [c for c in range(0x21, 0x7F) if not chr(c).isalnum()]  # 0x5C is ¥ in JIS X 0201
_KANA = [0xA6] + list(range(0xB1, 0xDE))  # ヲ and ア..ン: the 46 basic kana
_WI_WE = [0xA8, 0xAA]  # ヰ / ヱ stored under the codes of small ィ / ェ
_MARKS = [0xDE, 0xDF]  # ゛ ゜
_PUNCT = list(range(0xA1, 0xA6)) + [0xB0]  # 。「」、・ and ｰ (ETL6's symbol bytes are only partly documented)
_X0201_SETS = {  # which JIS X 0201 codes each single-byte set may hold (docs/etl-format.md "Character sets")
    "ETL1": [*_DIGITS, *_CAPITALS, *_ASCII_SYMBOLS, 0xA5, *_KANA, *_WI_WE],
    "ETL3": [*_DIGITS, *_CAPITALS, *_ASCII_SYMBOLS],
    "ETL4": [*_KANA, *_WI_WE],
    "ETL5": [*_KANA, *_WI_WE],
    "ETL6": [*_DIGITS, *_CAPITALS, *_ASCII_SYMBOLS, *_PUNCT, *_KANA, *_MARKS],
    "ETL7": [*_KANA, *_MARKS],
}


@functools.cache
def _valid_codes(name: str) -> np.ndarray:
    """ETL9G/9B: the 2,965 level-1 kanji + 71 hiragana (exact). ETL8G/8B2: level-1 kanji + 75 hiragana (a
    superset: the real 881-kanji list is not available, so the data-set length check does the rest). ETL2: every
    code of the 48x48 CO-59 table, '▲' entries included. Single-byte sets: _X0201_SETS."""
    if name in ("ETL9G", "ETL9B", "ETL8G", "ETL8B2"):
        found = charsets.level1_kanji_codes() + charsets.hiragana_codes(etl8=name.startswith("ETL8"))
    elif name == "ETL2":
        found = list(codes.co59_table())
    else:
        found = _X0201_SETS[name]
    return np.array(sorted(set(found)), np.uint32)
