"""The ETL1 / ETL6 symbols KanjiVG lacks are drawn from kanjiedge.symbol_strokes by the synthetic writer: genuine
ETL6 records carry them under their JIS X 0201 codes, and each comes out with the shape of its symbol."""

import numpy as np
import pytest

from kanjiedge import charsets, etl, kanjivg, symbol_strokes, synth


def test_the_table_only_fills_kanjivg_gaps():
    assert not [c for c in symbol_strokes.CHARS if kanjivg.has(c)]
    assert all(symbol_strokes.strokes(c) for c in symbol_strokes.CHARS)
    for c in symbol_strokes.CHARS:
        pts = np.concatenate(symbol_strokes.strokes(c))
        assert np.isfinite(pts).all() and pts.min() >= 0 and pts.max() <= kanjivg.BOX, c


@pytest.fixture(scope="module")
def etl6_symbols(tmp_path_factory):
    out = tmp_path_factory.mktemp("etl6")
    paths = synth.write("etl6", 3, 0, out / "sets", chars=symbol_strokes.CHARS, jobs=1, progress=False,
                        realism="clean")
    return etl.read_many(paths)


def test_records_carry_the_symbols_jis_x0201_codes(etl6_symbols):
    cs = charsets.charset("ETL6")
    want = {ch: code for ch, code in zip(cs.chars, cs.codes)}
    got = dict(zip(etl6_symbols.labels, etl6_symbols.codes))
    assert set(got) == set(symbol_strokes.CHARS)
    assert all(got[ch] == want[ch] for ch in got) and got["¥"] == 0x5C and got["+"] == 0x2B


def _ink_box(img):
    ys, xs = np.nonzero(img > img.max() * 0.3)
    return xs.max() - xs.min() + 1, ys.max() - ys.min() + 1


@pytest.mark.parametrize("char,shape", [("-", "wide"), ("(", "tall"), ("[", "tall"), ("/", "tall"),
                                        ("+", "square")])
def test_each_symbol_has_its_shape(etl6_symbols, char, shape):
    for img, label in zip(etl6_symbols.images, etl6_symbols.labels):
        if label != char:
            continue
        w, h = _ink_box(img)
        assert {"wide": w > 2.5 * h, "tall": h > 1.5 * w, "square": 0.6 < w / h < 1.7}[shape], (char, w, h)


def test_different_symbols_look_different(etl6_symbols):
    """Within one writer, no two symbols give the same picture: every pair differs in at least 20 % of the ink of
    the smaller one."""
    labels = np.array(etl6_symbols.labels)
    first = etl6_symbols.images[: len(symbol_strokes.CHARS)].astype(np.float32)
    assert len(set(labels[: len(first)])) == len(first)
    d = np.abs(first[:, None] - first[None]).sum(axis=(2, 3))
    ink = first.sum(axis=(1, 2))
    share = d / np.minimum(ink[:, None], ink[None])
    np.fill_diagonal(share, np.inf)
    assert share.min() > 0.2
