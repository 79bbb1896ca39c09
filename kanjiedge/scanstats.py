"""Image statistics of ETL records, the measures of ../shared/real-etl-profile.md, so synthetic output can be
compared with real scans (`python -m bench.bench_profile` prints the table).

Definitions (every image is a record's stored levels; levels are fractions of the record type's top level, sizes
fractions of the frame):

* background level: the median pixel. Ink: pixels more than INK_ABOVE_PAPER above it.
* noise sd: the sd of the pixels farther than 2 px from any ink (the bare paper).
* ink components: 8-connected components of the ink. An edge fragment is a component that touches the frame
  border and holds under FRAGMENT_SHARE of the ink weight (level above the background, summed); a speck is any
  other component smaller than SPECK of the frame area. The character is everything else.
* character height / width: its bounding box; centroid offset: its ink-weighted centroid minus the frame centre
  (down and right positive); stroke width: 2 x area / contour length of its ink mask (a long bar of width w gives
  about w); ink level median / p10: over its ink pixels; ink components: how many components it has.
* fragment ink / character ink: summed ink weight of the fragments over that of the character.
"""

from dataclasses import astuple, dataclass, fields

import cv2
import numpy as np

INK_ABOVE_PAPER = 0.2  # a pixel is ink when this far (fraction of the top level) above the background
FRAGMENT_SHARE = 0.25  # an edge component holding less than this share of the ink is a neighbour's fragment
SPECK = 0.0005  # components smaller than this share of the frame (and not fragments) are specks, not character


@dataclass(frozen=True)
class Stats:
    """The measures of one record image (see module docstring)."""

    height: float
    width: float
    down: float
    right: float
    fragment: float  # 1.0 if the record has an edge fragment, else 0.0
    fragment_ink: float
    background: float
    noise: float
    stroke: float
    ink_median: float
    ink_p10: float
    components: float


MEASURES = [f.name for f in fields(Stats)]
LABELS = {
    "height": "character height / frame", "width": "character width / frame",
    "down": "centroid offset, down", "right": "centroid offset, right",
    "fragment": "records with an edge fragment", "fragment_ink": "fragment ink / character ink",
    "background": "background level (median pixel)", "noise": "background noise, sd",
    "stroke": "stroke width / frame", "ink_median": "ink level, median over ink pixels",
    "ink_p10": "ink level, p10 over ink pixels", "components": "ink components",
}


