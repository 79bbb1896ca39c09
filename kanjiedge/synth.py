"""Synthetic ETL writer: renders characters from KanjiVG strokes in per-writer handwriting styles and writes
genuine ETL files (every record type the decoder reads), because the real ETL data may not be redistributed.

    kanjiedge synth --format etl9g --writers 16 --seed 0 --out artifacts/synth/etl9g
    kanjiedge synth --format etl1 --writers 3 --chars 10 --out /tmp/etl1

Each writer ("data set" in ETL terms) has a style drawn from the seed: glyph size and off-centre position in the
frame, slant, rotation, aspect, pen width, ink darkness, a smooth personal warp, stroke jitter and curvature
noise; every sample adds its own smaller variation, pressure/grey texture along strokes and scanner noise.
Glyphs are drawn anti-aliased at 4x and area-downsampled, then quantized to the format's levels (0 = paper).
Randomness is seeded per (seed, writer, character), so output does not depend on process scheduling.

File layout (documented simplifications of the real sets, see docs/etl-format.md):
* every format is written data-set-major: writer 1's whole sheet, then writer 2's ...; records of a data set
  follow kanjiedge.charsets order. ETL9G: 4 data sets (12,144 records) per `ETL9G_NN`, ETL8G: 5 per `ETL8G_NN`;
  when the writer count is not a multiple of that, the last file holds the remaining data sets (fewer records).
* sheet numbers are global: data set d (1-based) uses sheets 20(d-1)+1 .. 20d (ETL8: 10 sheets per set), as in
  ETL9B. M- and C-type records carry the writer's sheet number directly (one sheet per writer, 1001, 1002...).
* B-type files (ETL8B2C1, ETL9B_1) start with the all-zero dummy record; their images are the G-type rendering
  binarised and halved to 64x63, as ETL9B was made from ETL9G.
* K-type (ETL2) is printed type: the same renderer with a fixed pen and little jitter, 6-bit levels; writer w
  gets the style mark "ABCD"[w % 4] (ETL2's "writers" are typefaces/sources).
"""

import argparse
import functools
import math
import multiprocessing as mp
import os
import re
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kanjiedge import charsets, formats, kanjivg, outputs
from kanjiedge.errors import UserError

SS = 4  # supersampling factor of the drawing canvas
_CHUNK = 192  # glyphs per worker task


# ---------------------------------------------------------------- formats

# The layouts, file names and data-set structure live in kanjiedge.formats (one table for reader and writer);
# the names stay importable from here.
Format, FORMATS, get_format = formats.Format, formats.FORMATS, formats.get_format


# ---------------------------------------------------------------- styles

@dataclass(frozen=True)
class Style:
    """One writer's handwriting habits (frame-independent units: fractions of the frame, KanjiVG units)."""

    size: float  # glyph box side / frame side
    dx: float  # centre offset, fraction of frame width
    dy: float  # centre offset, fraction of frame height
    shear: float  # x += shear * y (slant)
    rot: float  # radians
    aspect: float  # width / height multiplier
    pen: float  # pen width in KanjiVG units (109 box)
    ink: float  # darkness of full ink, 0..1
    jitter: float  # per-stroke displacement, KanjiVG units
    wobble: float  # curvature noise amplitude, KanjiVG units
    warp: tuple  # personal smooth warp: ((ax, ay, kx, ky, phase), ...) sine terms, KanjiVG units
    blur: float  # scanner blur sigma, frame pixels
    noise: float  # scanner noise sigma, fraction of full scale


@functools.lru_cache(maxsize=1024)
def writer_style(seed: int, writer: int, printed: bool = False) -> Style:
    """Deterministic style of writer `writer` (0-based) for a seed; `printed` gives a near-ideal typeface."""
    r = np.random.default_rng([seed, writer, 0x57])
    if printed:
        return Style(0.86, 0.0, 0.0, 0.0, 0.0, 1.0, 5.0 + writer % 2 * 2, 1.0, 0.1, 0.0, (), 0.6, 0.01)
    warp = tuple((r.normal(0, 1.4), r.normal(0, 1.4), r.uniform(0.02, 0.06), r.uniform(0.02, 0.06),
                  r.uniform(0, 2 * math.pi)) for _ in range(2))
    return Style(size=r.uniform(0.48, 0.64), dx=r.normal(0, 0.05), dy=r.normal(0, 0.05),
                 shear=r.normal(0, 0.08), rot=r.normal(0, 0.03), aspect=math.exp(r.normal(0, 0.06)),
                 pen=r.uniform(3.0, 5.6), ink=r.uniform(0.72, 1.0), jitter=r.uniform(0.6, 1.6),
                 wobble=r.uniform(0.4, 1.3), warp=warp, blur=r.uniform(0.35, 0.8), noise=r.uniform(0.01, 0.035))


