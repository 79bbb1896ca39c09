"""Font writers and the out-of-distribution check: genuine ETL records laid out like real ones, one writer per face,
reserved fonts refused, and the OOD row (per-script, look-alike column, confusions) on the tiny trained model."""

import dataclasses

import numpy as np
import pytest

from bench import ood
from kanjiedge import etl, fonts, fontwriter
from kanjiedge.errors import UserError

KANA = "あいうえおかきくけこさしすせそ"


@pytest.fixture(scope="module")
def ood_faces():
    faces = fonts.ood_fonts()
    if not faces:
        pytest.skip("no out-of-distribution font installed (make fonts)")
    return faces


def _ink_box(img: np.ndarray, level: int):
    rows, cols = np.flatnonzero((img >= level).any(1)), np.flatnonzero((img >= level).any(0))
    return rows[0], rows[-1], cols[0], cols[-1]


def test_g_records_laid_out_like_real_etl9g(ood_faces, tmp_path):
    paths = fontwriter.write("etl9g", ood_faces, tmp_path, seed=3, chars=KANA, plain=True)
    assert [p.name for p in paths] == [f"ETL9G_{fontwriter.FIRST_FILE + k}" for k in range(len(ood_faces))]
    rec = etl.read_many(paths)
    assert rec.format == "ETL9G" and rec.images.shape[1:] == (127, 128) and len(rec) == len(KANA) * len(ood_faces)
    assert sorted(set(rec.labels)) == sorted(KANA)
    assert len(set(rec.writers.tolist())) == len(ood_faces) and rec.writers.min() > 200  # after every real writer
    boxes = np.array([_ink_box(im, 4) for im in rec.images])
    height = (boxes[:, 1] - boxes[:, 0] + 1) / 127
    down = ((boxes[:, 0] + boxes[:, 1]) / 2 - 63) / 127
    lay = fontwriter.LAYOUTS["G"]
    assert abs(height.mean() - lay.height[0]) < 0.06 and 0.4 * lay.height[1] < height.std() < 2.5 * lay.height[1]
    assert abs(down.mean() - lay.down[0]) < 0.04
    ink = np.concatenate([im[im >= 4] for im in rec.images])
    assert abs(np.median(ink) / 15 - lay.ink[0]) < 0.15 and np.median(rec.images) == 0


def test_m_records_grey_paper_and_faint_ink(ood_faces, tmp_path):
    paths = fontwriter.write("etl1", ood_faces[:2], tmp_path, seed=0, chars="アイウエオカキクケコ0123")
    rec = etl.read_many(paths)
    assert rec.format == "ETL1" and rec.images.shape[1:] == (63, 64)
    assert len(set(rec.writers.tolist())) == 2 and rec.writers.min() >= 5001  # sheets after the synthetic ones
    paper = np.median(rec.images.reshape(len(rec), -1), axis=1) / 15
    assert 0.02 < paper.mean() < 0.15  # real ETL1: 0.08
    ink = np.concatenate([im[im >= np.median(im) + 4] for im in rec.images])
    assert 0.3 < np.median(ink) / 15 < 0.65  # real ETL1: 0.48


def test_training_writers_vary_per_sample(tmp_path):
    faces = fonts.training_fonts()[:1]
    if not faces:
        pytest.skip("no training font installed (make fonts)")
    a = etl.read(fontwriter.write("etl9g", faces, tmp_path / "a", seed=0, chars="口")[0]).images[0]
    b = etl.read(fontwriter.write("etl9g", faces, tmp_path / "b", seed=1, chars="口")[0]).images[0]
    same = etl.read(fontwriter.write("etl9g", faces, tmp_path / "c", seed=0, chars="口")[0]).images[0]
    assert np.array_equal(a, same) and not np.array_equal(a, b)


def test_writer_refuses_reserved_and_empty(ood_faces, tmp_path):
    reserved = dataclasses.replace(ood_faces[0], split="reserved")
    with pytest.raises(fonts.ReservedFontError):
        fontwriter.write("etl9g", [reserved], tmp_path, chars="あ")
    with pytest.raises(UserError, match="make fonts"):
        fontwriter.write("etl9g", [], tmp_path, chars="あ")
    with pytest.raises(UserError, match="numbered files"):
        fontwriter.write("etl2", ood_faces, tmp_path)