def _noise(x: np.ndarray, ink: np.ndarray) -> float:
    near = cv2.dilate(ink.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    paper = x[~near]
    return float(paper.std()) if paper.size else 0.0


def _components(ink: np.ndarray, weight: np.ndarray) -> tuple:
    """(labels [H,W], per-component area, ink weight, touches-border flag), component 0 = no ink."""
    n, labels, st, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    h, w = ink.shape
    mass = np.bincount(labels.ravel(), weights=weight.ravel(), minlength=n)
    left, top, right, bottom = st[:, 0], st[:, 1], st[:, 0] + st[:, 2], st[:, 1] + st[:, 3]
    border = (left == 0) | (top == 0) | (right == w) | (bottom == h)
    return labels, st[:, cv2.CC_STAT_AREA], mass, border


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary image in pixels: 2 x ink area / contour length."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    length = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(mask.sum()) / length if length else 0.0


def _parts(levels: np.ndarray, top: int) -> tuple:
    """Levels as fractions, background, ink mask, ink weight, component labels, and per component: fragment flag,
    character flag, area, weight (see module docstring)."""
    x = levels.astype(np.float32) / top
    h, w = x.shape
    background = float(np.median(x))
    ink = x > background + INK_ABOVE_PAPER
    weight = np.where(ink, x - background, 0.0)
    labels, area, mass, border = _components(ink, weight)
    idx = np.arange(len(area))
    frag = (idx > 0) & border & (mass < FRAGMENT_SHARE * mass[1:].sum())
    char = (idx > 0) & ~frag & (area >= max(2, SPECK * h * w))
    return x, background, ink, weight, labels, frag, char, area, mass


def character_mask(levels: np.ndarray, top: int) -> np.ndarray:
    """bool [H,W]: the ink of the character itself (edge fragments and specks left out)."""
    parts = _parts(levels, top)
    return parts[6][parts[4]]


def measure(levels: np.ndarray, top: int) -> Stats | None:
    """The Stats of one record image (uint8 levels [H,W], 0 = paper, `top` = the format's top level); None when
    the image holds no character (no ink, or only edge fragments)."""
    x, background, ink, weight, labels, frag, char, area, mass = _parts(levels, top)
    if not char.any():
        return None
    h, w = x.shape
    mask = char[labels]
    ys, xs = np.nonzero(mask)
    wy = weight[ys, xs]
    levels_in = x[ys, xs]
    return Stats(height=(np.ptp(ys) + 1) / h, width=(np.ptp(xs) + 1) / w,
                 down=float((ys + 0.5) @ wy / wy.sum()) / h - 0.5, right=float((xs + 0.5) @ wy / wy.sum()) / w - 0.5,
                 fragment=float(frag.any()), fragment_ink=float(mass[frag].sum() / mass[char].sum()),
                 background=background, noise=_noise(x, ink), stroke=stroke_width(mask) / h,
                 ink_median=float(np.median(levels_in)), ink_p10=float(np.percentile(levels_in, 10)),
                 components=float(char.sum()))


def measure_many(images: np.ndarray, top: int) -> np.ndarray:
    """Stats of every image [N,H,W] as a float64 array [M, len(MEASURES)] (images without a character left out)."""
    rows = [astuple(s) for s in (measure(img, top) for img in images) if s is not None]
    return np.array(rows, np.float64).reshape(-1, len(MEASURES))


def summarize(rows: np.ndarray) -> dict:
    """{measure: (mean, p10, p90)} over records (rows from measure_many)."""
    return {name: (float(rows[:, k].mean()), float(np.percentile(rows[:, k], 10)),
                   float(np.percentile(rows[:, k], 90))) for k, name in enumerate(MEASURES)}


def measure_files(paths) -> tuple[str, dict, int]:
    """(format name, summary, records measured) of ETL files, read back with kanjiedge.etl at their stored levels."""
    from kanjiedge import etl, formats

    rec = etl.read_many(paths)
    top = formats.get_format(rec.format.split("+")[0]).layout.max_level
    rows = measure_many(rec.images, top)
    return rec.format, summarize(rows), len(rows)


# Real scans, ../shared/real-etl-profile.md: {record type: {measure: (mean, p10, p90)}}; None where not given.
REAL = {
    "ETL9G hiragana (real)": {
        "height": (0.421, 0.307, 0.535), "width": (0.387, 0.250, 0.523), "down": (0.041, -0.022, 0.103),
        "right": (0.018, -0.039, 0.071), "fragment": (0.74, None, None), "fragment_ink": (0.109, 0.0, 0.293),
        "background": (0.0, None, None), "noise": (0.015, None, None), "stroke": (0.041, 0.036, 0.045),
        "ink_median": (0.79, 0.67, 0.93), "ink_p10": (0.35, None, None), "components": (2.4, 1, 4)},
    "ETL1 katakana (real)": {
        "height": (0.547, 0.397, 0.698), "width": (0.387, 0.281, 0.500), "down": (0.015, -0.069, 0.101),
        "right": (0.037, -0.032, 0.102), "fragment": (0.03, None, None), "fragment_ink": (0.003, None, None),
        "background": (0.080, 0.0, 0.133), "noise": (0.038, None, None), "stroke": (0.056, 0.043, 0.073),
        "ink_median": (0.48, 0.40, 0.53), "ink_p10": (0.36, None, None), "components": (1.2, 1, 2)},
}


def _cell(name: str, v: tuple) -> str:
    mean, lo, hi = v
    if name == "fragment":
        return f"{100 * mean:.0f} %"
    spread = f" ({lo:.3f}, {hi:.3f})" if lo is not None and hi is not None else ""
    return f"{mean:.3f}{spread}"


def table(columns: dict) -> str:
    """Markdown table, one row per measure, one column per {title: summary}."""
    head = "| measure | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns) + "\n"
    return head + "".join(f"| {LABELS[m]} | " + " | ".join(_cell(m, c[m]) for c in columns.values()) + " |\n"
                          for m in MEASURES)
