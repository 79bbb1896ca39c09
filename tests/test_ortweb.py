"""The onnxruntime-web runtime (WASM backend under Node, kanjiedge.export.ortweb) against onnxruntime."""

import numpy as np
import pytest

from kanjiedge.errors import UserError
from kanjiedge.export import get_runtime
from kanjiedge.export import ortweb
from tiny_onnx import images, ort_logits, tiny_models, unknown_op_model, logit_tolerance


@pytest.fixture(scope="module")
def web_rt():
    rt = get_runtime("onnxruntime-web")
    ok, why = rt.available()
    assert ok, why
    return rt


@pytest.mark.parametrize("variant", ["fp32", "qdq", "qop"])
def test_matches_onnxruntime(web_rt, variant):
    path = tiny_models()[variant]
    x = images(1100)  # more than one request chunk
    with web_rt.load(path) as sess:
        got = sess.run(x)
    ref = ort_logits(path, x)
    assert got.shape == ref.shape and got.dtype == np.float32
    assert np.abs(got - ref).max() < logit_tolerance(path)
    assert (got.argmax(1) == ref.argmax(1)).mean() >= 0.99


def test_fp16_graph_runs(web_rt):
    path = tiny_models()["fp16"]
    x = images(20)
    with web_rt.load(path) as sess:
        got = sess.run(x)
    ref = ort_logits(path, x.astype(np.float16)).astype(np.float32)
    assert np.abs(got - ref).max() < 1e-2


def test_latency_and_clean_shutdown(web_rt):
    sess = web_rt.load(tiny_models()["fp32"])
    proc = sess._proc
    assert len(sess.times_ms(images(1), runs=7, warmup=1)) == 7  # timed inside Node, one figure per run
    assert sess.latency(images(1), runs=10, warmup=1)["runs"] == 10
    sess.close()
    assert proc.returncode == 0
    with pytest.raises(ortweb.OrtWebError, match="session is closed"):
        sess.run(images(1))


def test_runtime_error_is_reported_and_session_survives(web_rt):
    with web_rt.load(tiny_models()["fp32"]) as sess:
        with pytest.raises(ortweb.OrtWebError, match=r"fp32\.onnx: onnxruntime-web error: .*"):
            sess.run(np.zeros((2, 1, 7, 7), np.float32))  # wrong image size
        assert sess.run(images(2)).shape == (2, 12)


def test_unloadable_model_is_one_clear_error(web_rt, tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07not a protobuf at all\xff\xff")
    with pytest.raises(UserError, match=r"broken\.onnx: not a readable ONNX file"):
        web_rt.load(bad)


def test_missing_node_or_package_is_explained(monkeypatch, tmp_path):
    monkeypatch.setenv("KANJIEDGE_ORTWEB_DIST", str(tmp_path))
    ok, why = ortweb.OrtWebRuntime().available()
    assert not ok and "lacks ort.wasm.min.mjs" in why
    monkeypatch.setenv("KANJIEDGE_NODE", "")
    monkeypatch.setenv("PATH", str(tmp_path))
    ok, why = ortweb.OrtWebRuntime().available()
    assert not ok and "`node` not found" in why


def test_model_onnxruntime_web_rejects_is_reported(web_rt, tmp_path):
    with pytest.raises(ortweb.OrtWebError, match=r"unknown\.onnx: onnxruntime-web error: cannot load the model: .*Foo"):
        web_rt.load(unknown_op_model(tmp_path / "unknown.onnx"))
