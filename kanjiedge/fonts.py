"""Japanese fonts installed from Debian packages: which may be used for what, glyph coverage, glyph bitmaps.

    from kanjiedge import fonts
    train = fonts.training_fonts()          # faces that may serve as extra training writers
    ood = fonts.ood_fonts()                 # faces never used in training: the out-of-distribution check
    m = fonts.glyph_mask("A", train[0], 64)  # uint8 [64,64] ink 0..255 (em box = 64 px), None if not covered

Three rules, all enforced here (every face is opened through `open_face`):
* Reserved for independent checks, never used for training, calibration or tuning: the Debian packages in
  `RESERVED_PACKAGES`. A face is reserved when its file belongs to one of them (dpkg's file lists), or its path
  (before or after resolving links: /usr/share/fonts/truetype/fonts-japanese-*.ttf are alternatives links) or
  family name contains one of `RESERVED_MARKS`. Reserved faces are reported but never opened.
* Training and out-of-distribution (OOD) faces never share a glyph design: packages are grouped by the design
  they draw from (`LINEAGES`; Takao is IPA, MigMix mixes IPA and M+, ...) and whole lineages go to one side.
  OOD = every face whose lineages are all in `OOD_LINEAGES`; training = faces with none of them. A face of an
  unknown package (or mixing both sides) is "unclassified" and not used.
* At most `MAX_FACES_PER_PACKAGE` faces per package are used (M+ alone ships 50 weights/widths), chosen evenly
  over the package's faces sorted by path, so the choice is deterministic.

Coverage: a face covers a character when it draws ink for it and the drawing differs from the face's .notdef
glyph (what it draws for a code point it lacks: a box, "tofu", or nothing). Install the fonts with `make fonts`
(apt-get, the Makefile's FONT_PACKAGES); without any, `require` says so in one line.
"""

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kanjiedge.errors import UserError

FONT_ROOTS = ("/usr/share/fonts", "/usr/local/share/fonts")
DPKG_INFO = Path("/var/lib/dpkg/info")
RESERVED_PACKAGES = ("fonts-seto", "fonts-kiloji", "fonts-yozvox-yozfont", "fonts-kouzan-mouhitsu",
                     "fonts-aoyagi-kouzan-t")
# lower-case marks of the reserved fonts in file paths and family names (setofont, KiloJi, YOzFont, 衡山毛筆, 青柳衡山)
RESERVED_MARKS = ("seto", "kiloji", "yozfont", "yozvox", "yoz", "kouzan", "aoyagi", "衡山", "青柳", "せと")
LINEAGES = {  # Debian package -> the glyph designs its faces draw from
    "fonts-ipafont-gothic": {"ipa"}, "fonts-ipafont-mincho": {"ipa"}, "fonts-ipaexfont-gothic": {"ipa"},
    "fonts-ipaexfont-mincho": {"ipa"}, "fonts-takao-gothic": {"ipa"}, "fonts-takao-mincho": {"ipa"},
    "fonts-ipamj-mincho": {"ipa"}, "fonts-monapo": {"ipa"}, "fonts-migmix": {"ipa", "mplus"},
    "fonts-mplus": {"mplus"}, "fonts-vlgothic": {"mplus", "sazanami"}, "fonts-umeplus": {"ume", "mplus"},
    "fonts-horai-umefont": {"ume"}, "fonts-komatuna": {"konatu", "mplus"}, "fonts-klee": {"klee"},
    "fonts-noto-cjk": {"sourcehan"}, "fonts-noto-cjk-extra": {"sourcehan"},
    "fonts-motoya-l-cedar": {"motoya"}, "fonts-motoya-l-maruberi": {"motoya"},
    "fonts-sawarabi-gothic": {"sawarabi"}, "fonts-sawarabi-mincho": {"sawarabi"}, "fonts-hanazono": {"hanazono"},
}
OOD_LINEAGES = frozenset({"motoya", "sawarabi", "hanazono"})
MAX_FACES_PER_PACKAGE = 3
_EXTS = (".ttf", ".otf", ".ttc")
_PROBE = "あア亜"  # a face must cover these to count as a Japanese font
NOT_A_CHAR = "\U0010fffd"  # plane-16 private use: no font maps it, so it draws the .notdef glyph


