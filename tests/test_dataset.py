"""`kanjiedge dataset`: contents, writer-disjoint splits, class merging across sets, manifest, atomicity."""

import hashlib
import json

import numpy as np
import pytest

from kanjiedge import dataset, etl, native, synth
from kanjiedge.errors import UserError


def test_tiny_dataset_layout(tiny_dataset):
    """The shared fixture has the documented files, dtypes and shapes (uint8 [N,64,64], int32 labels/writers)."""
    d = dataset.load(tiny_dataset)
    assert isinstance(d.images, np.memmap) and d.images.dtype == np.uint8 and d.images.shape[1:] == (64, 64)
    assert d.labels.dtype == np.int32 and d.writers.dtype == np.int32
    assert len(d) == len(d.images) == len(d.writers)
    assert len(d.classes) >= 20 and d.labels.min() == 0 and d.labels.max() == len(d.classes) - 1
    assert len(np.unique(d.writers)) >= 6
    assert d.images.max() == 255 and d.images[:, :2].mean() < d.images[:, 24:40].mean()  # ink is centred


def test_images_equal_the_decoder_output(tiny_etl_dir, tiny_dataset):
    """images.npy holds exactly what kanjiedge.etl.read gives for the source files (64, moment), and labels
    point at the right characters."""
    d = dataset.load(tiny_dataset)
    rec = etl.read_many(sorted(tiny_etl_dir.glob("ETL9G_*")), size=64, normalize="moment")
    np.testing.assert_array_equal(np.asarray(d.images), rec.images)
    assert [d.classes[i]["char"] for i in d.labels] == rec.labels


def test_classes_json(tiny_dataset):
    """classes.json carries char, JIS code, code point, KanjiVG stroke count and components."""
    d = dataset.load(tiny_dataset)
    by_char = {c["char"]: c for c in d.classes}
    assert by_char["明"]["strokes"] == 8 and by_char["明"]["jis"] == 0x4C40
    assert by_char["明"]["codepoint"] == ord("明")
    assert {"element": "日", "level": 1, "position": "left"} in by_char["明"]["components"]
    with_wood = [c["char"] for c in d.classes if any(p["element"] == "木" for p in c["components"])]
    assert len(with_wood) >= 3


def test_splits_are_writer_disjoint(tiny_dataset):
    """train/val/test writers are disjoint, cover every writer, each has >= 1 writer, and split_indices agrees."""
    d = dataset.load(tiny_dataset)
    sets = [set(d.splits[k]) for k in ("train", "val", "test")]
    assert all(sets) and not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert set().union(*sets) == set(d.writers.tolist())
    idx = [d.split_indices(k) for k in ("train", "val", "test")]
    assert sum(map(len, idx)) == len(d) and len(np.unique(np.concatenate(idx))) == len(d)
    for k, ix in zip(("train", "val", "test"), idx):
        assert ix.dtype == np.int64 and set(d.writers[ix].tolist()) == set(d.splits[k])
        assert d.splits["counts"][k] == {"writers": len(d.splits[k]), "samples": len(ix)}


