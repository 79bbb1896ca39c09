"""Rendering of the synthetic writer: pen paths (kanjiedge.synth_strokes) drawn into a record's frame with pieces of
the neighbouring characters at the edges, then paper, pressure texture, scanner blur and noise, and quantization
to the format's levels.

Glyphs are drawn anti-aliased at SS x the frame and area-downsampled. Randomness is seeded per (seed, writer,
character), so a record's image does not depend on process scheduling or on which other records are written.

Neighbour fragments: on a real ETL form the characters sit in a grid of cells, and the scanner's cut of one cell
often takes in a stroke end of the character next to it (74 % of real ETL9G records, 3 % of ETL1). Here each
frame edge independently gets, with the look's probability, the same writer's rendering of the character next to
this one in the set's sheet order, placed so that its nearest ink reaches a random depth into the frame.
"""

import functools
import math

import cv2
import numpy as np

from kanjiedge import charsets, kanjivg
from kanjiedge.synth_strokes import Paths, geometry, jitter, pen_paths, warp
from kanjiedge.synth_style import Look, Style, look_for, sample_style, writer_style

SS = 2  # supersampling factor of the drawing canvas
EDGES = ("left", "right", "top", "bottom")


def glyph_matrix(s: Style, frame: tuple) -> np.ndarray:
    """2x3 affine from the KanjiVG box to supersampled canvas pixels: centre, slant, turn, aspect, size, offset.
    The box centre is clamped so the glyph stays inside the frame (the character itself is never cut)."""
    h, w = frame
    scale = s.size * min(h, w) / kanjivg.BOX * SS
    sx, sy = scale * math.sqrt(s.aspect), scale / math.sqrt(s.aspect)
    ca, sa = math.cos(s.rot), math.sin(s.rot)
    lin = np.array([[ca, -sa], [sa, ca]]) @ np.array([[1.0, s.shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    half_x = s.size * min(h, w) / 2 * (math.sqrt(s.aspect) + abs(s.shear) + abs(s.rot)) * 0.85 + 2
    half_y = s.size * min(h, w) / 2 * (1 / math.sqrt(s.aspect) + abs(s.rot)) * 0.85 + 2
    cx = min(max(w / 2 + s.dx * w, half_x), max(w - half_x, half_x)) * SS
    cy = min(max(h / 2 + s.dy * h, half_y), max(h - half_y, half_y)) * SS
    centre = np.array([kanjivg.BOX / 2, kanjivg.BOX / 2])
    return np.hstack([lin, (np.array([cx, cy]) - lin @ centre)[:, None]])


def to_canvas(paths: Paths, s: Style, m: np.ndarray) -> list:
    """Pen paths -> canvas polylines (float64 [n,2] supersampled pixels), warped by the writer's warp."""
    sizes = [len(line) for line in paths.lines]
    pts = warp(np.concatenate(paths.lines), s.warp) @ m[:, :2].T + m[:, 2]
    return np.split(pts, np.cumsum(sizes)[:-1])


def draw(canvas: np.ndarray, lines: list, paths: Paths, pen_px: float):
    """Draw canvas polylines with their own width and darkness (anti-aliased, 2 fractional bits)."""
    for line, wf, gf in zip(lines, paths.width, paths.grey):
        thick = max(1, int(round(pen_px * wf)))
        cv2.polylines(canvas, [np.round(line * 4).astype(np.int32)], False, int(255 * gf), thick, cv2.LINE_AA,
                      shift=2)


def _shift_into(pts: np.ndarray, edge: str, depth: float, frame_px: tuple) -> np.ndarray:
    """Move a neighbour's canvas points so its ink nearest to `edge` reaches `depth` pixels into the frame."""
    h, w = frame_px
    if edge == "left":
        return pts + [depth - pts[:, 0].max(), 0.0]
    if edge == "right":
        return pts + [w - depth - pts[:, 0].min(), 0.0]
    if edge == "top":
        return pts + [0.0, depth - pts[:, 1].max()]
    return pts + [0.0, h - depth - pts[:, 1].min()]


def draw_neighbours(canvas: np.ndarray, style: Style, look: Look, neighbours: dict, frame: tuple, rng):
    """Fragments of neighbouring characters at the frame edges (see module docstring). `neighbours` maps an edge
    to the character that sits beyond it. Only a neighbour's stroke ends show, so its strokes are drawn jittered
    but without the writer's habits, one width each, and only those that reach into the frame."""
    frame_px = (frame[0] * SS, frame[1] * SS)
    for edge in EDGES:
        if rng.random() >= style.neighbours or edge not in neighbours:
            continue
        s = sample_style(style, rng, look)
        g = geometry(neighbours[edge])
        m = glyph_matrix(s, frame)
        pts = warp(jitter(g, s, rng), s.warp) @ m[:, :2].T + m[:, 2]
        side = frame_px[1] if edge in ("left", "right") else frame_px[0]
        pts = _shift_into(pts, edge, rng.uniform(*style.intrusion) * side, frame_px)
        inside = (pts[:, 0] > -SS) & (pts[:, 0] < frame_px[1] + SS) & (pts[:, 1] > -SS) & (pts[:, 1] < frame_px[0] + SS)
        strokes = [st for st, hit in zip(np.split(pts, g.splits), np.split(inside, g.splits)) if hit.any()]
        thick = max(1, int(round(s.pen * frame_px[0])))
        cv2.polylines(canvas, [np.round(st * 4).astype(np.int32) for st in strokes], False, 255, thick,
                      cv2.LINE_AA, shift=2)


def paper_and_scanner(cover: np.ndarray, s: Style, rng) -> np.ndarray:
    """Ink cover (0..1) -> density on the record: paper level, ink level with pressure texture along the strokes,
    scanner blur and noise. [H,W] float32 in 0..1."""
    h, w = cover.shape
    texture = cv2.resize(rng.standard_normal((h // 8 + 2, w // 8 + 2), dtype=np.float32), (w, h),
                         interpolation=cv2.INTER_CUBIC)
    ink = cover * np.clip(1 + 0.12 * texture, 0.6, 1.2)
    density = np.float32(s.paper) + np.float32(max(s.ink - s.paper, 0.1)) * ink
    if s.blur > 0:
        density = cv2.GaussianBlur(density, (0, 0), s.blur)
    density += rng.standard_normal(density.shape, dtype=np.float32) * np.float32(s.noise)
    return np.clip(density, 0, 1)


def render(char: str, style: Style, frame: tuple, rng, look: Look | None = None,
           neighbours: dict | None = None) -> np.ndarray:
    """Draw one handwritten sample of `char`.

    Args:
        char: a character KanjiVG has.
        style: the writer's style (per-sample variation is added here).
        frame: (H, W) of the output image.
        rng: numpy Generator seeded for this (writer, character).
        look: the record type's look (per-sample spreads, paper); None = small fixed spreads, white paper.
        neighbours: {edge: character} that may leave fragments at the frame edges (see draw_neighbours).

    Returns:
        float32 [H, W] ink density, 0 = paper .. 1 = full ink (before quantization).
    """
    s = sample_style(style, rng, look)
    h, w = frame
    canvas = np.zeros((h * SS, w * SS), np.uint8)
    paths = pen_paths(char, s, rng)
    draw(canvas, to_canvas(paths, s, glyph_matrix(s, frame)), paths, s.pen * h * SS)
    if neighbours and look is not None:
        draw_neighbours(canvas, style, look, neighbours, frame, rng)
    cover = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    return paper_and_scanner(cover, s, rng)


def quantize(density: np.ndarray, bpp: int) -> np.ndarray:
    """Ink density 0..1 -> uint8 levels 0..2^bpp-1 (0 = paper)."""
    top = (1 << bpp) - 1
    return np.clip(np.rint(density * top * 1.15 - 0.3), 0, top).astype(np.uint8)


def binarize_half(levels: np.ndarray) -> np.ndarray:
    """G-type 4-bit levels [127,128] -> B-type 1-bit image [63,64] (threshold, then 2x2 majority-ish)."""
    ink = (levels[:126] >= 4).astype(np.float32)
    half = cv2.resize(ink, (64, 63), interpolation=cv2.INTER_AREA)
    return (half >= 0.35).astype(np.uint8)


@functools.lru_cache(maxsize=16)
def _sheet_index(charset: str) -> tuple:
    cs = charsets.charset(charset)
    return cs.chars, {ch: i for i, ch in enumerate(cs.chars)}


def sheet_neighbours(charset: str, char: str, row: int = 10) -> dict:
    """The characters around `char` on a form written in the set's order, `row` to a line: {edge: char}."""
    chars, index = _sheet_index(charset)
    i, n = index.get(char, 0), len(chars)
    return {"left": chars[(i - 1) % n], "right": chars[(i + 1) % n], "top": chars[(i - row) % n],
            "bottom": chars[(i + row) % n]}


def frame_for(fmt) -> tuple:
    """The frame a record type is drawn in: B-types are drawn as G-types, then binarised and halved."""
    return (127, 128) if fmt.kind == "B" else fmt.frame


def glyph_levels(fmt, seed: int, s, realism: str = "scan") -> np.ndarray:
    """The stored image of one sample: uint8 levels [H,W] (0 = paper), deterministic for (seed, writer, code).

    `realism` "scan" (default) gives the real-scan look of the record type; "clean" white paper, full ink and no
    neighbour fragments (kanjiedge.synth_style.look_for)."""
    style = writer_style(seed, s.writer, fmt.kind, realism)
    look = None if fmt.kind == "K" else look_for(fmt.kind, realism)
    rng = np.random.default_rng([seed, s.writer, s.code, 0x9A])
    around = sheet_neighbours(fmt.charset, s.char) if look is not None and look.neighbours > 0 else None
    density = render(s.char, style, frame_for(fmt), rng, look, around)
    if fmt.kind == "B":
        return binarize_half(quantize(density, 4))
    return quantize(density, fmt.bpp)
