"""Handwriting styles of the synthetic writer: what a record of each ETL record type looks like (`Look`), one
writer's habits (`Style`, drawn once per writer) and the per-sample variation around them.

The `Look` numbers are fitted to the real-scan statistics in ../shared/real-etl-profile.md (the bench
`python -m bench.bench_profile` prints the remaining gap): G/B-type (ETL8G/ETL9G) records are dark pencil on white
paper with pieces of the neighbouring characters at the frame edges in three records of four; M/C-type
(ETL1/6/7, ETL3-5) records are faint pencil on grey, noisy paper and larger in their small frames. `CLEAN` is the
look without scan effects (white paper, full ink, no neighbour fragments) for callers that want idealised records.

Units: sizes and offsets are fractions of the frame, pen widths fractions of the frame height, levels fractions of
the record's top level; stroke habits are in KanjiVG units (109 box) or probabilities.
"""

import functools
import math
from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Look:
    """How records of one record type sit in their frame and what the paper and scanner do (per set, not writer)."""

    size: tuple  # glyph box side / frame side: (mean, sd between writers, sd between samples), log scale for sds
    down: tuple  # box centre offset downwards / frame height: (mean, writer sd, sample sd)
    right: tuple  # box centre offset rightwards / frame width: (mean, writer sd, sample sd)
    aspect: float  # mean log width/height multiplier of writers (ETL1-7 writers wrote narrow characters)
    pen: tuple  # pen width / frame height: (mean, writer sd)
    ink: tuple  # ink level of a full stroke, fraction of the top level: (mean, writer sd)
    paper: tuple  # paper level: (mean, sd between records)
    noise: tuple  # scanner noise sd: (low, high) between writers
    neighbours: float  # chance that a neighbouring character intrudes at one given frame edge
    intrusion: tuple  # how far its ink reaches into the frame, fraction of the frame: (low, high)
    breaks: tuple = (0.1, 0.35)  # writers' chance of a broken long stroke: (low, high)
    trim_bias: float = -0.6  # mean stroke-end trim in units of the writer's trim sd (< 0: strokes stop short)
    blur: tuple = (0.5, 0.9)  # scanner blur sigma in frame pixels: (low, high) between writers


LOOKS = {
    "G": Look(size=(0.525, 0.14, 0.08), down=(0.045, 0.03, 0.03), right=(0.022, 0.02, 0.02), aspect=-0.04,
              pen=(0.028, 0.003), ink=(0.83, 0.07), paper=(0.0, 0.0), noise=(0.017, 0.038), neighbours=0.3,
              intrusion=(0.008, 0.035), breaks=(0.15, 0.45)),
    # ETL1 katakana are mostly one connected component (1.2 per record): few breaks, strokes run into each other
    "M": Look(size=(0.66, 0.13, 0.08), down=(0.035, 0.04, 0.03), right=(0.045, 0.04, 0.03), aspect=-0.32,
              pen=(0.045, 0.006), ink=(0.48, 0.035), paper=(0.08, 0.045), noise=(0.025, 0.04), neighbours=0.008,
              intrusion=(0.01, 0.05), breaks=(0.0, 0.05), trim_bias=0.8),
}
LOOKS["B"], LOOKS["C"] = LOOKS["G"], LOOKS["M"]
CLEAN = replace(LOOKS["G"], ink=(1.0, 0.0), paper=(0.0, 0.0), noise=(0.0, 0.01), neighbours=0.0)
REALISM = ("scan", "clean")  # `realism` option of the writer: real-scan look, or CLEAN


def look_for(kind: str, realism: str = "scan") -> Look:
    """The look of a record type ("G", "B", "M", "C", "K"); "clean" keeps the layout but drops the scan effects."""
    if realism not in REALISM:
        raise ValueError(f"realism must be one of {REALISM}, got {realism!r}")
    base = LOOKS.get(kind, LOOKS["G"])
    if realism == "clean":
        return replace(CLEAN, size=base.size, down=base.down, right=base.right, aspect=base.aspect, pen=base.pen)
    return base