class ReservedFontError(UserError):
    """Someone tried to open a font reserved for independent checks."""


@dataclass(frozen=True)
class Font:
    """One face of an installed font file."""

    path: str  # resolved file path
    index: int  # face index inside a .ttc collection (0 otherwise)
    family: str  # family name as the font states it
    style: str  # style name ("Regular", "Bold", ...)
    package: str  # Debian package owning the file ("" if none)
    split: str  # "train", "ood", "reserved" or "unclassified"

    @property
    def name(self) -> str:
        """Short stable id, e.g. "ipaexg" or "NotoSansCJK-Regular#0"."""
        return Path(self.path).stem + (f"#{self.index}" if self.path.endswith(".ttc") else "")


# ---------------------------------------------------------------- rules

@functools.lru_cache(maxsize=1)
def _package_files() -> dict:
    """Resolved font file path -> Debian package, from dpkg's file lists (empty when dpkg is absent)."""
    owner = {}
    for lst in sorted(DPKG_INFO.glob("fonts-*.list")):
        pkg = lst.name.removesuffix(".list").split(":")[0]
        for line in lst.read_text(errors="replace").splitlines():
            if line.lower().endswith(_EXTS):
                owner[os.path.realpath(line)] = pkg
    return owner


def is_reserved(path, family: str = "", package: str = "") -> bool:
    """True when a font file / family / package is one of those reserved for independent checks."""
    if package in RESERVED_PACKAGES or _package_files().get(os.path.realpath(path)) in RESERVED_PACKAGES:
        return True
    text = f"{path} {os.path.realpath(path)} {family}".lower()
    return any(mark in text for mark in RESERVED_MARKS)


def split_of(package: str) -> str:
    """"train", "ood" or "unclassified" for a (non-reserved) package, by its glyph lineages."""
    lineage = LINEAGES.get(package)
    if not lineage:
        return "unclassified"
    if lineage <= OOD_LINEAGES:
        return "ood"
    return "train" if not lineage & OOD_LINEAGES else "unclassified"


def open_face(font: Font, size: int):
    """PIL ImageFont of `font` at `size` px. Raises ReservedFontError for a reserved face, whatever its split."""
    if font.split == "reserved" or is_reserved(font.path, font.family, font.package):
        raise ReservedFontError(f"{font.path}: reserved for independent checks ({', '.join(RESERVED_PACKAGES)}); "
                                "never used for training, calibration or tuning")
    return _truetype(font.path, font.index, size)


