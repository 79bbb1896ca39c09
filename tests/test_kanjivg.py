"""KanjiVG parsing: stroke counts, stroke geometry, component trees and SVG path flattening."""

import numpy as np
import pytest

from kanjiedge import kanjivg
from kanjiedge.errors import UserError


@pytest.mark.parametrize("char,strokes", [("亜", 7), ("一", 1), ("木", 4), ("明", 8), ("あ", 3), ("森", 12)])
def test_stroke_counts(char, strokes):
    """Known characters have their textbook stroke counts."""
    assert kanjivg.load(char).n_strokes == strokes


def test_fast_stroke_count_agrees_with_the_parse():
    """stroke_count (text scan) equals the parsed stroke count."""
    for char in "亜明鬱あ一木":
        assert kanjivg.stroke_count(char) == kanjivg.load(char).n_strokes


def test_strokes_are_polylines_inside_the_box():
    """Every stroke is a float32 [P,2] polyline with several points, inside the 109x109 KanjiVG box."""
    for char in "亜明鬱あ":
        for stroke in kanjivg.load(char).strokes:
            assert stroke.dtype == np.float32 and stroke.ndim == 2 and stroke.shape[1] == 2
            assert len(stroke) >= 2
            assert stroke.min() > -2 and stroke.max() < kanjivg.BOX + 2


def test_stroke_order_follows_the_svg():
    """一's single stroke runs left to right; 十's first stroke is the horizontal one."""
    (one,) = kanjivg.load("一").strokes
    assert one[-1, 0] - one[0, 0] > 50
    first, second = kanjivg.load("十").strokes
    assert np.ptp(first[:, 0]) > np.ptp(first[:, 1]) and np.ptp(second[:, 1]) > np.ptp(second[:, 0])


def test_components_of_ming():
    """明 = 日 (left, radical) + 月 (right), both direct children of the root."""
    k = kanjivg.load("明")
    assert k.components[:2] == ({"element": "日", "level": 1, "position": "left"},
                                {"element": "月", "level": 1, "position": "right"})
    assert "日" in k.radicals


def test_components_are_depth_first_with_levels():
    """Nested components come right after their parent, one level deeper (亜: 二 > 一, then 口)."""
    comps = kanjivg.load("亜").components
    elements = [c["element"] for c in comps]
    assert elements.index("二") < elements.index("一")
    assert comps[elements.index("一")]["level"] == comps[elements.index("二")]["level"] + 1
    assert all(set(c) == {"element", "level", "position"} for c in comps)


def test_shared_components():
    """Kanji built on the same part list it: 林 and 森 contain 木; 海 and 池 contain 氵."""
    for char, part in [("林", "木"), ("森", "木"), ("海", "氵"), ("池", "氵"), ("休", "亻"), ("味", "口")]:
        assert part in [c["element"] for c in kanjivg.load(char).components], char


def test_parse_path_absolute_and_relative():
    """M/L/H/V/Z and their relative forms land on the right points."""
    pts = kanjivg.parse_path("M10,10 L20,10 l0,10 h-5 v5 H0 V0 z")
    np.testing.assert_allclose(pts, [[10, 10], [20, 10], [20, 20], [15, 20], [15, 25], [0, 25], [0, 0], [10, 10]])


def test_parse_path_curves():
    """Cubic curves end at their end point and pass through the Bézier midpoint; S mirrors the last control."""
    pts = kanjivg.parse_path("M0,0 C0,10 10,10 10,0")
    np.testing.assert_allclose(pts[-1], [10, 0], atol=1e-5)
    assert np.isclose(pts[:, 1].max(), 7.5, atol=1e-5)  # B(0.5).y = 3/8*10 + 3/8*10
    rel = kanjivg.parse_path("M0,0 c0,10 10,10 10,0 s10,-10 10,0")
    np.testing.assert_allclose(rel[len(pts) - 1], [10, 0], atol=1e-5)
    np.testing.assert_allclose(rel[-1], [20, 0], atol=1e-5)
    assert rel[len(pts):, 1].min() < -5  # the mirrored control point pulls the S segment below the axis


def test_parse_path_quadratic_and_smooth_quadratic():
    """Q peaks at half its control height; T mirrors the previous control point."""
    pts = kanjivg.parse_path("M0,0 Q5,10 10,0 T20,0")
    np.testing.assert_allclose(pts[-1], [20, 0], atol=1e-5)
    assert np.isclose(pts[:, 1].max(), 5, atol=1e-4) and np.isclose(pts[:, 1].min(), -5, atol=1e-4)


def test_parse_path_implicit_lineto_after_moveto():
    """Extra coordinate pairs after M are line-tos (SVG rule)."""
    np.testing.assert_allclose(kanjivg.parse_path("M0,0 5,5 10,0"), [[0, 0], [5, 5], [10, 0]])


@pytest.mark.parametrize("bad", ["", "10,10", "M10", "C1,2,3"])
def test_parse_path_rejects_malformed_data(bad):
    """Malformed path data raises ValueError instead of producing a wrong stroke."""
    with pytest.raises(ValueError):
        kanjivg.parse_path(bad)


def test_missing_character_is_a_user_error():
    """A character without an SVG raises UserError naming the file it looked for."""
    assert not kanjivg.has("😀")
    with pytest.raises(UserError, match=r"1f600\.svg"):
        kanjivg.load("😀")


def test_variant_files_are_not_used():
    """The file chosen for a character is the plain <codepoint>.svg, never a '-Variant' file."""
    assert kanjivg.svg_path("一").name == "04e00.svg"


def test_metadata_equals_the_full_parse():
    """kanjivg.metadata (a scan of the <g> tags, used by `kanjiedge dataset`) gives load()'s stroke count and
    components for every ETL9G character (split components, transparent groups, nesting levels and positions)."""
    from kanjiedge import charsets

    for ch in charsets.charset("ETL9G").chars[::7]:
        k = kanjivg.load(ch)
        assert kanjivg.metadata(ch) == (k.n_strokes, tuple(dict(c) for c in k.components)), ch
    with pytest.raises(UserError, match="no KanjiVG SVG"):
        kanjivg.metadata("\u0001")
