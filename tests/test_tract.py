"""The tract runtime (kanjiedge.export.tract_rt) against onnxruntime on real exported models, and its refusals."""

import numpy as np
import pytest

from kanjiedge.errors import UserError
from kanjiedge.export import get_runtime
from tiny_onnx import images, ort_logits, tiny_models, unknown_op_model, logit_tolerance


@pytest.fixture(scope="module")
def tract_rt():
    rt = get_runtime("tract")
    ok, why = rt.available()
    assert ok, why
    return rt


@pytest.mark.parametrize("variant", ["fp32", "qdq"])
def test_matches_onnxruntime(tract_rt, variant):
    path = tiny_models()[variant]
    x = images(300)
    got = tract_rt.load(path).run(x)
    ref = ort_logits(path, x)
    assert got.shape == ref.shape and got.dtype == np.float32
    assert np.abs(got - ref).max() < logit_tolerance(path)
    assert (got.argmax(1) == ref.argmax(1)).mean() >= 0.99


def test_runs_dynamic_quantized_graphs(tract_rt):
    # tract 0.23 runs DynamicQuantizeLinear + ConvInteger/MatMulInteger, so they are not refused up front
    # (the wasm profile forbids them for speed/accuracy reasons, not because tract cannot run them).
    path = tiny_models()["dyn"]
    x = images(50)
    got, ref = tract_rt.load(path).run(x), ort_logits(path, x)
    assert (got.argmax(1) == ref.argmax(1)).mean() >= 0.98 and np.abs(got - ref).max() < 0.05


def test_batch_one_equals_batch_n(tract_rt):
    sess = tract_rt.load(tiny_models()["fp32"])
    x = images(5, seed=3)
    one_by_one = np.concatenate([sess.run(x[i:i + 1]) for i in range(len(x))])
    np.testing.assert_allclose(sess.run(x), one_by_one, atol=1e-5)


def test_latency_times_one_cached_plan(tract_rt):
    """The shared timing loop runs the batch-1 plan prepared once (not re-planned per run) `runs` times."""
    sess = tract_rt.load(tiny_models()["qdq"])
    plan = sess._plan(1)
    lat = sess.latency(images(1), runs=10, warmup=1)
    assert lat["runs"] == 10 and lat["p50_ms"] <= lat["p95_ms"] and list(sess._plans) == [1]
    assert sess._plan(1) is plan


def test_refuses_contrib_ops_naming_the_op(tract_rt):
    with pytest.raises(UserError, match=r"qop\.onnx: tract cannot run node .*com\.microsoft\.Q"):
        tract_rt.load(tiny_models()["qop"])


def test_refuses_fp16_naming_a_tensor(tract_rt):
    with pytest.raises(UserError, match=r"fp16\.onnx: tract cannot run fp16 ONNX graphs \(fp16 tensor 'image'"):
        tract_rt.load(tiny_models()["fp16"])


def test_bad_file_is_one_clear_error(tract_rt, tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07not a protobuf at all\xff\xff")
    with pytest.raises(UserError, match=r"broken\.onnx: not a readable ONNX file"):
        tract_rt.load(bad)
    with pytest.raises(UserError, match=r"missing\.onnx: no such model file"):
        tract_rt.load(tmp_path / "missing.onnx")


def test_engine_failure_is_one_paragraph_naming_the_node(tract_rt, tmp_path):
    with pytest.raises(UserError, match=r"unknown\.onnx: tract failed: .*\"foo1\".*Foo") as err:
        tract_rt.load(unknown_op_model(tmp_path / "unknown.onnx"))
    assert "backtrace" not in str(err.value).lower() and "\n" not in str(err.value)
