"""`make bench` report: built from real artifacts (the tiny trained cnn exported for the rpi and wasm profiles), it
measures every runtime of every built target in fresh processes, agrees with an independent accuracy computation,
and writes bench.json, bench.md and the plots."""

import dataclasses
import json
import shutil
from pathlib import Path

import onnxruntime as ort
import pytest
import torch

from kanjiedge.dataset import load
from kanjiedge.export import pipeline
from kanjiedge.export.pipeline import build
from kanjiedge.models import load_model
from kanjiedge.profile import load_profile

ROOT = Path(__file__).resolve().parent.parent
MAX_TEST = 40


@pytest.fixture(scope="module")
def artifacts(tiny_checkpoint, tiny_dataset, tmp_path_factory):
    """edge/<rpi,wasm> built by the real pipeline from the tiny trained cnn, and models/cnn/best.pt."""
    model, meta = load_model(tiny_checkpoint)
    root = tmp_path_factory.mktemp("bench")
    (root / "models" / "cnn").mkdir(parents=True)
    shutil.copy(tiny_checkpoint / "best.pt", root / "models" / "cnn" / "best.pt")
    for target in ("rpi", "wasm"):
        profile = dataclasses.replace(load_profile(ROOT / "targets" / f"{target}.toml"), max_size_mb=0.0,
                                      max_accuracy_drop_pt=-1.0, max_latency_vs_fp32=0.0, min_agreement=0.0,
                                      calibration_samples=64, extras=())
        build(profile, model, meta, load(tiny_dataset), root / "edge" / target, "1" * 64, max_test=MAX_TEST,
              latency_runs=5)
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
        for r in rows:  # 5 rounds of 5 runs; the median round lies within the rounds' spread
            lat = r["latency"]
            assert lat["runs"] == 25 and lat["p50_min_ms"] <= lat["p50_ms"] <= lat["p50_max_ms"]
            if r["file"] == "model.onnx":  # int8: its fp32 baseline was timed in the same process, interleaved
                assert r["fp32_latency"]["runs"] == 25 and r["vs_fp32"]["rounds"] == 5
                assert r["vs_fp32"]["ci"][0] <= r["vs_fp32"]["ratio"] <= r["vs_fp32"]["ci"][1]
            else:
                assert r["fp32_latency"] is None

    size = json.loads((artifacts / "edge" / "rpi" / "preprocess.json").read_text())["size"]
    x, y = pipeline.test_set(load(tiny_dataset), size, MAX_TEST)
    sess = ort.InferenceSession(str(artifacts / "edge" / "rpi" / "model.onnx"), providers=["CPUExecutionProvider"])
    top1 = float((sess.run(None, {"image": x})[0].argmax(1) == y).mean() * 100)
    row = next(r for r in by_target["rpi"]["rows"] if r["file"] == "model.onnx" and r["runtime"] == "onnxruntime")
    assert row["top1"] == pytest.approx(top1) and row["n"] == len(y)

    arch = report["architectures"]
    model, meta = load_model(artifacts / "models" / "cnn" / "best.pt")
    ax, ay = pipeline.test_set(load(tiny_dataset), meta["image_size"], MAX_TEST)
    with torch.no_grad():
        torch_top1 = float((model(torch.from_numpy(ax)).argmax(1).numpy() == ay).mean() * 100)
    assert len(arch) == 1 and arch[0]["params"] == sum(p.numel() for p in model.parameters())
    assert arch[0]["top1"] == pytest.approx(torch_top1) and arch[0]["n"] == len(ay)
    md = (out / "bench.md").read_text()
    for heading in ("Which target should I ship?", "Latency per runtime", "What each quantization costs",
                    "Trained architectures", "ETL decoder", "Not run on this machine"):
        assert f"## {heading}" in md
    # every accuracy names its data: the synthetic test split in the headings, the OOD section its fonts
    for heading in ("Which target should I ship?", "What each quantization costs", "Trained architectures"):
        line = next(ln for ln in md.splitlines() if ln.startswith(f"## {heading}"))
        assert "synthetic writers" in line, line
    assert report["data_name"].startswith("synthetic writers")
    assert "## Out-of-distribution check: fonts never seen in training" in md
    if report["ood"]["ran"]:
        assert {r["model"] for r in report["ood"]["rows"]} == {"cnn (PyTorch)", "rpi model.onnx", "wasm model.onnx"}
    for png in ("accuracy_vs_size.png", "accuracy_vs_latency.png", "latency_by_target.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
