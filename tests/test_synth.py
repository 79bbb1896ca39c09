"""Synthetic ETL writer: determinism, writer -> decoder round trips for every record type, file structure,
and sanity of the rendered handwriting."""

import struct

import numpy as np
import pytest

from kanjiedge import charsets, etl, synth
from kanjiedge.errors import UserError

# Character lists that exercise each format's label quirks (ヰ/ヱ as 0xA8/0xAA, hiragana stored as katakana
# codes, voicing marks, ASCII, CO-59 pairs, small kana in ETL8).
QUIRK_CHARS = {
    "etl9g": "亜腕あん", "etl8g": "亜っゃあ", "etl9b": "亜腕あん", "etl8b2": "亜っあ",
    "etl1": "0A,アヰヱン", "etl6": "アヲン0Z", "etl7": "あを゛゜", "etl3": "0Z,.",
    "etl4": "あゐゑん", "etl5": "アヰヱン", "etl2": None,
}


def _expected(fmt_key, seed, chars, writers):
    """The levels and labels the writer meant to store, straight from the renderer."""
    fmt = synth.get_format(fmt_key)
    cs = charsets.select(charsets.charset(fmt.charset), chars if chars is not None else 6)
    samples = [s for w in range(writers) for s in synth.samples(fmt, cs, w)]
    return np.stack([synth.glyph_levels(fmt, seed, s) for s in samples]), [s.char for s in samples], cs


@pytest.mark.parametrize("fmt_key", sorted(synth.FORMATS))
def test_round_trip_every_record_type(fmt_key, tmp_path):
    """Files written for each format decode (kanjiedge.etl, size=None) to exactly the written levels and
    labels, and every writer gets its own writer id."""
    chars = QUIRK_CHARS[fmt_key] if QUIRK_CHARS[fmt_key] is not None else 6
    paths = synth.write(fmt_key, 3, 7, tmp_path, chars=chars, jobs=1, progress=False)
    rec = etl.read_many(paths)
    levels, labels, cs = _expected(fmt_key, 7, chars, 3)
    assert rec.format == synth.get_format(fmt_key).name
    assert rec.labels == labels and rec.codes == list(cs.codes) * 3
    np.testing.assert_array_equal(rec.images, levels)
    per_writer = rec.writers.reshape(3, -1)
    assert (per_writer == per_writer[:, :1]).all() and len(np.unique(per_writer[:, 0])) == 3


def test_levels_use_the_format_depth():
    """Images are quantized to the format's levels: 16 for G/M/C, 64 for K, 0/1 for B; paper is 0."""
    cs = charsets.select(charsets.charset("ETL9G"), "森")
    for key, top in [("etl9g", 15), ("etl2", 63), ("etl9b", 1), ("etl1", 15), ("etl4", 15)]:
        fmt = synth.get_format(key)
        sample = synth.samples(fmt, charsets.select(charsets.charset(fmt.charset), 1) if key != "etl9g" else cs,
                                0)[0]
        img = synth.glyph_levels(fmt, 0, sample)
        assert img.shape == fmt.frame and img.dtype == np.uint8
        assert img.max() == top and np.median(img) == 0


def test_deterministic_and_independent_of_scheduling(tmp_path):
    """Same seed -> byte-identical files, whether rendered in 1 or 2 processes; another seed differs."""
    a = synth.write("etl9g", 5, 3, tmp_path / "a", chars=30, jobs=1, progress=False)
    b = synth.write("etl9g", 5, 3, tmp_path / "b", chars=30, jobs=2, progress=False)
    c = synth.write("etl9g", 5, 4, tmp_path / "c", chars=30, jobs=1, progress=False)
    assert [p.name for p in a] == ["ETL9G_01", "ETL9G_02"]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b))
    assert a[0].read_bytes() != c[0].read_bytes()


def test_etl9g_file_structure(tmp_path, monkeypatch):
    """A full-size run lays out genuine ETL9G files: 12,144 records (4 data sets x 3,036) per file, 8199-byte
    records, the remainder in a last short file; header fields as in docs/etl-format.md §3.
    (Rendering is replaced by blank images here: this test is about the file layout, which the round-trip
    test above checks with real renders on a subset.)"""
    blank = np.zeros((127, 128), np.uint8)
    monkeypatch.setattr(synth, "glyph_levels", lambda fmt, seed, s: blank)
    paths = synth.write("etl9g", 5, 0, tmp_path, jobs=1, progress=False)
    assert [p.name for p in paths] == ["ETL9G_01", "ETL9G_02"]
    assert paths[0].stat().st_size == 12144 * 8199 and paths[1].stat().st_size == 3036 * 8199
    with open(paths[0], "rb") as f:
        first = f.read(8199)
        f.seek(3036 * 8199)
        second_set = f.read(8199)
    sheet, code, reading, serial = struct.unpack(">HH8sI", first[:16])
    assert (sheet, code, reading, serial) == (1, 0x3021, b"U4E9C   ", 1)
    assert struct.unpack(">HH", first[24:28]) == (8212, 8310)
    assert struct.unpack(">HHxxxxxxxxI", second_set[:16]) == (21, 0x3021, 3037)  # data set 2: sheets 21..40
    rec = etl.read(paths[1], size=8)
    assert len(rec) == 3036 and set(rec.writers.tolist()) == {5}


