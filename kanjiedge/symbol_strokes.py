"""Strokes for the ETL1 / ETL6 symbols that KanjiVG has no SVG for (+ - * / = ( ) [ ] < > ' " ¥ $ % # @ & 「 」).

Real ETL1 and ETL6 sheets hold these symbols (docs/etl-format.md "Character sets"), so the synthetic writer must
write them too, or a model trained on the built-in data has no class for them. They are drawn here the way a hand
writes them: one polyline per pen stroke, in the usual writing order, in KanjiVG's 109x109 box (y down) and placed
in the box as a writer places them in a frame (quotes high, brackets tall, + and = centred). The synthetic writer
(kanjiedge.synth_strokes.geometry) gives them the same per-writer jitter, slant, pressure and stroke effects as the
KanjiVG characters. Curves are sampled densely enough for the writer's resampling.

    >>> from kanjiedge import symbol_strokes
    >>> len(symbol_strokes.strokes("+")), "¥" in symbol_strokes.CHARS
    (2, True)
"""

import functools

import numpy as np


def _line(*pts) -> np.ndarray:
    return np.array(pts, np.float32)


def _arc(cx, cy, rx, ry, a0, a1, n=24) -> np.ndarray:
    """Points of an ellipse arc from angle a0 to a1 (degrees; 0 = right, 90 = down, as on paper with y down)."""
    t = np.radians(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1).astype(np.float32)


def _smooth(*pts, n=8) -> np.ndarray:
    """A Catmull-Rom curve through the points (n samples per segment)."""
    p = np.array(pts, np.float64)
    p = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        for t in np.linspace(0, 1, n, endpoint=False):
            out.append(0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t
                              + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    out.append(p[-2])
    return np.array(out, np.float32)


@functools.cache
def _table() -> dict:
    return {
        "+": (_line((22, 55), (88, 55)), _line((55, 22), (55, 90))),
        "-": (_line((24, 56), (86, 56)),),
        "*": (_line((55, 24), (55, 86)), _line((29, 38), (81, 72)), _line((81, 38), (29, 72))),
        "/": (_line((78, 12), (32, 98)),),
        "=": (_line((22, 42), (88, 42)), _line((22, 68), (88, 68))),
        "(": (_arc(96, 55, 40, 46, 222, 138),),
        ")": (_arc(14, 55, 40, 46, -42, 42),),
        "[": (_line((68, 12), (44, 12), (44, 98)), _line((44, 98), (68, 98))),
        "]": (_line((42, 12), (66, 12), (66, 98)), _line((42, 98), (66, 98))),
        "<": (_line((80, 20), (28, 55), (80, 90)),),
        ">": (_line((30, 20), (82, 55), (30, 90)),),
        "'": (_line((56, 12), (52, 36)),),
        '"': (_line((46, 12), (43, 36)), _line((68, 12), (65, 36))),
        "¥": (_line((24, 14), (55, 52)), _line((86, 14), (55, 52)), _line((55, 52), (55, 98)),
              _line((30, 62), (80, 62)), _line((30, 80), (80, 80))),
        "$": (_smooth((76, 28), (58, 18), (38, 24), (36, 40), (55, 54), (74, 68), (72, 86), (52, 92), (32, 82)),
              _line((55, 8), (55, 102))),
        "%": (_arc(33, 32, 13, 15, -90, 270), _line((82, 14), (28, 96)), _arc(76, 78, 13, 15, -90, 270)),
        "#": (_line((22, 40), (88, 40)), _line((20, 70), (86, 70)), _line((46, 16), (40, 94)),
              _line((72, 16), (66, 94))),
        "@": (np.vstack([_arc(52, 58, 15, 17, 0, -360, 32), _line((67, 58), (68, 72), (76, 76)),
                         _arc(55, 55, 40, 42, 30, -300, 40)]),),
        "&": (_smooth((86, 96), (58, 68), (40, 48), (36, 28), (48, 14), (62, 22), (58, 40), (34, 60), (26, 80),
                      (40, 96), (62, 92), (84, 66)),),
        "「": (_line((72, 16), (42, 16), (42, 72)),),
        "」": (_line((66, 38), (66, 94), (36, 94)),),
    }


CHARS = "+-*/=()[]<>'\"¥$%#@&「」"


def strokes(char: str) -> tuple:
    """The strokes of `char` (float32 [P,2] polylines in the 109 box, writing order). KeyError if not a symbol here."""
    return _table()[char]


def has(char: str) -> bool:
    return char in CHARS