@functools.lru_cache(maxsize=256)
def _truetype(path: str, index: int, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(path, size, index=index)


# ---------------------------------------------------------------- discovery

def _font_files(roots) -> list[str]:
    """Resolved, de-duplicated font file paths under `roots`, sorted."""
    found = set()
    for root in roots:
        for dirpath, _dirs, files in os.walk(root, followlinks=True):
            found.update(os.path.realpath(os.path.join(dirpath, f)) for f in files if f.lower().endswith(_EXTS))
    return sorted(p for p in found if os.path.isfile(p))


def _faces(path: str) -> list[tuple[int, str, str]]:
    """[(index, family, style)] of the faces in a font file (all faces of a .ttc); [] if PIL cannot read it."""
    from PIL import ImageFont

    out = []
    for i in range(64 if path.lower().endswith(".ttc") else 1):
        try:
            family, style = ImageFont.truetype(path, 16, index=i).getname()
        except OSError:
            break
        out.append((i, family or "", style or ""))
    return out


def _classify(path: str, index: int, family: str, style: str) -> Font:
    package = _package_files().get(path, "")
    split = "reserved" if is_reserved(path, family, package) else split_of(package)
    return Font(path, index, family, style, package, split)


@functools.lru_cache(maxsize=8)
def scan(roots: tuple = FONT_ROOTS) -> tuple:
    """Every Japanese face under `roots` (reserved ones included, flagged), sorted by path and index.

    Reserved files are recognised by path before they are opened at all."""
    out = []
    for path in _font_files(roots):
        if is_reserved(path):
            out.append(Font(path, 0, "", "", _package_files().get(path, ""), "reserved"))
            continue
        for index, family, style in _faces(path):
            font = _classify(path, index, family, style)
            if font.split == "reserved" or all(covers(font, ch) for ch in _PROBE):
                out.append(font)
    return tuple(out)


def _capped(fonts) -> list[Font]:
    """At most MAX_FACES_PER_PACKAGE faces per package, spread evenly over its sorted faces."""
    by_pkg = {}
    for f in fonts:
        by_pkg.setdefault(f.package or f.path, []).append(f)
    out = []
    for group in by_pkg.values():
        n = min(len(group), MAX_FACES_PER_PACKAGE)
        out += [group[round(k * (len(group) - 1) / max(1, n - 1))] for k in range(n)] if n > 1 else group[:1]
    return sorted(out, key=lambda f: (f.path, f.index))


def fonts_of(split: str, roots: tuple = FONT_ROOTS) -> list[Font]:
    """The faces used for `split` ("train" or "ood"): capped per package, never reserved."""
    if split not in ("train", "ood"):
        raise ValueError(f"split must be 'train' or 'ood', got {split!r}")
    return _capped([f for f in scan(tuple(roots)) if f.split == split])


def training_fonts(roots: tuple = FONT_ROOTS) -> list[Font]:
    """Faces that may serve as extra training writers (see the module docstring)."""
    return fonts_of("train", roots)


def ood_fonts(roots: tuple = FONT_ROOTS) -> list[Font]:
    """Faces never used in training, for the out-of-distribution check."""
    return fonts_of("ood", roots)


def require(fonts: list, what: str) -> list:
    """`fonts` if not empty, else a UserError that says how to install some."""
    if not fonts:
        raise UserError(f"no {what} font installed under {', '.join(FONT_ROOTS)}; install them with `make fonts` "
                        "(apt-get install the Makefile's FONT_PACKAGES)")
    return fonts


# ---------------------------------------------------------------- coverage and glyphs

def _as_font(font) -> Font:
    if isinstance(font, Font):
        return font
    path = os.path.realpath(font)
    faces = _faces(path) if not is_reserved(path) else [(0, "", "")]
    return _classify(path, *faces[0]) if faces else Font(path, 0, "", "", "", "unclassified")


def covers(font, char: str) -> bool:
    """True when `font` (a Font or a file path) has a real glyph for `char` that draws ink."""
    font = _as_font(font)
    if len(char) != 1:
        return False
    try:
        mask = _draw(font, char, 32)
    except OSError:  # FreeType rejects the glyph (e.g. "invalid opcode" in its hinting program)
        return False
    return bool(mask.any()) and not np.array_equal(mask, _notdef(font))


@functools.lru_cache(maxsize=256)
def _notdef(font: Font) -> np.ndarray:
    """What the face draws for a code point it lacks (its .notdef glyph: a box, or nothing)."""
    return _draw(font, NOT_A_CHAR, 32)


def covering(char: str, faces=None) -> list:
    """The faces (default: the training faces) that have a real glyph for `char`, e.g. for characters KanjiVG lacks."""
    return [f for f in (training_fonts() if faces is None else faces) if covers(f, char)]


def glyph_mask(char: str, font, size: int) -> np.ndarray | None:
    """Ink of `char` in `font` (a Font or a file path) on a size x size canvas whose em box it fills.

    Returns:
        uint8 [size, size], 0 = paper .. 255 = full ink (anti-aliased), the glyph centred on its advance and
        vertically on the font's ascender/descender middle; None when the font lacks the character.
    Raises:
        ReservedFontError: the font is reserved for independent checks.
    """
    font = _as_font(font)
    if not covers(font, char):
        return None
    return _draw(font, char, size)


def _draw(font: Font, char: str, size: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.new("L", (size, size), 0)
    ImageDraw.Draw(img).text((size / 2, size / 2), char, fill=255, font=open_face(font, size), anchor="mm")
    return np.asarray(img, dtype=np.uint8)


def ink_height(font: Font, size: int = 128, ref: str = "国") -> float:
    """Height of a reference character's ink / em (0.8-0.95 for most faces): calibrates glyph size per face."""
    m = glyph_mask(ref, font, size) if covers(font, ref) else None
    if m is None:
        return 0.88
    rows = np.flatnonzero(m.max(axis=1) > 64)
    return (rows[-1] - rows[0] + 1) / size if len(rows) else 0.88
