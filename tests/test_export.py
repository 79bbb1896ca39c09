"""Export pipeline, parametrized over targets/*.toml: a tiny trained CNN is exported at a small input size with each
shipped profile, run in every runtime of the profile that exists here, and compared with PyTorch."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from kanjiedge.dataset import load
from kanjiedge.errors import UserError
from kanjiedge.export.pipeline import build, export_onnx, rewrite_ops, simplify
from kanjiedge.export.pipeline import test_set as split_images
from kanjiedge.models import load_model
from kanjiedge.profile import load_profile

TARGETS = sorted(Path(__file__).resolve().parent.parent.glob("targets/*.toml"))


@pytest.fixture(scope="module")
def tiny_model(tiny_checkpoint, tiny_dataset):
    """(model, meta, dataset): conftest's trained tiny cnn (32x32 input) and the dataset it was trained on."""
    model, meta = load_model(tiny_checkpoint)
    return model, meta, load(tiny_dataset)


def _logit_span(model, data, size):
    """max - min of the PyTorch logits over the test split: the scale int8 rounding errors are judged against."""
    x, _ = split_images(data, size)
    with torch.no_grad():
        logits = model(torch.from_numpy(x))
    return float(logits.max() - logits.min())


def _no_budgets(profile):
    """The tiny model is not the deliverable: test export + runtime agreement, not the size/accuracy budgets."""
    return dataclasses.replace(profile, max_size_mb=0.0, max_accuracy_drop_pt=-1.0, max_latency_ms=0.0,
                               max_latency_vs_fp32=0.0, min_agreement=0.0, calibration_samples=64)


@pytest.mark.slow
@pytest.mark.parametrize("path", TARGETS, ids=lambda p: p.stem)
def test_profile_exports_runs_and_matches_pytorch(path, tiny_model, tmp_path):
    """Every variant of every profile runs in each available runtime; fp32/fp16 match PyTorch closely, int8 keeps
    top-1 within a tolerance; metadata_props, side files and verify.json are written; unavailable runtimes are
    reported as skipped with what ran instead (TensorRT: its static checks + trtexec.txt)."""
    model, meta, data = tiny_model
    profile = _no_budgets(load_profile(path))
    report = build(profile, model, meta, data, tmp_path, "0" * 64, max_test=48, latency_runs=5)
    span = _logit_span(model, data, meta["image_size"])
    assert json.loads((tmp_path / "verify.json").read_text()) == json.loads(json.dumps(report))
    for name, variant in report["variants"].items():
        props = {p.key: p.value for p in onnx.load(str(tmp_path / name)).metadata_props}
        assert json.loads(props["kanjiedge.labels"]) == meta["classes"] and props["kanjiedge.profile"] == path.stem
        for rt, res in variant["runtimes"].items():
            if res["status"] == "skipped":
                _check_skipped(rt, res, variant)
                continue
            # int8 logits differ from fp32 by rounding that depends on the CPU's integer kernels (VNNI or not), so
            # their bound is a share of the logits' own span: a wrong scale or zero point lands far outside it.
            tol = {"fp32": (1.0, 1e-3), "fp16": (0.97, 0.05), "int8": (0.75, 0.25 * span)}[variant["precision"]]
            assert res["top1_agreement_vs_torch"] >= tol[0], (name, rt, res)
            assert res["max_abs_logit_diff"] <= tol[1], (name, rt, res)
            _check_latency(profile, rt, variant, res["latency_ms"])
    for f in ("labels.json", "preprocess.json", "model.safetensors", "README.md"):
        assert (tmp_path / f).is_file()
    _check_extras(profile, tmp_path, report)


def _check_skipped(rt, res, variant):
    """Only TensorRT is missing here; its entry says so and lists the static checks that did run on this file."""
    assert rt == "tensorrt" and res["why"].startswith("TensorRT is not installed here"), res
    checks = res["static_checks"]
    assert checks["opset"] == 13 and "ran instead: static tensorrt checks" in res["why"]
    assert (checks["qdq_nodes"] > 0) == (variant["precision"] == "int8"), checks


def _check_latency(profile, rt, variant, latency):
    """One entry per thread count the runtime follows; the main file, when not fp32, is paired with fp32 over 10
    rounds and its ratio lies inside its own interval."""
    from kanjiedge.export import get_runtime

    counts = get_runtime(rt).threads.counts(profile)
    assert list(latency) == [f"threads={t or 'default'}" for t in counts]
    for entry in latency.values():
        assert entry["p50_ms"] <= entry["p95_ms"]
        if variant["file"] == "model.onnx" and variant["precision"] != "fp32":
            lo, hi = entry["vs_fp32_ci"]
            assert entry["vs_fp32_rounds"] == 10 and lo <= entry["vs_fp32"] <= hi
        else:
            assert "vs_fp32" not in entry


