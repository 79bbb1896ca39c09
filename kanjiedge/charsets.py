"""Character sets of the ETL databases, as the codes the records carry, in the order kanjiedge.synth writes them.

Sheet order used here (the real in-sheet order of ETL9G/ETL8G is undocumented, see docs/etl-format.md §4):
* ETL9G / ETL9B: the 2,965 JIS X 0208 level-1 kanji (0x3021-0x4F53) in JIS order, then the 71 hiragana in JIS
  order. Record 1 of every data set is therefore 0x3021 亜, as in the real ETL9G_01. 3,036 codes.
* ETL8G / ETL8B2: 881 kanji, then the 75 hiragana (the 71 above + small っゃゅょ) in JIS order. 956 codes.
  The real ETL8 kanji are the 1958 "education kanji" list; no machine-readable copy of that list is available
  offline, so kanjiedge uses a documented stand-in: the 881 level-1 kanji with the fewest strokes (KanjiVG
  stroke counts, ties broken by JIS order), kept in JIS order. Like the education kanji they are mostly simple,
  common characters (一 二 人 口 木 日 右 ...), but the list is NOT the real one. Same size, deterministic, always a
  subset of ETL9G.
* Single-byte sets (JIS X 0201 codes, with the ETL quirks of docs/etl-format.md §5): ETL1 (digits, capitals,
  12 symbols, 51 katakana slots incl. ヰ=0xA8 / ヱ=0xAA), ETL6 (46 katakana + digits + capitals + the 9 ETL6
  symbols KanjiVG can draw: , . ? 。 、 ・ ー ゛ ゜), ETL7
  (46 hiragana stored as katakana codes + ゛゜), ETL3 (digits + capitals + symbols), ETL4 (hiragana as katakana
  codes, incl. ゐ/ゑ as 0xA8/0xAA), ETL5 (katakana incl. ヰ/ヱ).
* ETL2: the CO-59 codes of kanjiedge/data/co59.tsv that map to a character KanjiVG can draw.

A `Charset` pairs each raw code with its Unicode label; `select()` takes a subset for tests.
"""

import functools
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from kanjiedge.errors import UserError

SMALL_KANA = "ぁぃぅぇぉっゃゅょゎ"
CO59_FILE = Path(__file__).with_name("data") / "co59.tsv"


@dataclass(frozen=True)
class Charset:
    """An ordered character set: raw record codes and their labels."""

    name: str  # "ETL9G", "ETL1", ...
    codes: tuple  # raw codes as stored in records: JIS X 0208 row/cell int, JIS X 0201 byte, or CO-59 a<<6|b
    chars: tuple  # Unicode label of each code (same length)

    def __len__(self):
        return len(self.codes)


def jis0208_char(code: int) -> str:
    """Unicode character of a JIS X 0208 row/cell code (e.g. 0x3021 -> 亜)."""
    return bytes([(code >> 8) | 0x80, (code & 0xFF) | 0x80]).decode("euc_jp")


def hiragana_codes(etl8: bool = False) -> list[int]:
    """JIS codes of the ETL9 hiragana (71) or ETL8 hiragana (75 = 71 + small っゃゅょ), in JIS order."""
    keep_small = "っゃゅょ" if etl8 else ""
    out = []
    for code in range(0x2421, 0x2474):
        ch = jis0208_char(code)
        if ch in "ゐゑ" or (ch in SMALL_KANA and ch not in keep_small):
            continue
        out.append(code)
    return out


def level1_kanji_codes() -> list[int]:
    """The 2,965 JIS X 0208 level-1 kanji codes 0x3021..0x4F53 in JIS order."""
    return [(row << 8) | cell for row in range(0x30, 0x50) for cell in range(0x21, 0x7F)
            if (row << 8) | cell <= 0x4F53]


def etl8_kanji_codes() -> list[int]:
    """The 881 kanji of kanjiedge's ETL8 stand-in set: the level-1 kanji with the fewest strokes (KanjiVG counts,
    ties in JIS order), returned in JIS order. See the module docstring for why this is not the real list."""
    from kanjiedge import kanjivg

    level1 = level1_kanji_codes()
    simplest = sorted(level1, key=lambda c: (kanjivg.stroke_count(jis0208_char(c)), c))[:881]
    return sorted(simplest)


def _x0201(chars: str, hiragana: bool = False) -> tuple[list[int], list[str]]:
    """JIS X 0201 codes for katakana / ASCII labels; ETL quirks: ヰ->0xA8, ヱ->0xAA, hiragana via katakana codes."""
    codes, labels = [], []
    for ch in chars:
        kata = chr(ord(ch) + 0x60) if hiragana and "ぁ" <= ch <= "ゖ" else ch
        if kata in "ヰヱ":
            code = 0xA8 if kata == "ヰ" else 0xAA
        elif kata in "゛゜":
            code = 0xDE if kata == "゛" else 0xDF
        elif kata in "¥‾":  # JIS X 0201 puts these where ASCII has \\ and ~
            code = 0x5C if kata == "¥" else 0x7E
        elif ord(kata) < 0x80:
            code = ord(kata)
        else:
            code = _halfwidth(kata)
        codes.append(code)
        labels.append(ch)
    return codes, labels