# ---------------------------------------------------------------- rendering

def _resample(poly: np.ndarray, step: float = 2.0) -> np.ndarray:
    """Points every `step` units along a polyline [P,2] -> [Q,2] (Q >= 2)."""
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(poly, axis=0).T))])
    t = np.linspace(0.0, s[-1], max(2, int(s[-1] / step) + 1))
    if s[-1] < 1e-6:
        return np.repeat(poly[:1], 2, axis=0).astype(np.float64)
    return np.stack([np.interp(t, s, poly[:, 0]), np.interp(t, s, poly[:, 1])], axis=1)


@dataclass(frozen=True)
class Geometry:
    """A character's strokes resampled and flattened for vectorized jitter (cached per character)."""

    pts: np.ndarray  # float64 [P,2] all stroke points, KanjiVG units
    sid: np.ndarray  # int [P] stroke index of each point
    u: np.ndarray  # float64 [P] position along its stroke, 0..1
    normal: np.ndarray  # float64 [P,2] unit normal of the stroke at each point
    centre: np.ndarray  # float64 [S,2] stroke centroids
    bend_scale: np.ndarray  # float64 [S] curvature-noise scale (short strokes bend less)
    splits: np.ndarray  # int [S-1] where to split pts back into strokes


@functools.lru_cache(maxsize=4096)
def geometry(char: str) -> Geometry:
    """Resampled stroke geometry of `char` (see Geometry)."""
    strokes = [_resample(st.astype(np.float64)) for st in kanjivg.load(char).strokes]
    sizes = np.array([len(st) for st in strokes])
    tang = np.concatenate([np.gradient(st, axis=0) for st in strokes])
    normal = np.stack([-tang[:, 1], tang[:, 0]], 1) / (np.hypot(*tang.T)[:, None] + 1e-9)
    lengths = np.array([np.hypot(*np.diff(st, axis=0).T).sum() for st in strokes])
    return Geometry(np.concatenate(strokes), np.repeat(np.arange(len(strokes)), sizes),
                    np.concatenate([np.linspace(0, 1, n) for n in sizes]), normal,
                    np.array([st.mean(axis=0) for st in strokes]), np.clip((lengths - 4) / 26, 0, 1),
                    np.cumsum(sizes)[:-1])


_FREQS = np.array([1.0, 2.0, 3.0])  # half-waves per stroke of the curvature noise


def _jitter(g: Geometry, style: Style, r) -> np.ndarray:
    """Per-stroke jitter (shift, turn, scale about the stroke centre) + smooth curvature noise. [P,2]."""
    n = len(g.centre)
    a, k = r.normal(0, 0.04, n), 1 + r.normal(0, 0.04, n)
    shift = r.normal(0, style.jitter, (n, 2))
    amp = r.normal(0, 1, (n, 3)) * (style.wobble / _FREQS) * g.bend_scale[:, None]
    phase = r.uniform(0, 2 * math.pi, (n, 3))
    d = g.pts - g.centre[g.sid]
    ca, sa, kk = np.cos(a)[g.sid], np.sin(a)[g.sid], k[g.sid]
    out = np.stack([ca * d[:, 0] - sa * d[:, 1], sa * d[:, 0] + ca * d[:, 1]], 1) * kk[:, None]
    out += g.centre[g.sid] + shift[g.sid]
    bend = (amp[g.sid] * np.sin(math.pi * g.u[:, None] * _FREQS + phase[g.sid])).sum(1)
    return out + g.normal * bend[:, None]


def _warp(pts: np.ndarray, terms) -> np.ndarray:
    """Writer's smooth personal warp field applied to points [Q,2] (KanjiVG units)."""
    if not terms:
        return pts
    out = pts.copy()
    for ax, ay, kx, ky, ph in terms:
        phase = pts[:, 0] * kx + pts[:, 1] * ky + ph
        out[:, 0] += ax * np.sin(phase)
        out[:, 1] += ay * np.cos(phase)
    return out


