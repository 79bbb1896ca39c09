"""Stroke geometry of the synthetic writer: KanjiVG strokes (kanjiedge.symbol_strokes for the ETL symbols KanjiVG
lacks) resampled, jittered and bent per sample, then turned
into pen paths with the writer's habits (kanjiedge.synth_style.Style):

* stroke ends shortened or overshooting (so strokes stop short of, or run into, their neighbours),
* hooks and flicks at stroke ends, pointing on towards the next stroke,
* cursive joins: the pen stays down from one stroke's end to the next stroke's start (thin, or full width =
  merged strokes),
* uneven pressure: each stroke is drawn as up to three parts of their own width and darkness, heavier at the start
  and thinning towards the end for fast writers, and a long stroke may break where the pencil skipped.

Everything stays in KanjiVG units (109 box, y down); kanjiedge.synth_render maps the paths into the frame.
"""

import functools
import math
from dataclasses import dataclass

import numpy as np

from kanjiedge import kanjivg, symbol_strokes

STEP = 2.0  # KanjiVG units between resampled points
_FREQS = np.array([1.0, 2.0, 3.0])  # half-waves per stroke of the curvature noise
MAX_TRIM = 6.0  # a stroke end is shortened by at most this many KanjiVG units
JOIN_REACH = 40.0  # a join is only drawn between strokes whose ends are closer than this (KanjiVG units)


def resample(poly: np.ndarray, step: float = STEP) -> np.ndarray:
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


def drawable(char: str) -> bool:
    """True if the writer has strokes for `char` (KanjiVG, or kanjiedge.symbol_strokes)."""
    return symbol_strokes.has(char) or kanjivg.has(char)


def source_strokes(char: str) -> tuple:
    """The unjittered strokes of `char`: KanjiVG's, or kanjiedge.symbol_strokes' for the symbols KanjiVG lacks.

    Raises:
        UserError: neither has the character (kanjivg.load's message).
    """
    return symbol_strokes.strokes(char) if symbol_strokes.has(char) else kanjivg.load(char).strokes


@functools.lru_cache(maxsize=4096)
def geometry(char: str) -> Geometry:
    """Resampled stroke geometry of `char` (see Geometry)."""
    strokes = [resample(st.astype(np.float64)) for st in source_strokes(char)]
    sizes = np.array([len(st) for st in strokes])
    tang = np.concatenate([np.gradient(st, axis=0) for st in strokes])
    normal = np.stack([-tang[:, 1], tang[:, 0]], 1) / (np.hypot(*tang.T)[:, None] + 1e-9)
    lengths = np.array([np.hypot(*np.diff(st, axis=0).T).sum() for st in strokes])
    return Geometry(np.concatenate(strokes), np.repeat(np.arange(len(strokes)), sizes),
                    np.concatenate([np.linspace(0, 1, n) for n in sizes]), normal,
                    np.array([st.mean(axis=0) for st in strokes]), np.clip((lengths - 4) / 26, 0, 1),
                    np.cumsum(sizes)[:-1])


def jitter(g: Geometry, style, r) -> np.ndarray:
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


def warp(pts: np.ndarray, terms) -> np.ndarray:
    """Writer's smooth personal warp field applied to points [Q,2] (KanjiVG units)."""
    if not terms:
        return pts
    out = pts.copy()
    for ax, ay, kx, ky, ph in terms:
        phase = pts[:, 0] * kx + pts[:, 1] * ky + ph
        out[:, 0] += ax * np.sin(phase)
        out[:, 1] += ay * np.cos(phase)
    return out


@dataclass
class Paths:
    """Pen paths of one sample: polylines in KanjiVG units, each with its width and darkness factor."""

    lines: list  # float64 arrays [n,2]
    width: list  # width factor of each line (1 = the sample's pen)
    grey: list  # darkness factor of each line (1 = the sample's ink level)

    def add(self, line: np.ndarray, width: float, grey: float):
        self.lines.append(line)
        self.width.append(width)
        self.grey.append(grey)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / (np.hypot(*v) + 1e-9)


