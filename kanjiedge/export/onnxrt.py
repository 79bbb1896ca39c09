"""onnxruntime runtimes: "onnxruntime" (CPU, a fixed intra-op thread count) and "onnxruntime-cuda" (the CUDA
execution provider, falling back to CPU where CUDA is absent; the session says which provider really runs).

Graph optimisation is ORT_ENABLE_ALL: on CPU it fuses QuantizeLinear/DequantizeLinear pairs around Conv/Gemm into
QLinearConv / QGemm kernels at load time, which is what makes an int8 QDQ graph faster than fp32 there.
"""

import time

import numpy as np
import onnxruntime as ort

from kanjiedge.errors import UserError
from kanjiedge.export import register_runtime


class OrtSession:
    """An onnxruntime InferenceSession with the kanjiedge `run(x) -> logits` interface."""

    def __init__(self, model_path, providers, threads):
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

    def latency(self, x1, runs=50, warmup=5):
        """Batch latency of `x1` in milliseconds: {"p50_ms", "p95_ms", "runs"}."""
        feed = {self.input_name: np.ascontiguousarray(x1, dtype=np.float32)}
        for _ in range(warmup):
            self.session.run(None, feed)
        ms = []
        for _ in range(runs):
            t0 = time.perf_counter()
            self.session.run(None, feed)
            ms.append((time.perf_counter() - t0) * 1e3)
        return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)), "runs": runs}

    def close(self):
        self.session = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@register_runtime("onnxruntime")
class CpuRuntime:
    """onnxruntime on CPU."""

    name = "onnxruntime"
    providers = ("CPUExecutionProvider",)

    def available(self):
        return True, f"onnxruntime {ort.__version__}"

    def load(self, model_path, threads=None):
        """Open `model_path` with `threads` intra-op threads (None = onnxruntime's default)."""
        return OrtSession(model_path, list(self.providers), threads)


@register_runtime("onnxruntime-cuda")
class CudaRuntime(CpuRuntime):
    """onnxruntime with CUDAExecutionProvider first and CPU as the fallback (always available)."""

    name = "onnxruntime-cuda"
    providers = ("CUDAExecutionProvider", "CPUExecutionProvider")

    def available(self):
        cuda = "CUDAExecutionProvider" in ort.get_available_providers()
        return True, f"onnxruntime {ort.__version__}, " + ("CUDA provider" if cuda else
                                                          "no CUDA provider here: falls back to CPU")

    def load(self, model_path, threads=None):
        wanted = [p for p in self.providers if p in ort.get_available_providers()]
        return OrtSession(model_path, wanted, threads)
