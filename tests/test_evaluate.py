"""`kanjiedge evaluate` on a checkpoint and on an exported ONNX file (same numbers), and `kanjiedge predict`."""

import json

import cv2
import numpy as np
import onnx
import pytest
import torch

from kanjiedge.evaluate import cli as evaluate_cli
from kanjiedge.models import load_model
from kanjiedge.predict import cli as predict_cli


def export_onnx(ckpt_dir, path):
    """Export like kanjiedge.edge does: input `image`, output `logits`, kanjiedge.* metadata."""
    model, meta = load_model(ckpt_dir)
    s = meta["image_size"]
    torch.onnx.export(model, (torch.rand(1, 1, s, s),), str(path), dynamo=False, opset_version=13,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    m = onnx.load(str(path))
    for k, v in {"kanjiedge.labels": json.dumps(meta["classes"], ensure_ascii=False),
                 "kanjiedge.preprocess": json.dumps(meta["preprocess"]), "kanjiedge.arch": meta["arch"]}.items():
        m.metadata_props.add(key=k, value=v)
    onnx.save(m, str(path))


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_evaluate_checkpoint_and_onnx_agree(tiny_checkpoint, tiny_etl_dir, tmp_path, capsys):
    """--json ends with {top1, top5, n}; the ONNX export scores the same ETL files identically."""
    assert evaluate_cli(["--model", str(tiny_checkpoint), "--etl-dir", str(tiny_etl_dir), "--json"]) == 0
    ck = last_json(capsys)
    assert {"top1", "top5", "n"} <= set(ck) and ck["n"] > 100 and ck["top1"] > 0.5
    assert set(ck["scripts"]) == {"hiragana", "kanji"} and sum(v["n"] for v in ck["scripts"].values()) == ck["n"]
    assert ck["data"] == f"ETL files in {tiny_etl_dir}" and "lookalike_errors" in ck
    export_onnx(tiny_checkpoint, tmp_path / "m.onnx")
    assert evaluate_cli(["--model", str(tmp_path / "m.onnx"), "--etl-dir", str(tiny_etl_dir), "--json"]) == 0
    ox = last_json(capsys)
    assert ox["n"] == ck["n"] and abs(ox["top1"] - ck["top1"]) <= 1 / ck["n"]


def test_evaluate_dataset_split(tiny_checkpoint, tiny_dataset, capsys):
    """On the dataset's test split evaluate reproduces the engine's own test accuracy."""
    assert evaluate_cli(["--model", str(tiny_checkpoint), "--data", str(tiny_dataset), "--json"]) == 0
    res = last_json(capsys)
    best = torch.load(tiny_checkpoint / "best.pt", weights_only=True)
    assert res["top1"] == pytest.approx(best["metrics"]["test_top1"], abs=1e-6)


def test_predict_a_scanned_character(tiny_checkpoint, tiny_etl_dir, tmp_path, capsys):
    """A training-style glyph saved as black-on-white PNG is recognised (top-5) with probabilities summing <= 1."""
    from kanjiedge import etl

    rec = etl.read(sorted(tiny_etl_dir.glob("ETL9G_*"))[0], size=64, normalize="none")
    hits = 0
    for i in range(0, len(rec.labels), 5):
        png = tmp_path / f"{i}.png"
        cv2.imwrite(str(png), cv2.resize(255 - rec.images[i], (160, 160)))
        assert predict_cli([str(png), "--model", str(tiny_checkpoint), "--json"]) == 0
        top = json.loads(capsys.readouterr().out)["top"]
        assert len(top) == 5 and sum(t["p"] for t in top) <= 1 + 1e-6
        hits += rec.labels[i] in [t["char"] for t in top]
    assert hits >= 0.6 * len(range(0, len(rec.labels), 5))


def test_predict_rejects_non_images(tiny_checkpoint, tmp_path):
    from kanjiedge.errors import UserError

    bad = tmp_path / "x.png"
    bad.write_bytes(b"nope")
    with pytest.raises(UserError, match="x.png"):
        predict_cli([str(bad), "--model", str(tiny_checkpoint)])