@dataclass(frozen=True)
class Style:
    """One writer's handwriting habits, and (after sample_style) one sample's actual values."""

    size: float  # glyph box side / frame side
    dx: float  # box centre offset, fraction of frame width
    dy: float  # box centre offset, fraction of frame height
    shear: float  # x += shear * y (slant)
    rot: float  # radians
    aspect: float  # width / height multiplier
    pen: float  # pen width / frame height
    ink: float  # ink level of a full-pressure stroke, 0..1
    jitter: float  # per-stroke displacement, KanjiVG units
    wobble: float  # curvature noise amplitude, KanjiVG units
    warp: tuple  # personal smooth warp: ((ax, ay, kx, ky, phase), ...) sine terms, KanjiVG units
    blur: float  # scanner blur sigma, frame pixels
    noise: float  # scanner noise sd, fraction of full scale
    speed: float = 0.0  # 0 = careful .. 1 = fast writer; scales the habits below
    hook: float = 0.0  # chance of a hook / flick at a stroke's end
    join: float = 0.0  # chance that the pen stays down from one stroke to the next (a cursive join)
    trim: float = 0.0  # sd of stroke-end shortening (< 0) / overshoot (> 0), fraction of the stroke's length
    taper: float = 0.0  # width lost towards a stroke's end (fast strokes thin out)
    pressure: float = 0.0  # sd of pen pressure between stroke parts (uneven width and darkness)
    breaks: float = 0.0  # chance that a long stroke has a gap (the pencil skipped)
    trim_bias: float = 0.0  # mean stroke-end trim in units of `trim` (< 0 shortened, > 0 overshooting)
    paper: float = 0.0  # paper level of this record
    neighbours: float = 0.0  # chance of a neighbour's fragment at each frame edge
    intrusion: tuple = (0.0, 0.0)  # (low, high) reach of those fragments into the frame


@functools.lru_cache(maxsize=1024)
def writer_style(seed: int, writer: int, kind: str = "G", realism: str = "scan") -> Style:
    """Deterministic style of writer `writer` (0-based) for a seed and record type; "K" is a printed typeface."""
    r = np.random.default_rng([seed, writer, 0x57])
    if kind == "K":
        return Style(0.86, 0.0, 0.0, 0.0, 0.0, 1.0, 0.04 + writer % 2 * 0.015, 1.0, 0.1, 0.0, (), 0.6, 0.01)
    look = look_for(kind, realism)
    warp = tuple((r.normal(0, 1.4), r.normal(0, 1.4), r.uniform(0.02, 0.06), r.uniform(0.02, 0.06),
                  r.uniform(0, 2 * math.pi)) for _ in range(2))
    base = Style(size=look.size[0] * math.exp(r.normal(0, look.size[1])), dx=r.normal(look.right[0], look.right[1]),
                 dy=r.normal(look.down[0], look.down[1]), shear=r.normal(0, 0.08), rot=r.normal(0, 0.03),
                 aspect=math.exp(r.normal(look.aspect, 0.07)), pen=max(0.02, r.normal(*look.pen)),
                 ink=float(np.clip(r.normal(*look.ink), 0.3, 1.0)), jitter=r.uniform(0.6, 1.6),
                 wobble=r.uniform(0.4, 1.3), warp=warp, blur=r.uniform(*look.blur), noise=r.uniform(*look.noise),
                 neighbours=look.neighbours, intrusion=look.intrusion, trim_bias=look.trim_bias)
    return _habits(base, r.beta(1.6, 1.6), look, r)


def _habits(s: Style, speed: float, look: Look, r) -> Style:
    """A writer's stroke habits from how fast they write: fast writers hook, join, trim and taper more."""
    return replace(s, speed=speed, hook=0.05 + 0.35 * speed * r.uniform(0.5, 1.0),
                   join=0.02 + 0.3 * speed ** 2 * r.uniform(0.5, 1.0), trim=0.02 + 0.07 * speed,
                   taper=0.1 + 0.4 * speed * r.uniform(0.5, 1.0), pressure=r.uniform(0.06, 0.18),
                   breaks=r.uniform(*look.breaks), wobble=s.wobble * (0.8 + 0.6 * speed),
                   jitter=s.jitter * (0.8 + 0.6 * speed))


def sample_style(style: Style, r, look: Look | None = None) -> Style:
    """Per-sample variation around the writer's style (smaller than between writers), and this record's paper."""
    size_sd, dy_sd, dx_sd = (0.05, 0.025, 0.025) if look is None else (look.size[2], look.down[2], look.right[2])
    paper = 0.0 if look is None else max(0.0, r.normal(*look.paper))
    return replace(style, size=style.size * math.exp(r.normal(0, size_sd)), dx=style.dx + r.normal(0, dx_sd),
                   dy=style.dy + r.normal(0, dy_sd), shear=style.shear + r.normal(0, 0.03),
                   rot=style.rot + r.normal(0, 0.02), aspect=style.aspect * math.exp(r.normal(0, 0.03)),
                   pen=style.pen * math.exp(r.normal(0, 0.06)),
                   ink=min(1.0, style.ink * math.exp(r.normal(0, 0.05))), paper=paper)
