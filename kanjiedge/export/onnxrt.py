"""onnxruntime runtimes: "onnxruntime" (CPU, a fixed intra-op thread count) and "onnxruntime-cuda" (the CUDA
execution provider, falling back to CPU where CUDA is absent; the session says which provider really runs).

Graph optimisation is ORT_ENABLE_ALL: on CPU it fuses QuantizeLinear/DequantizeLinear pairs around Conv/Gemm into
QLinearConv / QGemm kernels at load time, which is what makes an int8 QDQ graph faster than fp32 there.
"""

import numpy as np

from kanjiedge.errors import UserError
from kanjiedge.export.base import Capability, Runtime, Session, ThreadPolicy, register_runtime

SNIPPET = '''import json, numpy as np, onnxruntime as ort
sess = ort.InferenceSession("model.onnx", providers={providers})
labels = json.load(open("labels.json", encoding="utf-8"))
x = glyph.astype(np.float32)[None, None] / 255.0   # uint8 [S,S], moment-normalized, ink = 255
logits = sess.run(None, {{"image": x}})[0][0]
print([labels[i] for i in np.argsort(-logits)[:5]])'''


def _ort():
    import onnxruntime  # deferred: finding the runtimes (profile checks) must not load the engine

    return onnxruntime


class OrtSession(Session):
    """An onnxruntime InferenceSession with the kanjiedge `run(x) -> logits` interface."""

    def __init__(self, model_path, providers, threads):
        ort = _ort()
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            # intra-op threads = the device's cores; inter-op 1 because the graph is a single chain
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(model_path), opts, providers=providers)
        except Exception as e:  # ORT raises its own Fail/InvalidGraph types; report one line with the file
            raise UserError(f"{model_path}: onnxruntime cannot load it ({type(e).__name__}: {e})") from None
        self.providers = self.session.get_providers()  # what ORT actually uses, in priority order
        self.input_name = self.session.get_inputs()[0].name

    def run(self, x):
        """float32 [N,1,S,S] -> logits float32 [N,C]."""
        return self.session.run(None, {self.input_name: x})[0]

    def timed_call(self, x1):
        feed = {self.input_name: np.ascontiguousarray(x1, dtype=np.float32)}  # built once, outside the timing
        return lambda: self.session.run(None, feed)

    def close(self):
        self.session = None


_CAPABILITY = dict(precisions=("fp32", "fp16", "int8"), quant_formats=("QDQ", "QOperator"),
                   quant_methods=("static", "dynamic"), max_opset=21, custom_domains=True)


@register_runtime("onnxruntime")
class CpuRuntime(Runtime):
    """onnxruntime on CPU."""

    capability = Capability(**_CAPABILITY, note="onnxruntime CPU")
    threads = ThreadPolicy(follows_profile=True, bench=(1, 2))
    snippet = SNIPPET.format(providers='["CPUExecutionProvider"]')
    providers = ("CPUExecutionProvider",)

    def available(self):
        return True, f"onnxruntime {_ort().__version__}"

    def load(self, model_path, threads=None):
        """Open `model_path` with `threads` intra-op threads (None = onnxruntime's default)."""
        return OrtSession(model_path, list(self.providers), threads)


@register_runtime("onnxruntime-cuda")
class CudaRuntime(CpuRuntime):
    """onnxruntime with CUDAExecutionProvider first and CPU as the fallback (always available)."""

    capability = Capability(**_CAPABILITY, note="onnxruntime with the CUDA provider, falling back to CPU")
    snippet = SNIPPET.format(providers='["CUDAExecutionProvider", "CPUExecutionProvider"]')
    providers = ("CUDAExecutionProvider", "CPUExecutionProvider")

    def available(self):
        ort = _ort()
        cuda = "CUDAExecutionProvider" in ort.get_available_providers()
        return True, f"onnxruntime {ort.__version__}, " + ("CUDA provider" if cuda else
                                                          "no CUDA provider here: falls back to CPU")

    def load(self, model_path, threads=None):
        wanted = [p for p in self.providers if p in _ort().get_available_providers()]
        return OrtSession(model_path, wanted, threads)