def test_ood_row_on_tiny_model(ood_faces, tiny_checkpoint, tmp_path):
    from kanjiedge.evaluate import Predictor

    classes = Predictor(tiny_checkpoint).classes
    res = ood.measure([("cnn (PyTorch)", tiny_checkpoint)], tmp_path)
    assert res["ran"] and res["data"] == "fonts never seen in training"
    assert res["faces"] == sorted(f.name for f in ood_faces)
    row = res["rows"][0]
    assert row["n"] == len(classes) * len(ood_faces) and row["skipped_unknown"] == 0
    assert set(row["scripts"]) == {"hiragana", "kanji"}
    assert sum(s["n"] for s in row["scripts"].values()) == row["n"] and 0 <= row["top1"] <= row["top5"] <= 1
    assert row["top1"] <= row["top1_lookalike_forgiven"]
    md = ood.markdown(res)
    assert "## Out-of-distribution check: fonts never seen in training" in md
    assert "cross-script look-alike errors" in md and "| cnn (PyTorch) | fonts never seen in training |" in md
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert {line.count("|") for line in table} == {table[0].count("|")}  # header, separator, rows: same columns


def test_ood_without_fonts_says_why(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(fonts, "ood_fonts", lambda roots=fonts.FONT_ROOTS: [])
    res = ood.measure([("cnn", tiny_checkpoint)], tmp_path)
    assert not res["ran"] and "make fonts" in res["why"]
    assert "Not run: no out-of-distribution" in ood.markdown(res)


def test_font_writers_only_ever_train(tiny_etl_dir, tiny_dataset, tmp_path):
    """`kanjiedge dataset --train-only DIR`: font writers join the training split; val/test stay the same writers."""
    import json

    from conftest import TINY_CHARS
    from kanjiedge import dataset

    faces = fonts.training_fonts()[:2]
    if not faces:
        pytest.skip("no training font installed (make fonts)")
    fontwriter.write("etl9g", faces, tmp_path / "fonts", seed=0, chars=TINY_CHARS)
    out = dataset.build(tiny_etl_dir, tmp_path / "ds", normalize="moment", progress=False,  # as tiny_dataset
                        train_only=tmp_path / "fonts")
    with_fonts, plain = dataset.load(out), dataset.load(tiny_dataset)
    assert len(with_fonts) == len(plain) + 2 * len(TINY_CHARS)
    assert len(set(with_fonts.writers.tolist())) == len(set(plain.writers.tolist())) + 2
    extra = set(with_fonts.writers.tolist()) - set(plain.writers.tolist())
    assert extra <= set(with_fonts.splits["train"])
    for split in ("val", "test"):
        assert with_fonts.splits[split] == plain.splits[split]
        assert np.array_equal(with_fonts.images[with_fonts.split_indices(split)], plain.images[plain.split_indices(split)])
    manifest = json.loads((out / "manifest.json").read_text())
    assert sum(bool(s.get("train_only")) for s in manifest["sources"]) == 2


def test_parallel_output_is_identical(ood_faces, tmp_path):
    one = fontwriter.write("etl9g", ood_faces[:2], tmp_path / "1", seed=5, chars="あ亜", jobs=1)
    two = fontwriter.write("etl9g", ood_faces[:2], tmp_path / "2", seed=5, chars="あ亜", jobs=2)
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]


def test_eval_dir_table_keeps_its_columns():
    """The EVAL_DIR section: a target that failed and one that ran give rows as wide as the header."""
    rows = [{"target": "rpi", "etl_dir": {"path": "/data/ETL", "error": "ETL9G_01: record 3: bad code"}},
            {"target": "wasm", "etl_dir": {"path": "/data/ETL", "top1": 0.9, "top5": 0.99, "n": 1200,
                                           "scripts": {"hiragana": {"top1": 0.9}}, "lookalike_errors": 2}}]
    md = ood.etl_dir_markdown(rows)
    assert "## Accuracy on the ETL files in /data/ETL (EVAL_DIR)" in md and "bad code" in md
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert len(table) == 4 and {line.count("|") for line in table} == {table[0].count("|")}
