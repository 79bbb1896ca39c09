"""ETL character codes -> Unicode labels (docs/etl-format.md "Character codes").

* JIS X 0201 (ETL1/3/4/5/6/7): ASCII with 0x5C = ¥ and 0x7E = ‾; half-width katakana 0xA1-0xDF made
  full-width; ETL quirks: 0xA8/0xAA mean ヰ/ヱ (not small ィ/ェ), 0xDE/0xDF are the stand-alone marks ゛/゜
  (U+309B/U+309C), and hiragana sets (ETL4 'H' class, all of ETL7) store hiragana as katakana codes.
* JIS X 0208 (ETL8B2/8G/9B/9G): row/cell code + 0x2020, decoded through EUC-JP.
* CO-59 (ETL2): code = a << 6 | b, looked up in data/co59.tsv (AIST's 48x48 table). 124 entries map to '▲'
  (no character); such records exist in the real ETL2 (62 in ETL2_1) and are labelled '▲', as AIST's table and
  the reference extractors do. A code outside the table is unknown.

Every function raises `UnknownCode` (a KeyError) for a code with no character.
"""

import functools
import unicodedata
from pathlib import Path

CO59_TABLE = Path(__file__).with_name("data") / "co59.tsv"
CO59_UNKNOWN = "\u25b2"  # ▲


class UnknownCode(KeyError):
    """The code has no character in its code table."""


_X0201_QUIRKS = {0x5C: "\u00a5", 0x7E: "\u203e", 0xA8: "ヰ", 0xAA: "ヱ", 0xDE: "\u309b", 0xDF: "\u309c"}


def jis_x0201(code: int, hiragana: bool = False) -> str:
    """Character for a JIS X 0201 byte with the ETL conventions; `hiragana` maps katakana to hiragana."""
    if code in _X0201_QUIRKS:
        ch = _X0201_QUIRKS[code]
    elif 0x20 <= code <= 0x7E:
        ch = chr(code)
    elif 0xA1 <= code <= 0xDF:
        ch = unicodedata.normalize("NFKC", chr(code - 0xA1 + 0xFF61))  # half-width -> full-width
    else:
        raise UnknownCode(f"JIS X 0201 code 0x{code:02X} has no character")
    return katakana_to_hiragana(ch) if hiragana else ch


def katakana_to_hiragana(ch: str) -> str:
    """U+30A1..U+30F6 (ァ..ヶ) -> U+3041..U+3096; anything else unchanged."""
    return "".join(chr(ord(c) - 0x60) if 0x30A1 <= ord(c) <= 0x30F6 else c for c in ch)


def jis_x0208(code: int) -> str:
    """Character for a JIS X 0208 row/cell code such as 0x2422 (あ) or 0x3021 (亜)."""
    hi, lo = code >> 8, code & 0xFF
    if not (0x21 <= hi <= 0x7E and 0x21 <= lo <= 0x7E):
        raise UnknownCode(f"JIS X 0208 code 0x{code:04X} is outside rows/cells 0x21-0x7E")
    try:
        return bytes([hi | 0x80, lo | 0x80]).decode("euc_jp")
    except UnicodeDecodeError:
        raise UnknownCode(f"JIS X 0208 code 0x{code:04X} is not assigned") from None


@functools.cache
def co59_table() -> dict[int, str]:
    """CO-59 code (a << 6 | b) -> character, '▲' entries included, from data/co59.tsv."""
    table = {}
    for line in CO59_TABLE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#") or line.startswith("a\t"):
            continue
        a, b, ch = line.split("\t")
        table[int(a) << 6 | int(b)] = ch
    return table


def co59(code: int) -> str:
    """Character for a CO-59 code a << 6 | b (ETL2): '▲' for the table's no-character entries; a code outside
    the 48x48 table raises UnknownCode."""
    table = co59_table()
    if code not in table:
        raise UnknownCode(f"CO-59 code ({code >> 6}, {code & 63}) is not in the CO-59 table")
    return table[code]


@functools.lru_cache(maxsize=65536)  # a data set has a few thousand codes, read file after file
def label(encoding: str, code: int, hiragana: bool = False) -> str:
    """Label for `code` in `encoding` ("x0201", "x0208" or "co59")."""
    if encoding == "x0201":
        return jis_x0201(code, hiragana)
    if encoding == "x0208":
        return jis_x0208(code)
    if encoding == "co59":
        return co59(code)
    raise ValueError(f"unknown encoding {encoding!r}")
