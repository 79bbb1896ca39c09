"""ETL character sets: sizes, order, code conventions, KanjiVG coverage, and agreement with the decoder."""

import numpy as np
import pytest

from kanjiedge import charsets, etl, kanjivg, synth, synth_strokes
from kanjiedge.errors import UserError


def test_etl9g_set():
    """ETL9G = 71 hiragana + 2,965 level-1 kanji = 3,036 distinct codes; sheet order starts with 0x3021 亜."""
    cs = charsets.charset("ETL9G")
    assert len(cs) == 3036 and len(set(cs.codes)) == 3036 and len(set(cs.chars)) == 3036
    assert cs.codes[0] == 0x3021 and cs.chars[0] == "亜"
    hira = [c for c in cs.chars if "ぁ" <= c <= "ゖ"]
    assert len(hira) == 71 and len(cs) - len(hira) == 2965
    assert not set(hira) & set(charsets.SMALL_KANA + "ゐゑ")
    assert min(c for c in cs.codes if c >= 0x3000) == 0x3021 and max(cs.codes) == 0x4F53


def test_hiragana_counts():
    """The JIS hiragana block 0x2421-0x2473 minus the 10 small kana and ゐゑ, in JIS order, is the 71-code ETL9G set;
    ETL8 keeps small っゃゅょ (75)."""
    block = [charsets.jis0208_char(c) for c in range(0x2421, 0x2474)]
    assert block[0] == "ぁ" and block[-1] == "ん"
    plain = [charsets.jis0208_char(c) for c in charsets.hiragana_codes()]
    assert plain == [c for c in block if c not in charsets.SMALL_KANA + "ゐゑ"] and len(plain) == 71
    etl8 = [charsets.jis0208_char(c) for c in charsets.hiragana_codes(etl8=True)]
    assert len(etl8) == 75 and set("っゃゅょ") <= set(etl8)


def test_etl8g_set_is_956_and_inside_etl9g_kanji():
    """ETL8G = 75 hiragana + 881 kanji (the documented stand-in: the simplest level-1 kanji)."""
    cs = charsets.charset("ETL8G")
    kanji = [c for c in cs.codes if c >= 0x3021]
    assert len(cs) == 956 and len(set(cs.codes)) == 956 and len(kanji) == 881
    assert set(kanji) <= set(charsets.level1_kanji_codes())
    assert {"右", "口", "木", "日", "休"} <= set(cs.chars)  # the stand-in favours simple, common kanji


def test_jis0208_conversion():
    """Row/cell codes map to the right characters (0x3021 亜, 0x2422 あ, 0x4F53 腕)."""
    assert charsets.jis0208_char(0x3021) == "亜"
    assert charsets.jis0208_char(0x2422) == "あ"
    assert charsets.jis0208_char(0x4F53) == "腕"


def test_single_byte_quirks():
    """ヰ/ヱ use 0xA8/0xAA; hiragana sets store katakana codes; ゛゜ are 0xDE/0xDF; ASCII stays ASCII."""
    def code(name, ch):
        cs = charsets.charset(name)
        return cs.codes[cs.chars.index(ch)]

    assert code("ETL1", "ヰ") == 0xA8 and code("ETL1", "ヱ") == 0xAA and code("ETL5", "ヰ") == 0xA8
    assert code("ETL4", "ゐ") == 0xA8 and code("ETL4", "ゑ") == 0xAA
    assert code("ETL7", "あ") == 0xB1 and code("ETL6", "ア") == 0xB1 and code("ETL7", "を") == 0xA6
    assert code("ETL7", "゛") == 0xDE and code("ETL7", "゜") == 0xDF
    assert code("ETL1", "A") == 0x41 and code("ETL3", "0") == 0x30


def test_co59_set():
    """ETL2 codes come from co59.tsv (a<<6|b, a and b in 4..59); the first is (4,4) = 上."""
    cs = charsets.charset("ETL2")
    assert cs.codes[0] == 4 << 6 | 4 and cs.chars[0] == "上"
    assert all(4 <= c >> 6 <= 59 and 4 <= c & 63 <= 59 for c in cs.codes)
    assert len(cs) > 2000 and len(set(cs.chars)) == len(cs)


@pytest.mark.parametrize("name", ["ETL9G", "ETL8G", "ETL1", "ETL2", "ETL3", "ETL4", "ETL5", "ETL6", "ETL7"])
def test_the_writer_can_draw_every_character(name):
    """The synthetic writer can draw every character of every set (KanjiVG, or symbol_strokes for the symbols)."""
    missing = [c for c in charsets.charset(name).chars if not synth_strokes.drawable(c)]
    assert not missing


def test_symbol_sets_have_the_real_class_counts():
    """ETL1: 96 distinct labels (10 digits, 26 capitals, 12 symbols, 48 katakana); ETL6: 114 (46 katakana, 10
    digits, 26 capitals, 32 symbols) -- docs/etl-format.md; each symbol has its own JIS X 0201 code."""
    etl1, etl6 = charsets.charset("ETL1"), charsets.charset("ETL6")
    assert len(set(etl1.chars)) == 96 and len(set(etl6.chars)) == 114
    assert len(set(etl6.codes)) == 114 and dict(zip(etl1.chars, etl1.codes))["¥"] == 0x5C


def test_select_subsets():
    """select(N) spreads N picks over the set (first and last included); a string keeps set order."""
    cs = charsets.charset("ETL9G")
    sub = charsets.select(cs, 10)
    assert len(sub) == 10 and sub.chars[0] == cs.chars[0] and sub.chars[-1] == cs.chars[-1]
    assert charsets.select(cs, "木亜").chars == ("亜", "木")
    assert charsets.select(cs, None) is cs
    with pytest.raises(UserError, match="not in"):
        charsets.select(cs, "亜A")
    with pytest.raises(UserError):
        charsets.select(cs, 0)


def test_unknown_charset():
    with pytest.raises(UserError, match="unknown character set"):
        charsets.charset("ETL10")


def test_all_etl9g_labels_decode_to_the_charset(tmp_path):
    """An ETL9G file holding one record per code (blank images) decodes, via kanjiedge.etl, to exactly the
    characters the charset lists, in order (so 0x3021 -> 亜 and all 3,036 labels agree with the decoder)."""
    fmt, cs = synth.get_format("etl9g"), charsets.charset("ETL9G")
    blank = np.zeros(fmt.frame, np.uint8)
    samples = synth.samples(fmt, cs, 0)
    (tmp_path / "ETL9G_01").write_bytes(b"".join(synth.encode(fmt, s, blank) for s in samples))
    rec = etl.read(tmp_path / "ETL9G_01")
    assert rec.labels == list(cs.chars) and rec.codes == list(cs.codes)
    assert rec.labels[0] == "亜"
