"""kanjiedge.scanstats measures what it says, on constructed images whose answers are known."""

import numpy as np
import pytest

from kanjiedge import scanstats


def _frame(h=127, w=128):
    return np.zeros((h, w), np.uint8)


def test_bar_size_position_stroke_and_levels():
    """A 60x6 bar of level 12 (of 15): height/width of the bar, centroid offset of its centre, stroke width ~6,
    ink level 0.8, one component, no fragment, clean paper."""
    img = _frame()
    img[20:80, 70:76] = 12  # rows 20..79, columns 70..75
    s = scanstats.measure(img, 15)
    assert s.height == pytest.approx(60 / 127) and s.width == pytest.approx(6 / 128)
    assert s.down == pytest.approx(50 / 127 - 0.5) and s.right == pytest.approx(73 / 128 - 0.5)
    assert s.stroke * 127 == pytest.approx(6, rel=0.12)
    assert s.ink_median == pytest.approx(0.8) and s.ink_p10 == pytest.approx(0.8)
    assert (s.components, s.fragment, s.fragment_ink, s.background, s.noise) == (1, 0, 0, 0, 0)


def test_edge_fragment_is_found_and_left_out_of_the_character():
    """A small blob touching the left edge is a fragment with its ink share; the character's box ignores it."""
    img = _frame()
    img[40:90, 50:90] = 15  # character: 50 x 40 = 2000 px
    img[60:70, 0:20] = 15  # fragment: 10 x 20 = 200 px, at the border
    s = scanstats.measure(img, 15)
    assert s.fragment == 1 and s.fragment_ink == pytest.approx(0.1)
    assert s.height == pytest.approx(50 / 127) and s.width == pytest.approx(40 / 128)
    assert s.components == 1


def test_big_component_touching_the_edge_is_the_character():
    """The character itself touching the border (more than a quarter of the ink) is not a fragment."""
    img = _frame()
    img[0:60, 30:40] = 15
    img[70:80, 60:70] = 15
    s = scanstats.measure(img, 15)
    assert s.fragment == 0 and s.components == 2 and s.height == pytest.approx(80 / 127)


def test_grey_noisy_paper():
    """Paper at level 1.2 with sd 0.6 levels: background 0.08 (median, rounded to a level), noise sd ~0.04;
    the faint stroke at level 7 is ink (median 0.47)."""
    rng = np.random.default_rng(0)
    img = np.clip(np.rint(rng.normal(1.2, 0.6, (63, 64))), 0, 15).astype(np.uint8)
    img[10:50, 30:34] = 7
    s = scanstats.measure(img, 15)
    assert s.background == pytest.approx(1 / 15)
    assert s.noise == pytest.approx(0.6 / 15, rel=0.2)
    assert s.ink_median == pytest.approx(7 / 15) and s.components == 1


def test_specks_and_empty_images():
    """Isolated specks are neither character nor fragment; an image with nothing but a speck has no stats, and a
    lone blob at the edge holds all the ink, so it is the character, not a fragment."""
    img = _frame()
    img[30:60, 30:60] = 15
    img[100, 100] = 15
    assert scanstats.measure(img, 15).components == 1
    speck = _frame()
    speck[50, 50] = 15
    assert scanstats.measure(speck, 15) is None and scanstats.measure(_frame(), 15) is None
    corner = _frame()
    corner[0:5, 0:5] = 15
    assert scanstats.measure(corner, 15).fragment == 0


def test_summary_and_table():
    img = _frame()
    img[20:80, 70:76] = 12
    rows = scanstats.measure_many(np.stack([img, img, _frame()]), 15)
    assert rows.shape == (2, len(scanstats.MEASURES))
    summary = scanstats.summarize(rows)
    assert summary["height"][0] == pytest.approx(60 / 127)
    text = scanstats.table({"a": summary, **scanstats.REAL})
    assert text.count("\n") == 2 + len(scanstats.MEASURES) and "| records with an edge fragment | 0 % | 74 %" in text


def test_character_mask_leaves_out_fragments_and_specks():
    img = _frame()
    img[40:90, 50:90] = 15
    img[60:70, 0:20] = 15  # fragment
    img[5, 100] = 15  # speck
    mask = scanstats.character_mask(img, 15)
    assert mask.sum() == 50 * 40 and mask[40:90, 50:90].all()


def test_bench_profile_prints_real_and_synthetic_columns(tmp_path, capsys):
    """`python -m bench.bench_profile` prints the real columns next to each synthetic set it wrote."""
    from bench import bench_profile

    assert bench_profile.main(["--sets", "etl7", "--writers", "1", "--out", str(tmp_path / "p.md")]) == 0
    text = (tmp_path / "p.md").read_text(encoding="utf-8")
    head = text.splitlines()[0]
    assert "ETL9G hiragana (real)" in head and "ETL7 hiragana (synthetic)" in head and "ETL9G kanji" not in head
    assert "| ETL7 hiragana (synthetic) | 46 |" in text and text in capsys.readouterr().out


def test_fragment_free_files_have_no_fragments(tmp_path):
    """bench.fragment_free writes the scan look with every record's edge fragments removed."""
    from bench import fragment_free
    from kanjiedge import etl

    rec = etl.read_many(fragment_free.write(tmp_path, 4, 0, "あいうえお"))
    rows = scanstats.measure_many(rec.images, 15)
    assert len(rows) == 20 and rows[:, scanstats.MEASURES.index("fragment")].sum() == 0
