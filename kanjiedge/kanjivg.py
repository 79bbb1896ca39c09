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
import html
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


_G_TAG = re.compile(r"<g\b([^>]*)>|</g>")
_ATTR = re.compile(r'([\w:.-]+)="([^"]*)"')


def metadata(char: str) -> tuple[int, tuple]:
    """(stroke count, components) of `char`, equal to load()'s n_strokes and components, from a scan of the <g>
    tags without parsing the stroke paths (about 50x faster: `kanjiedge dataset` needs this for every class).

    Raises:
        UserError: no SVG for this character, or no stroke group in it.
    """
    path = svg_path(char)
    if not path.is_file():
        raise UserError(f"{path}: no KanjiVG SVG for {char!r} (U+{ord(char):04X})")
    text = path.read_text(encoding="utf-8")
    depth, top, components = 0, None, []  # top = depth of the character's root group
    for m in _G_TAG.finditer(text):
        if m.group(0) == "</g>":
            depth -= 1
            if top is not None and depth < top:
                return text.count("<path "), tuple(components)
            continue
        depth += 1
        attrs = {k.split(":")[-1]: html.unescape(v) for k, v in _ATTR.findall(m.group(1))}
        if top is None:
            top = depth + 1 if attrs.get("id", "").startswith("kvg:StrokePaths") else None
        elif depth > top and attrs.get("element") and not (attrs.get("part", "").isdigit() and int(attrs["part"]) > 1):
            components.append({"element": attrs["element"], "level": depth - top, "position": attrs.get("position")})
    raise UserError(f"{path}: cannot parse KanjiVG SVG: no kvg:StrokePaths group")


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
        args = tokens[i:i + n]
        if len(args) < n or any(t.isalpha() for t in args):
            raise ValueError(f"command {cmd} needs {n} numbers: {d[:60]!r}")
        pen.apply(cmd, [float(t) for t in args])
        i += n
        cmd = {"M": "L", "m": "l"}.get(cmd, cmd)  # extra pairs after a moveto are linetos
    return pen.polyline(d)


# Bernstein weights [S,4] of a cubic at S parameter values in (0,1] (the start point is the previous point);
# quadratics are raised to cubics first, so one matrix serves both.
_T = np.linspace(0.0, 1.0, _BEZIER_STEPS + 1)[1:]
_BERNSTEIN = np.stack([(1 - _T) ** 3, 3 * (1 - _T) ** 2 * _T, 3 * (1 - _T) * _T**2, _T**3], axis=1)


class _Pen:
    """Walks an SVG path with plain floats, recording line points and cubic control polygons; polyline()
    evaluates all curves in one matrix product. Keeps the state S/T need (last control point)."""

    def __init__(self):
        self.items = []  # (x, y) points or 8-tuples (x0, y0, x1, y1, x2, y2, x3, y3) cubic control polygons
        self.x = self.y = self.sx = self.sy = 0.0
        self.ctrl = self.qctrl = None

    def apply(self, cmd: str, a: list):
        c = cmd.upper()
        if cmd.islower() and self.items:  # relative: every coordinate pair is an offset from the current point
            if c == "H":
                a = [a[0] + self.x]
            elif c == "V":
                a = [a[0] + self.y]
            else:
                a = [v + (self.x if k % 2 == 0 else self.y) for k, v in enumerate(a)]
        if c == "H":
            c, a = "L", [a[0], self.y]
        elif c == "V":
            c, a = "L", [self.x, a[0]]
        getattr(self, "_" + c)(*a)
        if c not in "CS":
            self.ctrl = None
        if c not in "QT":
            self.qctrl = None

    def _M(self, x, y):
        self.x, self.y = self.sx, self.sy = x, y
        self.items.append((x, y))

    def _L(self, x, y):
        self.x, self.y = x, y
        self.items.append((x, y))

    def _C(self, x1, y1, x2, y2, x, y):
        self.items.append((self.x, self.y, x1, y1, x2, y2, x, y))
        self.x, self.y, self.ctrl = x, y, (x2, y2)

    def _S(self, x2, y2, x, y):
        x1, y1 = (2 * self.x - self.ctrl[0], 2 * self.y - self.ctrl[1]) if self.ctrl else (self.x, self.y)
        self._C(x1, y1, x2, y2, x, y)

    def _Q(self, qx, qy, x, y):
        x0, y0 = self.x, self.y  # degree elevation: cubic controls at 1/3 and 2/3 towards the quad control
        self._C(x0 + 2 / 3 * (qx - x0), y0 + 2 / 3 * (qy - y0), x + 2 / 3 * (qx - x), y + 2 / 3 * (qy - y), x, y)
        self.ctrl, self.qctrl = None, (qx, qy)

    def _T(self, x, y):
        qx, qy = (2 * self.x - self.qctrl[0], 2 * self.y - self.qctrl[1]) if self.qctrl else (self.x, self.y)
        self._Q(qx, qy, x, y)

    def close(self):
        self._L(self.sx, self.sy)

    def polyline(self, d: str) -> np.ndarray:
        if not self.items:
            raise ValueError(f"empty path data: {d[:40]!r}")
        curves = [it for it in self.items if len(it) == 8]
        sampled = iter(np.einsum("sj,kjd->ksd", _BERNSTEIN, np.array(curves).reshape(-1, 4, 2))) if curves else None
        parts = [next(sampled) if len(it) == 8 else np.array([it]) for it in self.items]
        return np.concatenate(parts).astype(np.float32)
