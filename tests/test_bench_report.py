"""`make bench` report: built from real artifacts (a tiny trained cnn exported for the rpi and wasm profiles), it
measures every runtime of every built target in fresh processes, agrees with an independent accuracy computation,
and writes bench.json, bench.md and the plots."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from kanjiedge.dataset import load
from kanjiedge.export import pipeline
from kanjiedge.export.pipeline import build
from kanjiedge.models import create_model
from kanjiedge.profile import load_profile

ROOT = Path(__file__).resolve().parent.parent
SIZE = 32
MAX_TEST = 40


@pytest.fixture(scope="module")
def artifacts(tiny_dataset, tmp_path_factory):
    """edge/<rpi,wasm> built by the real pipeline from a briefly trained cnn, and models/cnn/best.pt."""
    from kanjiedge.train import resize_u8

    torch.manual_seed(0)
    data = load(tiny_dataset)
    idx = data.split_indices("train")
    x = resize_u8(data.images, idx, SIZE).float() / 255
    y = torch.from_numpy(np.asarray(data.labels[idx], dtype=np.int64))
    kwargs = {"widths": [16, 32, 64]}
    model = create_model("cnn", len(data.classes), SIZE, **kwargs)
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    for _ in range(120):
        b = torch.randint(0, len(x), (32,))
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[b]), y[b]).backward()
        opt.step()
    model.eval()
    root = tmp_path_factory.mktemp("bench")
    meta = {"arch": "cnn", "arch_kwargs": kwargs, "image_size": SIZE, "classes": [c["char"] for c in data.classes],
            "preprocess": {"size": SIZE, "normalize": "moment", "scale": 1 / 255, "ink": "high"}}
    (root / "models" / "cnn").mkdir(parents=True)
    torch.save({**meta, "model": model.state_dict()}, root / "models" / "cnn" / "best.pt")
    for target in ("rpi", "wasm"):
        profile = dataclasses.replace(load_profile(ROOT / "targets" / f"{target}.toml"), max_size_mb=0.0,
                                      max_accuracy_drop_pt=-1.0, max_latency_vs_fp32=0.0, min_agreement=0.0,
                                      calibration_samples=64, extras=())
        build(profile, model, meta, data, root / "edge" / target, "1" * 64, max_test=MAX_TEST, latency_runs=5)
    return root


@pytest.mark.slow
def test_report_measures_every_runtime_and_writes_tables_and_plots(artifacts, tiny_dataset):
    """Every (file, runtime, threads) of the built targets has a row that ran; accuracy equals onnxruntime's on the
    same test images; targets without artifacts are listed as missing; the markdown has each table; plots exist."""
    from bench.report import main

    out = artifacts / "reports"
    assert main(["--data", str(tiny_dataset), "--edge", str(artifacts / "edge"), "--models",
                 str(artifacts / "models"), "--out", str(out), "--max-test", str(MAX_TEST), "--runs", "5"]) == 0
    report = json.loads((out / "bench.json").read_text())
    assert sorted(report["missing_targets"]) == ["desktop-gpu", "jetson"]
    by_target = {t["target"]: t for t in report["targets"]}
    expected = {"rpi": {("onnxruntime", 1), ("onnxruntime", 2)},
                "wasm": {("onnxruntime", 1), ("onnxruntime", 2), ("tract", None), ("onnxruntime-web", 1)}}
    for target, runs in expected.items():
        rows = by_target[target]["rows"]
        for file in ("model.onnx", "model-fp32.onnx"):
            got = {(r["runtime"], r["threads"]) for r in rows if r["file"] == file and r["ran"]}
            assert got == runs, (target, file, [r.get("why") for r in rows if not r["ran"]])
        for r in rows:
            assert r["latency"]["p50_ms"] > 0 and r["throughput_b64"] > 0 and r["peak_rss_mb"] > 0
            if r["file"] == "model.onnx":  # int8: its fp32 baseline was timed in the same process
                assert r["fp32_latency"]["p50_ms"] > 0

    x, y = pipeline.test_set(load(tiny_dataset), SIZE, MAX_TEST)
    sess = ort.InferenceSession(str(artifacts / "edge" / "rpi" / "model.onnx"), providers=["CPUExecutionProvider"])
    top1 = float((sess.run(None, {"image": x})[0].argmax(1) == y).mean() * 100)
    row = next(r for r in by_target["rpi"]["rows"] if r["file"] == "model.onnx" and r["runtime"] == "onnxruntime")
    assert row["top1"] == pytest.approx(top1) and row["n"] == len(y)

    arch = report["architectures"]
    assert len(arch) == 1 and arch[0]["params"] > 0 and 0 <= arch[0]["top1"] <= 100
    md = (out / "bench.md").read_text()
    for heading in ("Which target should I ship?", "Latency per runtime", "What each quantization costs",
                    "Trained architectures", "ETL decoder", "Not run on this machine"):
        assert f"## {heading}" in md
    for png in ("accuracy_vs_size.png", "accuracy_vs_latency.png", "latency_by_target.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