def trim_ends(st: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """Shorten (t < 0) or extend along the end tangent (t > 0) each end by |t| of the stroke's length; shortening
    stops at MAX_TRIM units, so a one-stroke character (6, の, し) keeps its shape."""
    length = max(STEP, (len(st) - 1) * STEP)
    cap = int(MAX_TRIM / STEP)
    drop0, drop1 = min(cap, int(max(0.0, -t0) * len(st))), min(cap, int(max(0.0, -t1) * len(st)))
    if len(st) - drop0 - drop1 >= 2:
        st = st[drop0:len(st) - drop1]
    if t0 > 0:
        st = np.vstack([st[0] - _unit(st[1] - st[0]) * t0 * length, st])
    if t1 > 0:
        st = np.vstack([st, st[-1] + _unit(st[-1] - st[-2]) * t1 * length])
    return st


def hook(st: np.ndarray, toward: np.ndarray | None, size: float, r) -> np.ndarray:
    """A flick at the stroke's end: a short turn (100-160 degrees off the last direction) towards `toward`
    (the next stroke's start) or to a random side, `size` KanjiVG units long."""
    d = _unit(st[-1] - st[-2])
    side = r.choice((-1.0, 1.0))
    if toward is not None:
        v = toward - st[-1]
        side = 1.0 if d[0] * v[1] - d[1] * v[0] > 0 else -1.0
    ang = side * math.radians(r.uniform(100, 160))
    c, s = math.cos(ang), math.sin(ang)
    turn = np.array([c * d[0] - s * d[1], s * d[0] + c * d[1]])
    mid = st[-1] + _unit(d + turn) * size * 0.4
    return np.vstack([st, mid, mid + turn * size * 0.7])


def join(a_end: np.ndarray, b_start: np.ndarray, r) -> np.ndarray:
    """The path the pen takes between two strokes when it is not lifted: a shallow arc, 6 points."""
    d = b_start - a_end
    bulge = np.array([-d[1], d[0]]) * r.normal(0, 0.2)
    t = np.linspace(0, 1, 6)[:, None]
    return a_end + d * t + bulge * (4 * t * (1 - t))


def _parts(st: np.ndarray, gap: int) -> list:
    """Split a stroke into start / middle / end parts (sharing their boundary points); `gap` > 0 cuts that many
    points out of the middle third (a broken stroke), when the stroke is long enough to keep its shape."""
    n = len(st)
    if n < 6:
        return [st]
    a, b = n // 3, 2 * n // 3
    if gap and b - a > gap + 1:
        g0 = (a + b - gap) // 2
        return [st[:a + 1], st[a:g0 + 1], st[g0 + gap + 1:b + 1], st[b:]]
    return [st[:a + 1], st[a:b + 1], st[b:]]


def gap_points(style, r) -> int:
    """Points to cut for a visible break: the pen's width in KanjiVG units (the round caps close anything
    shorter) plus 1-4 units of bare paper."""
    pen_units = style.pen / max(style.size, 1e-3) * kanjivg.BOX
    return int(math.ceil((pen_units + r.uniform(1.0, 4.0)) / STEP))


def pen_paths(char: str, style, r) -> Paths:
    """Jittered strokes of `char` with the writer's habits, as pen paths (see module docstring)."""
    g = geometry(char)
    strokes = np.split(jitter(g, style, r), g.splits)
    n = len(strokes)
    trims = r.normal(style.trim_bias * style.trim, style.trim, (n, 2))
    hooks, joins, breaks = r.random((3, n)) < np.array([[style.hook], [style.join], [style.breaks]])
    width = np.exp(r.normal(0, style.pressure, (n, 4)))  # per part: uneven pressure ...
    width[:, 0] *= r.uniform(1.0, 1.15, n)  # ... a heavier start ...
    taper = 1 - style.taper * r.uniform(0.5, 1.0, n)  # ... and a thinner end
    grey = np.minimum(1.0, np.exp(r.normal(0, 0.7 * style.pressure, (n, 4))))
    out = Paths([], [], [])
    for i, st in enumerate(strokes):
        st = trim_ends(st, *trims[i])
        nxt = strokes[i + 1][0] if i + 1 < n else None
        if hooks[i] and len(st) >= 2:
            st = hook(st, nxt, r.uniform(2.0, 5.0) * (0.6 + style.speed), r)
        parts = _parts(st, gap_points(style, r) if breaks[i] else 0)
        w = width[i, :len(parts)]
        if len(parts) > 1:
            w[-1] *= taper[i]
        out.lines += parts
        out.width += w.tolist()
        out.grey += grey[i, :len(parts)].tolist()
        if joins[i] and nxt is not None and np.hypot(*(nxt - st[-1])) < JOIN_REACH:
            out.add(join(st[-1], nxt, r), r.uniform(0.35, 1.0), r.uniform(0.55, 1.0))
    return out