def test_manifest(tiny_etl_dir, tiny_dataset):
    """manifest.json lists each source with its sha256 and record count, the decoder version and counts."""
    m = json.loads((tiny_dataset / "manifest.json").read_text())
    files = sorted(tiny_etl_dir.glob("ETL9G_*"))
    assert [s["path"] for s in m["sources"]] == [str(p) for p in files]
    for src, p in zip(m["sources"], files):
        assert src["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
        assert src["format"] == "ETL9G" and src["records"] == p.stat().st_size // 8199
    assert m["decoder_version"] == native.VERSION
    assert m["parameters"]["size"] == 64 and m["parameters"]["normalize"] == "moment"
    d = dataset.load(tiny_dataset)
    assert m["counts"]["samples"] == len(d) and m["counts"]["classes"] == len(d.classes)


def test_split_sizes_scale_and_are_deterministic():
    """16 writers -> 12/2/2; 6 -> 4/1/1; same seed same split; fewer than 3 writers is a clear error."""
    s16 = dataset.split_writers(range(16))
    assert [len(s16[k]) for k in ("train", "val", "test")] == [12, 2, 2]
    assert dataset.split_writers(range(16)) == s16 and dataset.split_writers(range(16), seed=1) != s16
    assert [len(v) for v in dataset.split_writers(range(6)).values()] == [4, 1, 1]
    with pytest.raises(UserError, match="at least 3 writers"):
        dataset.split_writers([1, 2])
    with pytest.raises(UserError):
        dataset.split_writers(range(6), val=3, test=3)


def test_classes_merge_across_etl8g_and_etl9g(tmp_path):
    """The same kanji in ETL8G and ETL9G is one class; the two databases' writers stay distinct ids."""
    synth.write("etl8g", 2, 0, tmp_path / "etl" / "ETL8G", chars="亜右っ", jobs=1, progress=False)
    synth.write("etl9g", 2, 0, tmp_path / "etl" / "ETL9G", chars="亜右明", jobs=1, progress=False)
    d = dataset.load(dataset.build(tmp_path / "etl", tmp_path / "ds", size=32, progress=False))
    chars = [c["char"] for c in d.classes]
    assert sorted(chars) == sorted("亜右っ明")
    assert len(np.unique(d.writers)) == 4 and len(d) == 12
    assert (d.labels == chars.index("亜")).sum() == 4
    assert {r["format"] for r in d.manifest["sources"]} == {"ETL8G", "ETL9G"}


def test_binarised_copies_are_skipped_when_grey_files_exist(tmp_path):
    """ETL9B holds the same samples as ETL9G: with both present only ETL9G is used, and the manifest says so."""
    synth.write("etl9g", 3, 0, tmp_path / "etl", chars=4, jobs=1, progress=False)
    synth.write("etl9b", 3, 0, tmp_path / "etl", chars=4, jobs=1, progress=False)
    d = dataset.load(dataset.build(tmp_path / "etl", tmp_path / "ds", size=32, progress=False))
    assert len(d) == 12 and [s["format"] for s in d.manifest["sources"]] == ["ETL9G"]
    assert "ETL9B_1" in d.manifest["skipped"][0]


def test_info_files_and_other_files_are_ignored(tmp_path):
    """ETL9INFO, dot-files and non-ETL files in the folder are not read as data."""
    synth.write("etl9g", 3, 0, tmp_path / "etl" / "sub", chars=2, jobs=1, progress=False)
    (tmp_path / "etl" / "ETL9INFO").write_text("etl9g_01  (F,8199,8199,G-type)\n")
    (tmp_path / "etl" / "README.txt").write_text("notes")
    (tmp_path / "etl" / ".ETL9G_02.tmp1").write_bytes(b"x" * 10)
    d = dataset.load(dataset.build(tmp_path / "etl", tmp_path / "ds", size=16, progress=False))
    assert len(d.manifest["sources"]) == 1 and len(d) == 6


def test_no_etl_files_is_a_user_error(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(UserError, match=f"{tmp_path}: no ETL files"):
        dataset.build(tmp_path, tmp_path / "ds", progress=False)
    assert not (tmp_path / "ds").exists()


def test_broken_file_names_the_file_and_leaves_nothing(tmp_path):
    """A truncated ETL file fails with an error naming it; no dataset (or temporary) folder is left."""
    (path,) = synth.write("etl9g", 3, 0, tmp_path / "etl", chars=2, jobs=1, progress=False)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="ETL9G_01"):
        dataset.build(tmp_path / "etl", tmp_path / "out" / "ds", progress=False)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_interrupted_run_leaves_previous_dataset_intact(tmp_path, monkeypatch):
    """An exception half-way (after the first file was decoded) removes the partial output; an existing dataset
    in --out stays as it was, and no temporary folder is left behind."""
    synth.write("etl9g", 6, 0, tmp_path / "etl", chars=3, jobs=1, progress=False)
    out = tmp_path / "datasets" / "ds"
    dataset.build(tmp_path / "etl", out, size=16, progress=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real_read, calls = etl.read_many, []

    def failing_read(*args, **kw):
        calls.append(args[0])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_read(*args, **kw)

    monkeypatch.setattr(etl, "read_many", failing_read)
    with pytest.raises(KeyboardInterrupt):
        dataset.build(tmp_path / "etl", out, size=16, progress=False)
    assert len(calls) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["ds"]
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        dataset.build(tmp_path / "etl", tmp_path / "fresh" / "ds", size=16, progress=False)
    assert not (tmp_path / "fresh" / "ds").exists() and not list((tmp_path / "fresh").iterdir())


def test_rebuild_is_deterministic(tiny_etl_dir, tiny_dataset, tmp_path):
    """Building again from the same files gives identical arrays, classes and splits."""
    again = dataset.build(tiny_etl_dir, tmp_path / "again", normalize="moment", progress=False)  # as tiny_dataset
    for name in ("images.npy", "labels.npy", "writers.npy", "classes.json", "splits.json"):
        assert (again / name).read_bytes() == (tiny_dataset / name).read_bytes(), name


def test_load_rejects_incomplete_folder(tmp_path):
    (tmp_path / "images.npy").write_bytes(b"")
    with pytest.raises(UserError, match="manifest.json"):
        dataset.load(tmp_path)


def test_cli(tiny_etl_dir, tmp_path, capsys):
    """`kanjiedge dataset` builds the folder and prints the counts; explicit split sizes are honoured."""
    out = tmp_path / "ds"
    assert dataset.cli(["--etl-dir", str(tiny_etl_dir), "--out", str(out), "--size", "32", "--val-writers", "2",
                        "--test-writers", "1", "--no-progress"]) == 0
    d = dataset.load(out)
    assert d.images.shape[1:] == (32, 32) and len(d.splits["val"]) == 2 and len(d.splits["test"]) == 1
    assert "samples" in capsys.readouterr().out