def _check_extras(profile, out, report):
    if "trtexec" in profile.extras:
        text = (out / "trtexec.txt").read_text()
        assert "--onnx=model.onnx --int8 --fp16" in text and "--maxShapes=image:32x1x32x32" in text
    if "bnb" in profile.extras:
        for qt in profile.bnb_types:
            res = report["extra_results"][f"bnb-{qt}"]
            assert (out / res["file"]).is_file() and res["size_ratio_vs_fp32"] < 0.6
            assert res["top1_agreement_vs_torch"] >= 0.5  # a broken reload is ~1/24
    if "web" in profile.extras:  # the page ships the verified model, with a threshold calibrated on the val split
        web = out / "web"
        assert (web / "model.onnx").read_bytes() == (out / "model.onnx").read_bytes()
        assert (web / "index.html").is_file() and (web / "ort-wasm-simd-threaded.wasm.br").is_file()
        unsure = json.loads((web / "config.json").read_text())["unsure"]
        assert unsure["split"] == "val" and unsure == report["extra_results"]["web"]["unsure"]


def test_int8_graph_is_static_qdq_without_integer_ops(tiny_model, tmp_path):
    """rpi's int8 model is static QDQ with per-channel weight scales and no ConvInteger/DynamicQuantizeLinear."""
    model, meta, data = tiny_model
    profile = dataclasses.replace(_no_budgets(load_profile("rpi")), also=(), threads=(1,))
    build(profile, model, meta, data, tmp_path, "0" * 64, max_test=16, latency_runs=3)
    g = onnx.load(str(tmp_path / "model.onnx")).graph
    ops = {n.op_type for n in g.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    assert not ops & {"ConvInteger", "DynamicQuantizeLinear", "MatMulInteger", "ReduceMean"}
    inits = {t.name: t for t in g.initializer}
    weight_dq = [n for n in g.node if n.op_type == "DequantizeLinear" and n.input[0] in inits
                 and len(inits[n.input[0]].dims) == 4]
    assert weight_dq and all(len(inits[n.input[1]].dims) == 1 and inits[n.input[1]].dims[0] > 1 for n in weight_dq)


def test_pool_rewrite_is_exact(tmp_path):
    """GlobalAveragePool and ReduceMean over H,W become fixed AveragePools with identical outputs."""
    import onnxruntime as ort

    class Pools(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1) + x.mean((2, 3)) * 2

    export_onnx(Pools(), tmp_path / "p.onnx", 16, 17)
    before = simplify(onnx.load(str(tmp_path / "p.onnx")))
    after, n = rewrite_ops(before, ["GlobalAveragePool", "ReduceMean"])
    assert n == 2 and {"GlobalAveragePool", "ReduceMean"}.isdisjoint(x.op_type for x in after.graph.node)
    x = np.random.default_rng(0).random((3, 1, 16, 16), dtype=np.float32)
    run = [ort.InferenceSession(m.SerializeToString()).run(None, {"image": x})[0] for m in (before, after)]
    np.testing.assert_allclose(run[0], run[1], rtol=1e-5, atol=1e-6)


def test_budget_breach_fails_without_verify_json(tiny_model, tmp_path):
    """A size budget nobody can meet fails the build with one clear line and leaves no verify.json behind."""
    model, meta, data = tiny_model
    (tmp_path / "verify.json").write_text("{}")  # a stale good verdict from an earlier build
    profile = dataclasses.replace(_no_budgets(load_profile("rpi")), also=(), threads=(1,), max_size_mb=0.001)
    with pytest.raises(UserError, match="budget broken: max_size_mb"):
        build(profile, model, meta, data, tmp_path, "0" * 64, max_test=16, latency_runs=3)
    assert not (tmp_path / "verify.json").exists() and (tmp_path / "verify.failed.json").exists()


def test_tensorrt_checks_reject_asymmetric_int8(tiny_model, tmp_path):
    """An int8 graph with uint8 (asymmetric) activations fails the static TensorRT checks."""
    from kanjiedge.export.tensorrt import check_graph

    model, meta, data = tiny_model
    profile = dataclasses.replace(_no_budgets(load_profile("rpi")), opset=13, also=(), threads=(1,))
    build(profile, model, meta, data, tmp_path, "0" * 64, max_test=8, latency_runs=3)
    with pytest.raises(UserError, match="zero-point"):
        check_graph(onnx.load(str(tmp_path / "model.onnx")), "model.onnx")