def test_b_type_files_start_with_a_dummy_record(tmp_path):
    """ETL9B / ETL8B2 files begin with one all-zero record, then 576 / 512-byte records."""
    for key, size in [("etl9b", 576), ("etl8b2", 512)]:
        (path,) = synth.write(key, 2, 0, tmp_path / key, chars=5, jobs=1, progress=False)
        data = path.read_bytes()
        assert len(data) == size * (1 + 2 * 5) and not any(data[:size]) and any(data[size:2 * size])


def test_writers_not_multiple_of_files_and_stale_files(tmp_path):
    """6 writers -> ETL9G_01 (4 sets) + ETL9G_02 (2 sets); a rerun with fewer writers removes ETL9G_02."""
    synth.write("etl9g", 6, 0, tmp_path, chars=3, jobs=1, progress=False)
    assert (tmp_path / "ETL9G_02").stat().st_size == 2 * 3 * 8199
    synth.write("etl9g", 2, 0, tmp_path, chars=3, jobs=1, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["ETL9G_01"]  # no marker


def test_writers_differ_and_stay_readable(tmp_path):
    """Different writers draw the same character differently, but after moment normalization each sample is
    closer to the same character by other writers than to the other characters (no glyph turns into another)."""
    chars = "木本未末休体日目白百"
    paths = synth.write("etl9g", 8, 11, tmp_path, chars=chars, jobs=1, progress=False)
    rec = etl.read_many(paths, size=32, normalize="moment")
    x = rec.images.reshape(8, len(chars), -1).astype(np.float32) / 255
    assert np.abs(x[0] - x[1]).mean() > 0.02  # writers differ
    correct = 0
    for w in range(8):
        centroids = np.delete(x, w, axis=0).mean(axis=0)  # [C, D] from the other writers
        d = ((x[w][:, None, :] - centroids[None]) ** 2).sum(-1)
        correct += int((d.argmin(1) == np.arange(len(chars))).sum())
    assert correct / x[:, :, 0].size >= 0.9


def test_glyphs_sit_small_and_off_centre():
    """Like ETL9G samples, a glyph covers part of the 128x127 frame and its centre varies between writers."""
    fmt = synth.get_format("etl9g")
    cs = charsets.select(charsets.charset("ETL9G"), "国")
    centres = []
    for w in range(12):
        img = synth.glyph_levels(fmt, 0, synth.samples(fmt, cs, w)[0])
        ys, xs = np.nonzero(img >= 4)
        assert 30 < np.ptp(xs) < 110 and 30 < np.ptp(ys) < 110
        centres.append((xs.mean(), ys.mean()))
    assert np.std(np.array(centres), axis=0).max() > 2


def test_bad_arguments():
    with pytest.raises(UserError, match="unknown format"):
        synth.get_format("etl10")
    with pytest.raises(UserError, match="writers"):
        synth.write("etl9g", 0, 0, "/nonexistent-never-created", chars=2, progress=False)
    with pytest.raises(UserError, match="single file"):
        synth.plan_files(synth.get_format("etl4"), 200000)


def test_cli(tmp_path, capsys):
    """`kanjiedge synth` writes the files and reports the glyph rate."""
    assert synth.cli(["--format", "etl7", "--writers", "2", "--chars", "あを゛", "--out", str(tmp_path),
                      "--jobs", "1", "--no-progress"]) == 0
    assert (tmp_path / "ETL7LC_1").stat().st_size == 2 * 3 * 2052
    assert "glyphs/s" in capsys.readouterr().out


def test_preview_grid(tmp_path):
    """--preview writes a PNG grid (rows = writers, columns = characters) read back from the files."""
    import cv2

    paths = synth.write("etl9g", 4, 0, tmp_path, chars=5, jobs=1, progress=False)
    img = cv2.imread(str(synth.preview(paths, tmp_path / "grid.png")), cv2.IMREAD_GRAYSCALE)
    assert img.shape == (4 * 129, 5 * 130) and img.min() < 64 and np.median(img) > 200
