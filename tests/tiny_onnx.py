"""Small real ONNX models for the runtime tests (tract, onnxruntime-web): a conv net exported by torch as fp32 and
fp16, quantized to QDQ int8, QOperator int8 and dynamic int8 by onnxruntime.quantization.

Built once per test session into a temporary folder (`tiny_models()` caches), independent of the export pipeline so
that the runtime wrappers are tested on their own.
"""

import functools
import tempfile
import warnings
from pathlib import Path

import numpy as np

SIZE = 32
CLASSES = 12


def _net():
    import torch
    from torch import nn

    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, CLASSES))
    with torch.no_grad():  # non-trivial BatchNorm statistics so folding is exercised
        net[1].running_mean.uniform_(-0.2, 0.2)
        net[1].running_var.uniform_(0.5, 2.0)
    return net.eval()


def _export(net, path, half=False):
    import torch

    x = torch.rand(2, 1, SIZE, SIZE)
    if half:
        net, x = net.half(), x.half()
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notice (dynamo=False is on purpose)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(net, x, str(path), input_names=["image"], output_names=["logits"], opset_version=17,
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)


def images(n, seed=0):
    """Float32 [n,1,SIZE,SIZE] test inputs in 0..1 with blob-like structure (not pure noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE] / SIZE
    cy, cx, r = rng.random((3, n, 1, 1))
    blobs = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (0.02 + 0.1 * r))
    return np.clip(blobs + 0.1 * rng.random((n, SIZE, SIZE)), 0, 1).astype(np.float32)[:, None]


def _quantize(src, dst, fmt):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        """Calibration batches: glyph-like blobs, not noise."""

        def __init__(self):
            self.batches = iter([{"image": x[None]} for x in images(16, seed=1)])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(src), str(dst), Reader(), quant_format=getattr(QuantFormat, fmt), per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)


@functools.lru_cache(maxsize=1)
def tiny_models():
    """{"fp32", "qdq", "qop", "fp16", "dyn"} -> Path of each variant of the same tiny net."""
    folder = Path(tempfile.mkdtemp(prefix="ke-tiny-onnx-"))
    paths = {k: folder / f"{k}.onnx" for k in ("fp32", "qdq", "qop", "fp16", "dyn")}
    _export(_net(), paths["fp32"])
    _export(_net(), paths["fp16"], half=True)
    _quantize(paths["fp32"], paths["qdq"], "QDQ")
    _quantize(paths["fp32"], paths["qop"], "QOperator")
    from onnxruntime.quantization import quantize_dynamic

    quantize_dynamic(str(paths["fp32"]), str(paths["dyn"]))  # DynamicQuantizeLinear + ConvInteger/MatMulInteger
    return paths


def ort_logits(path, x):
    """Reference logits from onnxruntime CPU."""
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]


def unknown_op_model(path):
    """A valid ONNX file using op "Foo" (node "foo1"), which no runtime implements."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Foo", ["image"], ["logits"], name="foo1")], "g",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["b", 1, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["b", 3])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    return path



def logit_tolerance(path, steps=8):
    """How far two runtimes' logits of one graph may differ. fp32: 1e-3. A quantized graph's logits are multiples of
    its output DequantizeLinear scale, and runtimes round intermediate int8 sums differently (VNNI kernels or not,
    u8s8 range reduction), so a few output steps apart is agreement; a wrong scale or zero point is far beyond."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    producer = {o: n for n in graph.node for o in n.output}.get(graph.output[0].name)
    if producer is None or producer.op_type != "DequantizeLinear":
        return 1e-3
    scale = {i.name: numpy_helper.to_array(i) for i in graph.initializer}[producer.input[1]]
    return 1e-3 + steps * float(scale.max())
