"""kanjiedge.fonts: reserved fonts are never opened, training and OOD faces share no design, coverage is real.

Uses the Debian fonts `make fonts` installs; the tests that need a Japanese face skip (saying so) without one.
"""

import os
import shutil

import numpy as np
import pytest

from kanjiedge import fonts
from kanjiedge.errors import UserError

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@pytest.fixture(scope="module")
def train_face():
    faces = fonts.training_fonts()
    if not faces:
        pytest.skip("no Japanese training font installed (make fonts)")
    return faces[0]


@pytest.fixture
def fake_reserved(tmp_path, train_face):
    """A real, readable Japanese font file placed where the reserved packages install theirs."""
    d = tmp_path / "truetype" / "seto"
    d.mkdir(parents=True)
    shutil.copy(train_face.path, d / "setofont.ttf")
    return d / "setofont.ttf"


def test_reserved_path_is_flagged_and_never_opened(fake_reserved, tmp_path):
    found = fonts.scan((str(tmp_path),))
    assert [f.split for f in found] == ["reserved"]
    assert fonts.training_fonts((str(tmp_path),)) == [] and fonts.ood_fonts((str(tmp_path),)) == []
    with pytest.raises(fonts.ReservedFontError, match="reserved for independent checks"):
        fonts.open_face(found[0], 32)
    with pytest.raises(fonts.ReservedFontError):
        fonts.glyph_mask("あ", str(fake_reserved), 32)


def test_reserved_behind_a_link_is_flagged(fake_reserved, tmp_path):
    """/usr/share/fonts/truetype/fonts-japanese-gothic.ttf is an alternatives link that may point at a reserved font."""
    link_dir = tmp_path / "links"
    link_dir.mkdir()
    os.symlink(fake_reserved, link_dir / "fonts-japanese-gothic.ttf")
    assert fonts.is_reserved(link_dir / "fonts-japanese-gothic.ttf")
    with pytest.raises(fonts.ReservedFontError):
        fonts.glyph_mask("あ", str(link_dir / "fonts-japanese-gothic.ttf"), 32)


def test_reserved_by_family_package_and_dpkg_list(tmp_path, monkeypatch, train_face):
    assert fonts.is_reserved("/x/a.ttf", family="YOzFont")
    assert fonts.is_reserved("/x/a.ttf", family="青柳衡山フォントT")
    for pkg in fonts.RESERVED_PACKAGES:
        assert fonts.is_reserved("/x/a.ttf", package=pkg)
    assert not fonts.is_reserved(train_face.path, train_face.family, train_face.package)
    # a file that dpkg says belongs to fonts-kiloji, whatever its name
    plain = tmp_path / "plain.ttf"
    shutil.copy(train_face.path, plain)
    (tmp_path / "info").mkdir()
    (tmp_path / "info" / "fonts-kiloji.list").write_text(f"/.\n{tmp_path}\n{plain}\n")
    monkeypatch.setattr(fonts, "DPKG_INFO", tmp_path / "info")
    fonts._package_files.cache_clear()
    try:
        assert fonts.is_reserved(plain)
        assert fonts.scan.__wrapped__((str(tmp_path),))[0].split == "reserved"
    finally:
        fonts._package_files.cache_clear()


def test_lineage_split_is_disjoint():
    sides = {pkg: fonts.split_of(pkg) for pkg in fonts.LINEAGES}
    train = set().union(*(fonts.LINEAGES[p] for p, s in sides.items() if s == "train"))
    ood = set().union(*(fonts.LINEAGES[p] for p, s in sides.items() if s == "ood"))
    assert train and ood and not train & ood
    assert not set(fonts.RESERVED_PACKAGES) & set(fonts.LINEAGES)
    assert fonts.split_of("fonts-unknown") == "unclassified"


def test_installed_split(train_face):
    train, ood = fonts.training_fonts(), fonts.ood_fonts()
    assert all(f.split == "train" for f in train) and all(f.split == "ood" for f in ood)
    assert not {f.path for f in train} & {f.path for f in ood}
    for f in train + ood:
        assert not fonts.is_reserved(f.path, f.family, f.package)
    per_pkg = {}
    for f in train:
        per_pkg[f.package] = per_pkg.get(f.package, 0) + 1
    assert max(per_pkg.values()) <= fonts.MAX_FACES_PER_PACKAGE
    assert train == fonts.training_fonts()  # deterministic


def test_coverage(train_face):
    assert fonts.covers(train_face, "あ") and fonts.covers(train_face, "亜") and fonts.covers(train_face, "A")
    assert not fonts.covers(train_face, "\u0378")  # unassigned code point: the .notdef glyph
    assert not fonts.covers(train_face, "ab")
    assert train_face in fonts.covering("A") and fonts.covering("\u0378") == []
    if os.path.exists(DEJAVU):  # a Latin font draws a box or nothing for kanji: not covered
        assert fonts.covers(DEJAVU, "A") and not fonts.covers(DEJAVU, "亜")
        assert fonts.glyph_mask("亜", DEJAVU, 32) is None


def test_glyph_mask(train_face):
    m = fonts.glyph_mask("口", train_face, 64)
    assert m.shape == (64, 64) and m.dtype == np.uint8 and m.max() == 255
    rows, cols = np.flatnonzero(m.max(1) > 64), np.flatnonzero(m.max(0) > 64)
    assert abs((rows[0] + rows[-1]) / 2 - 31.5) < 8 and abs((cols[0] + cols[-1]) / 2 - 31.5) < 8  # centred
    assert 0.6 < (rows[-1] - rows[0] + 1) / 64 < 1.0  # fills most of its em box
    small = fonts.glyph_mask("っ", train_face, 64)
    assert (small > 64).sum() < (fonts.glyph_mask("つ", train_face, 64) > 64).sum()  # small kana stay small
    assert 0.7 < fonts.ink_height(train_face) < 1.0


def test_require_says_how_to_install():
    with pytest.raises(UserError, match="make fonts"):
        fonts.require([], "training")
