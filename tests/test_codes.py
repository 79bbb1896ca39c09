"""kanjiedge.codes: JIS X 0201 with the ETL quirks, JIS X 0208 (all 3,036 ETL9G labels), CO-59."""

import unicodedata

import pytest

from kanjiedge import charsets, codes

X0201_CASES = [  # (code, hiragana set?, label) - docs/etl-format.md §5 (JIS X 0201 and its ETL quirks)
    (0x30, False, "0"), (0x41, False, "A"), (0x5C, False, "\u00a5"), (0x7E, False, "\u203e"),
    (0xB1, False, "ア"), (0xB1, True, "あ"), (0xA8, False, "ヰ"), (0xAA, False, "ヱ"), (0xA8, True, "ゐ"),
    (0xAA, True, "ゑ"), (0xB6, False, "カ"), (0xB6, True, "か"), (0xDE, True, "\u309b"), (0xDF, True, "\u309c"),
    (0xDE, False, "\u309b"), (0xA6, False, "ヲ"), (0xA6, True, "を"), (0xDD, True, "ん"), (0xB0, True, "ー"),
    (0xA5, False, "・"),
]


@pytest.mark.parametrize("code, hiragana, label", X0201_CASES)
def test_jis_x0201_quirks(code, hiragana, label):
    assert codes.jis_x0201(code, hiragana) == label


def test_jis_x0201_never_gives_half_width_or_combining_marks():
    for code in range(0xA1, 0xE0):
        ch = codes.jis_x0201(code)
        assert len(ch) == 1 and unicodedata.combining(ch) == 0
        assert not 0xFF61 <= ord(ch) <= 0xFF9F


@pytest.mark.parametrize("code", [0x00, 0x1F, 0x7F, 0x80, 0xA0, 0xE0, 0xFF])
def test_jis_x0201_unassigned(code):
    with pytest.raises(codes.UnknownCode):
        codes.jis_x0201(code)


def test_jis_x0208_all_etl9g_labels():
    cs = charsets.charset("ETL9G")
    labels = [codes.jis_x0208(c) for c in cs.codes]
    assert len(labels) == len(set(labels)) == 3036
    assert codes.jis_x0208(0x3021) == "亜" and codes.jis_x0208(0x2422) == "あ" and codes.jis_x0208(0x4F53) == "腕"
    assert sum("\u3041" <= ch <= "\u3096" for ch in labels) == 71
    assert sum(unicodedata.name(ch).startswith("CJK UNIFIED") for ch in labels) == 2965


@pytest.mark.parametrize("code", [0x0000, 0x2121 - 1, 0x2F21, 0x7F21, 0x247F, 0xA4A2])
def test_jis_x0208_unassigned(code):
    with pytest.raises(codes.UnknownCode):
        codes.jis_x0208(code)


def test_co59_table_and_unknown_marker():
    table = codes.co59_table()
    assert len(table) == 2304
    assert codes.co59(4 << 6 | 4) == "上"
    unknown = [k for k, ch in table.items() if ch == codes.CO59_UNKNOWN]
    assert len(unknown) == 124
    assert codes.co59(15 << 6 | 17) == codes.CO59_UNKNOWN  # the code the real ETL2_1 holds at record 3730
    assert all(codes.co59(k) == "▲" for k in unknown)  # read and labelled '▲', as AIST's table does
    with pytest.raises(codes.UnknownCode, match="CO-59"):
        codes.co59(0)  # a, b = 0: outside the 4..59 table


def test_label_dispatch():
    assert codes.label("x0208", 0x3021) == "亜" and codes.label("co59", 4 << 6 | 4) == "上"
    assert codes.label("x0201", 0xB1, hiragana=True) == "あ"
    with pytest.raises(ValueError):
        codes.label("ebcdic", 0xC1)
