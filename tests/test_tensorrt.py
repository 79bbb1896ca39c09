"""The TensorRT runtime module: its hook runs the static checks on every file of a profile that names it, and a
skipped TensorRT says what ran instead only when something did (the message is built from the checks' result)."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from kanjiedge.errors import UserError
from kanjiedge.export import get_runtime
from kanjiedge.export.pipeline.verify import _skipped
from kanjiedge.profile import load_profile
from tiny_onnx import tiny_models


def _ctx(static_checks):
    return SimpleNamespace(static_checks=static_checks, log=lambda msg: None)


def test_unavailable_message_claims_nothing_it_did_not_do():
    ok, why = get_runtime("tensorrt").available()
    if ok:
        pytest.skip("TensorRT is installed here")
    assert why == "TensorRT is not installed here (no `tensorrt` package)"


def test_skip_entry_reports_the_checks_that_ran():
    """With the hook's result the entry names each check and carries the result; without it, it says nothing."""
    checked = {"checks": ["onnx-tensorrt operator list", "opset <= 13"], "opset": 13, "qdq_nodes": 4, "ops": []}
    with_checks = _skipped(_ctx({"model.onnx": {"tensorrt": checked}}), "tensorrt", Path("model.onnx"), "absent")
    assert with_checks == {"status": "skipped", "static_checks": checked,
                           "why": "absent; ran instead: static tensorrt checks (onnx-tensorrt operator list, "
                                  "opset <= 13), passed"}
    assert _skipped(_ctx({}), "tensorrt", Path("model.onnx"), "absent") == {"status": "skipped", "why": "absent"}


def test_hook_checks_and_rejects():
    """The runtime's check_graph hook: a plain opset-17 fp32 graph is over TensorRT 8.2's opset 13."""
    import onnx

    model = onnx.load(str(tiny_models()["fp32"]))
    with pytest.raises(UserError, match="opset 17 > 13"):
        get_runtime("tensorrt").check_graph(model, "fp32.onnx", None)
    assert get_runtime("onnxruntime").check_graph(model, "fp32.onnx", None) is None


def test_op_list_must_come_from_one_of_the_profile_runtimes(tmp_path):
    """`[ops] only = "onnx-tensorrt"` is TensorRT's list: a profile without TensorRT cannot name it."""
    text = Path(load_profile("jetson").path).read_text(encoding="utf-8")
    bad = tmp_path / "no-trt.toml"
    bad.write_text(text.replace('runtimes = ["onnxruntime", "tensorrt"]', 'runtimes = ["onnxruntime"]'))
    with pytest.raises(UserError, match="only = 'onnx-tensorrt' is not an op list of its runtimes"):
        load_profile(bad)