def _sample_style(style: Style, r) -> Style:
    """Per-sample variation around the writer's style (smaller than between writers)."""
    return Style(size=style.size * math.exp(r.normal(0, 0.05)), dx=style.dx + r.normal(0, 0.025),
                 dy=style.dy + r.normal(0, 0.025), shear=style.shear + r.normal(0, 0.03),
                 rot=style.rot + r.normal(0, 0.02), aspect=style.aspect * math.exp(r.normal(0, 0.03)),
                 pen=style.pen * math.exp(r.normal(0, 0.08)), ink=min(1.0, style.ink * math.exp(r.normal(0, 0.05))),
                 jitter=style.jitter, wobble=style.wobble, warp=style.warp, blur=style.blur, noise=style.noise)


def _glyph_matrix(s: Style, frame: tuple) -> np.ndarray:
    """2x3 affine from the KanjiVG box to supersampled canvas pixels: centre, slant, turn, aspect, size, offset."""
    h, w = frame
    scale = s.size * min(h, w) / kanjivg.BOX * SS
    sx, sy = scale * math.sqrt(s.aspect), scale / math.sqrt(s.aspect)
    ca, sa = math.cos(s.rot), math.sin(s.rot)
    lin = np.array([[ca, -sa], [sa, ca]]) @ np.array([[1.0, s.shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    # keep the glyph inside the frame: half its box, widened by slant/turn/aspect, plus a pen-width margin
    half_x = s.size * min(h, w) / 2 * (math.sqrt(s.aspect) + abs(s.shear) + abs(s.rot)) + 2
    half_y = s.size * min(h, w) / 2 * (1 / math.sqrt(s.aspect) + abs(s.rot)) + 2
    cx = min(max(w / 2 + s.dx * w, half_x), max(w - half_x, half_x)) * SS
    cy = min(max(h / 2 + s.dy * h, half_y), max(h - half_y, half_y)) * SS
    centre = np.array([kanjivg.BOX / 2, kanjivg.BOX / 2])
    return np.hstack([lin, (np.array([cx, cy]) - lin @ centre)[:, None]])


def render(char: str, style: Style, frame: tuple, rng) -> np.ndarray:
    """Draw one handwritten sample of `char`.

    Args:
        char: a character KanjiVG has.
        style: the writer's style (per-sample variation is added here).
        frame: (H, W) of the output image.
        rng: numpy Generator seeded for this (writer, character).

    Returns:
        float32 [H, W] ink density, 0 = paper .. 1 = full ink (before quantization).
    """
    s = _sample_style(style, rng)
    h, w = frame
    m = _glyph_matrix(s, frame)
    canvas = np.zeros((h * SS, w * SS), np.uint8)
    pen_px = s.pen * float(np.linalg.norm(m[:, 0]))
    g = geometry(char)
    px = _warp(_jitter(g, s, rng), s.warp) @ m[:, :2].T + m[:, 2]
    px = np.round(px * 4).astype(np.int32)  # 2 fractional bits (shift=2)
    greys = 255 * np.clip(rng.normal(1.0, 0.06, len(g.centre)), 0.35, 1.0)
    thick = np.maximum(1, np.rint(pen_px * np.exp(rng.normal(0, 0.08, len(g.centre))))).astype(int)
    for stroke, grey, t in zip(np.split(px, g.splits), greys.astype(int).tolist(), thick.tolist()):
        cv2.polylines(canvas, [stroke], False, grey, t, cv2.LINE_AA, shift=2)
    ink = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    return _paper_and_scanner(ink, s, rng)


def _paper_and_scanner(ink: np.ndarray, s: Style, rng) -> np.ndarray:
    """Pressure texture along strokes, scanner blur and noise. [H,W] float32 in 0..1."""
    h, w = ink.shape
    texture = cv2.resize(rng.standard_normal((h // 8 + 2, w // 8 + 2), dtype=np.float32), (w, h),
                         interpolation=cv2.INTER_CUBIC)
    ink = ink * s.ink * np.clip(1 + 0.12 * texture, 0.6, 1.2)
    if s.blur > 0:
        ink = cv2.GaussianBlur(ink, (0, 0), s.blur)
    ink += rng.standard_normal(ink.shape, dtype=np.float32) * np.float32(s.noise)
    return np.clip(ink, 0, 1)


def quantize(density: np.ndarray, bpp: int) -> np.ndarray:
    """Ink density 0..1 -> uint8 levels 0..2^bpp-1 (0 = paper)."""
    top = (1 << bpp) - 1
    return np.clip(np.rint(density * top * 1.15 - 0.3), 0, top).astype(np.uint8)


def binarize_half(levels: np.ndarray) -> np.ndarray:
    """G-type 4-bit levels [127,128] -> B-type 1-bit image [63,64] (threshold, then 2x2 majority-ish)."""
    ink = (levels[:126] >= 4).astype(np.float32)
    half = cv2.resize(ink, (64, 63), interpolation=cv2.INTER_AREA)
    return (half >= 0.35).astype(np.uint8)


# ---------------------------------------------------------------- record encoding

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


def record_g(fmt: Format, s: Sample, levels: np.ndarray) -> bytes:
    """G-type record (ETL8G image at 60, ETL9G at 64), 8199 bytes."""
    head = struct.pack(">HH8sIBBBBHHHHBB", s.sheet, s.code, _reading(s.char, 8), s.serial, 0, 0, 0, 0, 0, 0,
                       8212, 8310, s.index % 10, s.index // 10 % 16)
    head = head.ljust(fmt.img_off, b"\0") + pack4(levels)
    return head.ljust(fmt.record, b"\0")


def record_b(fmt: Format, s: Sample, bits: np.ndarray) -> bytes:
    """B-type record (ETL8B2 512 B, ETL9B 576 B): header + 64x63 1 bpp image."""
    return (struct.pack(">HH4s", s.sheet, s.code, _reading(s.char, 4)) + pack1(bits)).ljust(fmt.record, b"\0")


def record_m(fmt: Format, s: Sample, levels: np.ndarray) -> bytes:
    """M-type record (ETL1/6/7), 2052 bytes; label = JIS X 0201 byte at offset 6."""
    name = romaji(s.char).rjust(2)[:2].encode("ascii")
    head = struct.pack(">H2sHBBBBBBIHHHHBBBB4x", s.index + 1, name, s.sheet, s.code, 0, 0, 0, 1, 25, s.serial,
                       0, 0, 7309, 7310, s.index // 16 + 1, s.index % 16 + 1, 0, 255)
    return head + pack4(levels) + b"\0" * 4


def record_c(fmt: Format, s: Sample, levels: np.ndarray) -> bytes:
    """C-type record (ETL3/4/5), 3936 six-bit chars = 2952 bytes; image (4 bpp bytes) at byte 216."""
    kind = {"ETL3": "A" if s.char.isalpha() else ("N" if s.char.isdigit() else "S"),
            "ETL4": "H", "ETL5": "K"}[fmt.name]
    fields = [s.serial, s.sheet, s.code << 28, 0]  # JIS / EBCDIC are the leftmost 8 bits of 36
    six = [d for n in fields for d in _six(n)] + _t56(kind + romaji(s.char).rjust(3)) + _t56("  ")
    numbers = [0, 0, s.index // 16 + 1, s.index % 16, 1, 23, 0, 0, 741202, 741216, 72, 76, 16, 133, 0]
    six += [d for n in numbers for d in _six(n)]
    six += [0] * (288 - len(six))
    return pack6(six) + pack4(levels)


def record_k(fmt: Format, s: Sample, levels: np.ndarray) -> bytes:
    """K-type record (ETL2), 3660 six-bit chars = 2745 bytes; CO-59 code at chars 29-30, 6-bit image."""
    contents = "KANJI " if ord(s.char) >= 0x4E00 else ("HRKANA" if "ぁ" <= s.char <= "ゖ" else
                                                        "KTKANA" if "ァ" <= s.char <= "ヺ" else "KIGO  ")
    mark = "ABCD"[s.writer % 4]  # "writers" of printed ETL2 are the four typeface/source marks
    face = "GOTHIC" if mark in "BD" else "MINCHO"
    six = _six(s.serial) + _t56(mark + " " * 5 + contents + face) + [0] * 4 + [s.code >> 6, s.code & 63]
    six += [0] * (60 - len(six))
    return pack6(six + levels.ravel().tolist())


# ---------------------------------------------------------------- one glyph / one chunk

def _frame_for(fmt: Format) -> tuple:
    return (127, 128) if fmt.kind == "B" else fmt.frame


def glyph_levels(fmt: Format, seed: int, s: Sample) -> np.ndarray:
    """The stored image of one sample: uint8 levels [H,W] (0 = paper), deterministic for (seed, writer, code)."""
    style = writer_style(seed, s.writer, printed=fmt.kind == "K")
    if fmt.kind in "MC":  # ETL1-7 glyphs fill more of their (smaller) frames
        style = Style(**{**style.__dict__, "size": min(0.84, style.size * 1.4), "pen": style.pen * 1.1})
    rng = np.random.default_rng([seed, s.writer, s.code, 0x9A])
    density = render(s.char, style, _frame_for(fmt), rng)
    if fmt.kind == "B":
        return binarize_half(quantize(density, 4))
    return quantize(density, fmt.bpp)


_ENCODERS = {"G": record_g, "B": record_b, "M": record_m, "C": record_c, "K": record_k}


def encode(fmt: Format, s: Sample, levels: np.ndarray) -> bytes:
    """One record of `fmt` with image `levels` (uint8 [H,W] in the format's frame and bit depth)."""
    return _ENCODERS[fmt.kind](fmt, s, levels)


def render_chunk(task) -> bytes:
    """Worker: render and encode a list of samples -> concatenated records."""
    fmt_key, seed, items = task
    fmt = FORMATS[fmt_key]
    return b"".join(encode(fmt, s, glyph_levels(fmt, seed, s)) for s in items)


# ---------------------------------------------------------------- files

def _sheet(fmt: Format, writer: int, index: int, n: int) -> int:
    if fmt.kind in "GB":  # global sheets: data set d uses sheets spd*(d-1)+1 .. spd*d
        return fmt.sheets_per_set * writer + 1 + index * fmt.sheets_per_set // n
    return 1001 + writer  # M/C: one sheet per writer; K: a frame-group number


def plan_files(fmt: Format, writers: int) -> list[tuple[str, range]]:
    """[(file name, writers in it)], data-set-major; the last file holds the remainder."""
    n_files = max(1, math.ceil(writers / fmt.sets_per_file))
    if "{i" not in fmt.file_pattern and n_files > 1:
        raise UserError(f"{fmt.name} is a single file; at most {fmt.sets_per_file} writers")
    return [(fmt.file_pattern.format(i=k + 1), range(k * fmt.sets_per_file, min((k + 1) * fmt.sets_per_file,
                                                                                  writers)))
            for k in range(n_files)]


def samples(fmt: Format, cs: charsets.Charset, writer: int) -> list[Sample]:
    """The records writer `writer` (0-based) contributes: one Sample per character of `cs`, in sheet order."""
    n = len(cs)
    return [Sample(code, ch, writer, i, writer * n + i + 1, _sheet(fmt, writer, i, n))
            for i, (code, ch) in enumerate(zip(cs.codes, cs.chars))]


def _tasks(fmt_key: str, seed: int, cs: charsets.Charset, writers: range):
    for w in writers:
        items = samples(FORMATS[fmt_key], cs, w)
        for k in range(0, len(items), _CHUNK):
            yield fmt_key, seed, items[k:k + _CHUNK]


def write(fmt_name: str, writers: int, seed: int, out, chars=None, jobs: int | None = None,
          progress: bool = True) -> list[Path]:
    """Render `writers` data sets of a format and write them as ETL files into `out`.

    Args:
        fmt_name: "etl9g", "etl8g", "etl9b", "etl8b2", "etl1", "etl2", ... (see FORMATS).
        writers: number of writers (data sets), >= 1.
        seed: random seed; the same seed gives byte-identical files.
        out: output folder (created); each file is written to a temporary name and renamed when complete.
        chars: None, N or a string of characters (kanjiedge.charsets.select).
        jobs: worker processes (default: all cores).
        progress: show a tqdm bar on stderr.

    Returns:
        Paths of the files written, in order.
    """
    fmt = get_format(fmt_name)
    if writers < 1:
        raise UserError(f"--writers must be >= 1 (got {writers})")
    cs = charsets.select(charsets.charset(fmt.charset), chars)
    plan = plan_files(fmt, writers)
    out = outputs.claim(out, "synth")
    jobs = max(1, jobs or os.cpu_count() or 1)
    if jobs > 1:
        for ch in cs.chars:  # parse before forking so the workers share one cache
            geometry(ch)
    from tqdm import tqdm

    bar = tqdm(total=writers * len(cs), unit="glyph", desc=f"synth {fmt.name}", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    pool = mp.get_context("fork").Pool(jobs) if jobs > 1 else None
    try:
        paths = [_write_file(out / name, fmt, seed, cs, group, pool, bar) for name, group in plan]
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
    _remove_stale(out, fmt, {p.name for p in paths})
    return paths


def _write_file(path: Path, fmt: Format, seed: int, cs, group: range, pool, bar) -> Path:
    """Write one ETL file atomically (temporary sibling, then rename)."""
    from kanjiedge.atomic import atomic_path

    key = fmt.name.lower()
    tasks = _tasks(key, seed, cs, group)
    chunks = pool.imap(render_chunk, tasks) if pool is not None else map(render_chunk, tasks)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        if fmt.kind == "B":
            f.write(b"\0" * fmt.record)  # the leading dummy record of B-type files
        for chunk in chunks:
            f.write(chunk)
            bar.update(len(chunk) // fmt.record)
    return path


def _remove_stale(out: Path, fmt: Format, keep: set):
    """Drop files of this format left by an earlier run with more writers (they would be read as data)."""
    prefix = fmt.file_pattern.split("{")[0]
    for p in out.glob(prefix + "*"):
        if p.name not in keep and p.is_file() and re.fullmatch(re.escape(prefix) + r"\d+", p.name):
            p.unlink()


def preview(paths, png, chars: int = 12, writers: int = 8) -> Path:
    """Save a grid of stored samples (rows = writers, columns = characters, black ink on white) as a PNG.

    Reads the records back with kanjiedge.etl, so the picture shows exactly what the files hold.
    """
    from kanjiedge import etl
    from kanjiedge.atomic import write_bytes

    recs = etl.read_many(paths)
    top = int(recs.images.max()) or 1
    per_set = len(set(recs.codes))
    n_sets = len(recs) // per_set
    cols = np.linspace(0, per_set - 1, min(chars, per_set)).round().astype(int)
    rows = np.linspace(0, n_sets - 1, min(writers, n_sets)).round().astype(int)
    tiles = [[255 - recs.images[r * per_set + c].astype(np.int32) * 255 // top for c in cols] for r in rows]
    grid = np.vstack([np.hstack([np.pad(t, 1, constant_values=160) for t in row]) for row in tiles])
    ok, data = cv2.imencode(".png", grid.astype(np.uint8))
    write_bytes(outputs.check_file(png, "synth", paths), outputs.mark_png(data.tobytes(), "synth"))
    return Path(png)


# ---------------------------------------------------------------- CLI

def _chars_arg(text: str):
    return int(text) if text.isdigit() else text


def cli(argv: list[str]) -> int:
    """`kanjiedge synth`: write synthetic ETL files."""
    p = argparse.ArgumentParser(prog="kanjiedge synth", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="formats: " + ", ".join(f"{k} ({f.kind}-type)" for k, f in FORMATS.items()))
    p.add_argument("--format", default="etl9g", choices=sorted(FORMATS), help="ETL database to imitate")
    p.add_argument("--writers", type=int, default=16, help="writers (data sets) to render (default 16)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed -> identical files)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--chars", type=_chars_arg, default=None,
                   help="subset: N (N characters spread over the set) or a string of characters (default: all)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--preview", metavar="PNG", default=None,
                   help="also save a grid of samples (writers x characters) read back from the files")
    a = p.parse_args(argv)
    if a.preview:
        outputs.check_file(a.preview, "synth")  # before the rendering, not after it
    t0 = time.perf_counter()
    paths = write(a.format, a.writers, a.seed, a.out, a.chars, a.jobs, not a.no_progress)
    n = a.writers * len(charsets.select(charsets.charset(get_format(a.format).charset), a.chars))
    dt = time.perf_counter() - t0
    print(f"wrote {len(paths)} file(s), {n} glyphs to {a.out} in {dt:.1f} s ({n / dt:.0f} glyphs/s)")
    if a.preview:
        print(f"preview: {preview(paths, a.preview)}")
    return 0
