"""KanjiVG stroke data: stroke polylines, stroke counts and component trees for the characters kanjiedge draws.

Reads the SVGs installed by the `kanjivg` PyPI package (`<site-packages>/kanji/<5-hex-digit code point>.svg`;
variant files such as `04e00-Kaisho.svg` are ignored). Coordinates stay in KanjiVG's 109x109 box (y down).
The synthetic writer (kanjiedge.synth) draws these strokes; kanjiedge.dataset copies stroke counts and components
into classes.json. Parsing is cached per character; all 3,036 ETL9G characters parse in about a second.

    >>> from kanjiedge import kanjivg
    >>> k = kanjivg.load("明"); k.n_strokes, [c["element"] for c in k.components]
    (8, ['日', '月'])
"""

import functools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kanjiedge.errors import UserError

BOX = 109.0  # KanjiVG viewBox is 0 0 109 109
_BEZIER_STEPS = 8  # points per cubic segment; strokes are drawn at <= 512 px so 8 is visually smooth
_TOKEN = re.compile(r"[MmLlHhVvCcSsQqTtZz]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARITY = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "Z": 0}


@dataclass(frozen=True)
class Kanji:
    """One parsed KanjiVG character."""

    char: str  # the character itself, e.g. "明"
    strokes: tuple  # tuple of float32 arrays [P_i, 2] (x, y) in the 109x109 box, in writing order
    components: tuple  # depth-first ({"element", "level", "position"}, ...) below the root, see _components()
    radicals: tuple  # elements marked kvg:radical (e.g. ("日",)), informational

    @property
    def n_strokes(self) -> int:
        return len(self.strokes)


@functools.lru_cache(maxsize=1)
def svg_dir() -> Path:
    """Folder with the KanjiVG SVGs of the installed `kanjivg` package.

    Raises:
        UserError: the package (or its `kanji/` folder) is not installed.
    """
    import site
    import sysconfig

    roots = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    for root in roots:
        folder = Path(root) / "kanji"
        if (folder / "04e00.svg").is_file():
            return folder
    raise UserError(f"KanjiVG SVGs not found (looked for kanji/04e00.svg under {roots}); pip install kanjivg")


def svg_path(char: str) -> Path:
    """Path of the (non-variant) SVG for `char`; may not exist."""
    return svg_dir() / f"{ord(char):05x}.svg"


def has(char: str) -> bool:
    """True if KanjiVG has an SVG for `char`."""
    return svg_path(char).is_file()


@functools.lru_cache(maxsize=None)
def stroke_count(char: str) -> int:
    """Number of strokes of `char` without a full parse (counts the <path> elements; equals load().n_strokes).

    Raises:
        UserError: no SVG for this character.
    """
    path = svg_path(char)
    if not path.is_file():
        raise UserError(f"{path}: no KanjiVG SVG for {char!r} (U+{ord(char):04X})")
    return path.read_text(encoding="utf-8").count("<path ")


@functools.lru_cache(maxsize=None)
def load(char: str) -> Kanji:
    """Parse the KanjiVG SVG of one character (cached).

    Args:
        char: a single character, e.g. "亜".

    Returns:
        Kanji with strokes as polylines (float32 [P,2] in the 109x109 box), components and radicals.

    Raises:
        UserError: no SVG for this character, or the SVG cannot be parsed (message names the file).
    """
    path = svg_path(char)
    if not path.is_file():
        raise UserError(f"{path}: no KanjiVG SVG for {char!r} (U+{ord(char):04X})")
    try:
        root = ET.parse(path).getroot()
        strokes = tuple(parse_path(p.get("d", "")) for p in root.iter(_svg("path")))
    except (ET.ParseError, ValueError) as e:
        raise UserError(f"{path}: cannot parse KanjiVG SVG: {e}") from None
    top = _root_group(root, path)
    return Kanji(char, strokes, tuple(_components(top)), tuple(_radicals(top)))


def _svg(tag: str) -> str:
    return "{http://www.w3.org/2000/svg}" + tag


def _kvg(elem, name: str):
    """kvg:<name> attribute, whatever namespace URI the file (or its DTD default) binds `kvg` to."""
    for key, value in elem.attrib.items():
        if key.endswith("}" + name):
            return value
    return None


def _root_group(root, path) -> ET.Element:
    # The stroke group is <g id="kvg:StrokePaths_xxxxx">; its single child <g kvg:element=...> is the character.
    for g in root.iter(_svg("g")):
        if g.get("id", "").startswith("kvg:StrokePaths"):
            children = g.findall(_svg("g"))
            if children:
                return children[0]
    raise ValueError(f"{path}: no kvg:StrokePaths group")


def _components(group, level: int = 1):
    """Depth-first components below `group`: {"element", "level", "position"}.

    `level` is the depth of the <g> below the character's root group (1 = direct child). Groups without
    kvg:element are transparent (their children keep counting depth), and continuation parts (kvg:part >= 2 of
    a split component, e.g. the second half of 口 around 口-enclosed strokes) are skipped so each component
    appears once.
    """
    for g in group.findall(_svg("g")):
        element, part = _kvg(g, "element"), _kvg(g, "part")
        if element and not (part and part.isdigit() and int(part) > 1):
            yield {"element": element, "level": level, "position": _kvg(g, "position")}
        yield from _components(g, level + 1)


def _radicals(group):
    for g in group.iter(_svg("g")):
        if _kvg(g, "radical") and _kvg(g, "element"):
            yield _kvg(g, "element")


def parse_path(d: str) -> np.ndarray:
    """Flatten an SVG path `d` string to a polyline.

    Supports M/L/H/V/C/S/Q/T/Z in absolute and relative form (KanjiVG uses M, m, C, c, S, s); Béziers are
    sampled with _BEZIER_STEPS points per segment.

    Returns:
        float32 array [P, 2] of (x, y) points, P >= 1.

    Raises:
        ValueError: malformed path data.
    """
    tokens = _TOKEN.findall(d)
    pen = _Pen()
    i, cmd = 0, None
    while i < len(tokens):
        if tokens[i].isalpha():
            cmd, i = tokens[i], i + 1
            if cmd in "Zz":
                pen.close()
                continue
        if cmd is None:
            raise ValueError(f"path data starts with a number: {d[:40]!r}")
        n = _ARITY[cmd.upper()]
        args = [float(t) for t in tokens[i:i + n]]
        if len(args) < n or any(t.isalpha() for t in tokens[i:i + n]):
            raise ValueError(f"command {cmd} needs {n} numbers: {d[:60]!r}")
        pen.apply(cmd, args)
        i += n
        cmd = {"M": "L", "m": "l"}.get(cmd, cmd)  # extra pairs after a moveto are linetos
    if not pen.points:
        raise ValueError(f"empty path data: {d[:40]!r}")
    return np.asarray(pen.points, dtype=np.float32)


_T = np.linspace(0.0, 1.0, _BEZIER_STEPS + 1)[1:, None]  # [S,1] curve parameters, excluding the start point


class _Pen:
    """Walks an SVG path and records polyline points; keeps the state S/T need (last control point)."""

    def __init__(self):
        self.points, self.pos, self.start, self.ctrl, self.qctrl = [], np.zeros(2), np.zeros(2), None, None

    def apply(self, cmd: str, a: list):
        rel = cmd.islower() and self.points
        base = self.pos if rel else np.zeros(2)
        c = cmd.upper()
        if c == "H":
            a = [a[0] + (self.pos[0] if cmd == "h" else 0.0), self.pos[1]]
            base = np.zeros(2)
        elif c == "V":
            a = [self.pos[0], a[0] + (self.pos[1] if cmd == "v" else 0.0)]
            base = np.zeros(2)
        pts = np.asarray(a, dtype=np.float64).reshape(-1, 2) + base
        getattr(self, "_" + {"H": "L", "V": "L"}.get(c, c))(pts)
        if c not in "CS":
            self.ctrl = None
        if c not in "QT":
            self.qctrl = None

    def _M(self, p):
        self.pos = self.start = p[0]
        self.points.append(tuple(p[0]))

    def _L(self, p):
        self.pos = p[0]
        self.points.append(tuple(p[0]))

    def _C(self, p):
        self._cubic(p[0], p[1], p[2])

    def _S(self, p):
        c1 = 2 * self.pos - self.ctrl if self.ctrl is not None else self.pos
        self._cubic(c1, p[0], p[1])

    def _Q(self, p):
        self._quad(p[0], p[1])

    def _T(self, p):
        c = 2 * self.pos - self.qctrl if self.qctrl is not None else self.pos
        self._quad(c, p[0])

    def close(self):
        self._L(self.start[None])

    def _cubic(self, c1, c2, end):
        p0, t = self.pos, _T
        curve = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * c1 + 3 * (1 - t) * t**2 * c2 + t**3 * end
        self.points.extend(map(tuple, curve))
        self.pos, self.ctrl = end, c2

    def _quad(self, c, end):
        p0, t = self.pos, _T
        curve = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t**2 * end
        self.points.extend(map(tuple, curve))
        self.pos, self.qctrl = end, c