@functools.lru_cache(maxsize=1)
def _halfwidth_table() -> dict:
    # half-width kana punctuation and katakana 0xA1..0xDD -> their NFKC full-width form (。「」、・ア...); the inverse
    # gives the JIS X 0201 byte
    return {unicodedata.normalize("NFKC", chr(0xFF61 + b - 0xA1)): b for b in range(0xA1, 0xDE)}


def _halfwidth(kata: str) -> int:
    table = _halfwidth_table()
    if kata not in table:
        raise ValueError(f"{kata!r} has no JIS X 0201 code")
    return table[kata]


KATAKANA46 = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
HIRAGANA46 = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
DIGITS, CAPITALS = "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# ETL1's 12 symbols in sheet order (docs/etl-format.md "ETL1"). ETL6's 32 symbols are known only by their 2-character
# names (",," ",0" "(K" ")K" "+ " "- " ...); the characters below are read off those names, five of them
# (-6 ++ =X +1 /X) guessed (ー & : ・ !). The reader accepts every JIS X 0201 symbol byte for ETL6 all the same
# (kanjiedge.formats), so a real file with another symbol still reads; that class just has no synthetic writer.
# kanjiedge.symbol_strokes draws the symbols KanjiVG has no SVG for.
ETL1_SYMBOLS = "¥+-*/=()・,?'"
ETL6_SYMBOLS = "゛゜「」+-=*<>()[].,。、'\"?¥$%#@ー&:・!/"


def _single_byte_sets() -> dict:
    kata51 = KATAKANA46[:44] + "ヰ" + KATAKANA46[44:] + "ヱ"  # slots as in ETL1/ETL5 (repeats dropped)
    hira48 = HIRAGANA46 + "ゐゑ"
    return {
        "ETL1": DIGITS + CAPITALS + ETL1_SYMBOLS + kata51,
        "ETL3": DIGITS + CAPITALS + ",.",
        "ETL4": hira48,
        "ETL5": kata51,
        "ETL6": KATAKANA46 + DIGITS + CAPITALS + ETL6_SYMBOLS,
        "ETL7": HIRAGANA46 + "゛゜",
    }


HIRAGANA_SETS = ("ETL4", "ETL7")  # stored with katakana codes


@functools.lru_cache(maxsize=None)
def charset(name: str) -> Charset:
    """The character set of one ETL database / record format.

    Args:
        name: "ETL9G", "ETL9B", "ETL8G", "ETL8B2", "ETL1", "ETL2", "ETL3", "ETL4", "ETL5", "ETL6" or "ETL7"
            (case-insensitive; file-type suffixes like "ETL8B" are accepted).

    Raises:
        UserError: unknown name.
    """
    key = name.upper()
    if key.startswith(("ETL9",)):
        codes = level1_kanji_codes() + hiragana_codes()
        return Charset("ETL9G", tuple(codes), tuple(map(jis0208_char, codes)))
    if key.startswith("ETL8"):
        codes = etl8_kanji_codes() + hiragana_codes(etl8=True)
        return Charset("ETL8G", tuple(codes), tuple(map(jis0208_char, codes)))
    if key == "ETL2":
        return _co59_charset()
    sets = _single_byte_sets()
    if key not in sets:
        raise UserError(f"unknown character set {name!r} (known: ETL1-ETL7, ETL8G, ETL8B2, ETL9G, ETL9B)")
    codes, labels = _x0201(sets[key], hiragana=key in HIRAGANA_SETS)
    return Charset(key, tuple(codes), tuple(labels))


def _co59_charset() -> Charset:
    """ETL2: CO-59 codes (a<<6|b) whose character KanjiVG can draw, first occurrence of each char, table order."""
    from kanjiedge import kanjivg

    codes, chars = [], []
    for code, ch in read_co59().items():
        if ch not in chars and kanjivg.has(ch):
            codes.append(code)
            chars.append(ch)
    return Charset("ETL2", tuple(codes), tuple(chars))


@functools.lru_cache(maxsize=1)
def read_co59() -> dict:
    """kanjiedge/data/co59.tsv as {a<<6|b: char}, skipping unmapped (▲) entries."""
    table = {}
    for line in CO59_FILE.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or not parts[0].strip().isdigit():
            continue
        a, b, ch = int(parts[0]), int(parts[1]), parts[2]
        if ch and ch != "▲":
            table[a << 6 | b] = ch
    return table


def select(cs: Charset, chars=None) -> Charset:
    """A subset of `cs` for tests and quick runs, in `cs` order.

    Args:
        cs: the full set.
        chars: None (all), an int N (the first N codes, spread over the set: every len/N-th), or a string /
            iterable of characters that must all belong to `cs`.

    Raises:
        UserError: N out of range, or a character not in the set.
    """
    if chars is None:
        return cs
    if isinstance(chars, int):
        if not 1 <= chars <= len(cs):
            raise UserError(f"--chars {chars}: must be 1..{len(cs)} for {cs.name}")
        picks = sorted({round(i * (len(cs) - 1) / max(chars - 1, 1)) for i in range(chars)})
    else:
        index = {ch: i for i, ch in enumerate(cs.chars)}
        missing = [ch for ch in chars if ch not in index]
        if missing:
            raise UserError(f"--chars: {''.join(missing)!r} not in the {cs.name} character set")
        picks = sorted({index[ch] for ch in chars})
    return Charset(cs.name, tuple(cs.codes[i] for i in picks), tuple(cs.chars[i] for i in picks))
