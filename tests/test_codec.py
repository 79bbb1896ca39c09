"""C codec (through kanjiedge.native) against the independent pure-Python reference in etl_reference.py:
record fields and raw pixels for every record type, the resize/normalize algorithm of ke.h (exact equality),
and the geometric promises of the bbox / moment modes."""

import random
import re
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from etl_reference import LAYOUT, decode, normalize, pack

from kanjiedge import native

TYPES = list(LAYOUT)
CODE = {"M": 0xB1, "K": (4 << 6) | 4, "C": 0xB6, "B8": 0x2422, "B9": 0x3021, "G8": 0x2422, "G9": 0x3021}


def random_pixels(rtype: str, seed: int, blob: bool = False) -> list:
    """Rows of random levels (or a random ink blob on paper) at the type's native frame size."""
    _, w, h, bpp, _ = LAYOUT[rtype]
    r = random.Random(seed)
    top = (1 << bpp) - 1
    if not blob:
        return [[r.randint(0, top) for _ in range(w)] for _ in range(h)]
    x0, y0 = r.randrange(w // 2), r.randrange(h // 2)
    x1, y1 = r.randrange(x0 + 2, w + 1), r.randrange(y0 + 2, h + 1)
    return [[r.randint(1, top) if x0 <= x < x1 and y0 <= y < y1 and r.random() < 0.6 else 0 for x in range(w)]
            for y in range(h)]


def test_version_and_layouts():
    """The loaded extension was built from this checkout's C source (a stale build reports an older KE_VERSION)."""
    header = (Path(__file__).resolve().parents[1] / "csrc" / "ke.h").read_text()
    assert native.VERSION == int(re.search(r"#define KE_VERSION (\d+)", header).group(1))
    for rtype, (nbytes, w, h, bpp, off) in LAYOUT.items():
        assert native.layout(rtype) == native.Layout(nbytes, w, h, bpp, off)


@pytest.mark.parametrize("rtype", TYPES)
def test_raw_pixels_match_reference(rtype):
    rec = pack(rtype, CODE[rtype], 7, random_pixels(rtype, seed=len(rtype) * 13))
    ref = decode(rtype, rec)
    np.testing.assert_array_equal(native.decode_raw(rtype, rec), np.array(ref["pixels"], np.uint8))


@pytest.mark.parametrize("rtype", TYPES)
def test_batch_meta_and_raw_match_reference(rtype):
    recs = [pack(rtype, CODE[rtype], 40 + i, random_pixels(rtype, seed=i), mark="ABCD"[i], klass="H  A")
            for i in range(4)]
    lay = native.layout(rtype)
    images = np.empty((4, lay.height, lay.width), np.uint8)
    meta = np.empty(4, native.META_DTYPE)
    native.decode_batch(rtype, b"".join(recs), 4, images, meta)
    for i, rec in enumerate(recs):
        ref = decode(rtype, rec)
        assert (int(meta[i]["code"]), int(meta[i]["sheet"]), int(meta[i]["aux"])) == (ref["code"], ref["sheet"],
                                                                                      ref["aux"])
        np.testing.assert_array_equal(images[i], np.array(ref["pixels"], np.uint8))


def test_g8_and_g9_differ_only_in_image_offset():
    px = random_pixels("G9", seed=3)
    g9 = pack("G9", 0x3021, 1, px)
    np.testing.assert_array_equal(native.decode_raw("G9", g9), np.array(px, np.uint8))
    # reading a 9G record as 8G shifts the image by 4 bytes = 8 pixels: the classic extractor bug
    shifted = native.decode_raw("G8", g9)
    np.testing.assert_array_equal(shifted.ravel()[8:], np.array(px, np.uint8).ravel()[:-8])


@pytest.mark.parametrize("rtype", TYPES)
@pytest.mark.parametrize("mode", ["none", "bbox", "moment"])
def test_fused_resize_matches_reference(rtype, mode):
    px = random_pixels(rtype, seed=zlib.crc32(f"{rtype}{mode}".encode()), blob=True)
    rec = pack(rtype, CODE[rtype], 1, px)
    lay = native.layout(rtype)
    out = np.empty((1, 12, 10), np.uint8)
    native.decode_batch(rtype, rec, 1, out, None, size=(12, 10), mode=mode)
    np.testing.assert_array_equal(out[0], np.array(normalize(px, lay.max_level, 12, 10, mode), np.uint8))


@pytest.mark.parametrize("rtype", TYPES)
@pytest.mark.parametrize("mode", ["clean-bbox", "clean-moment"])
def test_fused_cleaned_resize_matches_reference(rtype, mode):
    """Cleaned modes in the batch decoder = the cleaning step (tests/test_clean.py checks it against a Python
    transcription) followed by the reference bbox / moment resize, byte for byte, for every record type."""
    px = random_pixels(rtype, seed=zlib.crc32(f"{rtype}{mode}".encode()), blob=True)
    lay = native.layout(rtype)
    px[0][: lay.width // 4] = [lay.max_level] * (lay.width // 4)  # a fragment along the top edge
    out = np.empty((1, 12, 10), np.uint8)
    native.decode_batch(rtype, pack(rtype, CODE[rtype], 1, px), 1, out, None, size=(12, 10), mode=mode)
    cleaned = native.clean(np.array(px, np.uint8), lay.max_level).tolist()
    want = normalize(cleaned, lay.max_level, 12, 10, mode.removeprefix("clean-"))
    np.testing.assert_array_equal(out[0], np.array(want, np.uint8))


@pytest.mark.parametrize("rtype, size", [("G9", (64, 64)), ("M", (63, 32)), ("B9", (63, 64)), ("C", (38, 24))])
def test_integer_pitch_resize_matches_reference(rtype, size):
    """Whole-pixel pitches take C's integer fast path; it must stay bit-identical to the ke.h algorithm."""
    px = random_pixels(rtype, seed=5)
    out = np.empty((1, *size), np.uint8)
    native.decode_batch(rtype, pack(rtype, CODE[rtype], 1, px), 1, out, None, size=size, mode="none")
    np.testing.assert_array_equal(out[0], np.array(normalize(px, native.layout(rtype).max_level, *size, "none"),
                                                    np.uint8))


@pytest.mark.parametrize("mode", ["none", "bbox", "moment"])
@pytest.mark.parametrize("shape", [(37, 53), (200, 90), (5, 5), (64, 64), (16, 300)])
def test_normalize_any_grey_image_matches_reference(mode, shape):
    r = random.Random(zlib.crc32(f"{mode}{shape}".encode()))
    px = [[r.randint(0, 255) if r.random() < 0.3 else 0 for _ in range(shape[1])] for _ in range(shape[0])]
    got = native.normalize(np.array(px, np.uint8), 16, mode)
    np.testing.assert_array_equal(got, np.array(normalize(px, 255, 16, 16, mode), np.uint8))


def test_none_mode_scales_full_ink_to_255_and_paper_to_0():
    img = np.zeros((127, 128), np.uint8)
    img[:, 64:] = 15
    out = native.normalize(img, 64, "none", max_level=15)
    assert out[:, :32].max() == 0 and out[:, 32:].min() == 255


def _ink_image(seed: int) -> np.ndarray:
    """A small off-centre 'character': a few random thick strokes in a 128x127 frame, 4-bit levels."""
    r = np.random.default_rng(seed)
    img = np.zeros((127, 128), np.uint8)
    x0, y0 = r.integers(5, 60), r.integers(5, 60)
    for _ in range(4):
        ya, xa = y0 + r.integers(0, 40), x0 + r.integers(0, 50)
        if r.random() < 0.5:
            img[ya:ya + 3, xa:xa + r.integers(5, 30)] = r.integers(6, 16)
        else:
            img[ya:ya + r.integers(5, 30), xa:xa + 3] = r.integers(6, 16)
    return img


@pytest.mark.parametrize("seed", range(8))
def test_bbox_touches_the_frame_on_the_long_side(seed):
    img = _ink_image(seed)
    ys, xs = np.nonzero(img)
    out = native.normalize(img, 64, "bbox", max_level=15)
    rows, cols = np.nonzero(out)
    if np.ptp(xs) >= np.ptp(ys):
        assert cols.min() == 0 and cols.max() == 63
    else:
        assert rows.min() == 0 and rows.max() == 63


@pytest.mark.parametrize("seed", range(8))
def test_moment_puts_the_centroid_at_the_centre(seed):
    out = native.normalize(_ink_image(seed), 64, "moment", max_level=15).astype(np.float64)
    ys, xs = np.mgrid[0:64, 0:64] + 0.5
    cy, cx = (out * ys).sum() / out.sum(), (out * xs).sum() / out.sum()
    assert abs(cx - 32) <= 1 and abs(cy - 32) <= 1


def test_blank_image_normalizes_to_blank():
    for mode in ("none", "bbox", "moment"):
        assert native.normalize(np.zeros((63, 64), np.uint8), 32, mode).max() == 0


def test_native_rejects_bad_buffers_and_arguments():
    rec = pack("G9", 0x3021, 1, random_pixels("G9", seed=1))
    with pytest.raises(native.NativeError, match="truncated"):
        native.decode_raw("G9", rec[:-1])
    with pytest.raises(ValueError, match="shape"):
        native.decode_batch("G9", rec, 1, np.empty((1, 64, 64), np.uint8), None)
    with pytest.raises(ValueError, match="size"):
        native.normalize(np.zeros((8, 8), np.uint8), 0)
    with pytest.raises(ValueError, match="mode"):
        native.normalize(np.zeros((8, 8), np.uint8), 8, "stretch")
    with pytest.raises(native.NativeError, match="truncated"):
        native.decode_batch("G9", rec, 2, np.empty((2, 127, 128), np.uint8), None)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), h=st.integers(1, 24), w=st.integers(1, 24), oh=st.integers(1, 20), ow=st.integers(1, 20),
       mode=st.sampled_from(["none", "bbox", "moment"]), maxlevel=st.sampled_from([1, 15, 63, 255]))
def test_normalize_matches_reference_on_random_images(data, h, w, oh, ow, mode, maxlevel):
    px = data.draw(st.lists(st.lists(st.integers(0, maxlevel), min_size=w, max_size=w), min_size=h, max_size=h))
    got = native.normalize(np.array(px, np.uint8), (oh, ow), mode, max_level=maxlevel)
    np.testing.assert_array_equal(got, np.array(normalize(px, maxlevel, oh, ow, mode), np.uint8))


@pytest.mark.parametrize("mode", ["bbox", "moment"])
@pytest.mark.parametrize("size", [(64, 64), (70, 50), (24, 40)])
def test_grid_resize_of_a_full_frame_matches_reference(mode, size):
    """Full-size G9 frames through C's integer resampler (16-row blocks, SIMD transposes and their scalar tails)
    must give the reference's bytes exactly."""
    px = random_pixels("G9", seed=zlib.crc32(f"{mode}{size}".encode()), blob=True)
    out = np.empty((1, *size), np.uint8)
    native.decode_batch("G9", pack("G9", CODE["G9"], 1, px), 1, out, None, size=size, mode=mode)
    np.testing.assert_array_equal(out[0], np.array(normalize(px, 15, *size, mode), np.uint8))
