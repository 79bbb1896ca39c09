"""Sonos tract runtime: runs an ONNX model in tract (the `tract` Python package, the same engine that compiles to WASM).

tract runs plain fp32, QDQ int8 and dynamically quantized (DynamicQuantizeLinear + ConvInteger/MatMulInteger)
graphs. It cannot run onnxruntime's com.microsoft contrib ops (QGemm,
QLinearGlobalAveragePool, ... written by QOperator quantization) nor fp16 graphs (tract's ONNX importer fails on
fp16 Gemm), so those are refused up front with an error naming the offending node instead of a Rust backtrace.

Usage::

    rt = TractRuntime()
    sess = rt.load("model.onnx")
    logits = sess.run(x)              # float32 [N,1,S,S] -> float32 [N,C]
    sess.latency(x[:1], runs=50)      # {"p50_ms": ..., "p95_ms": ...}
"""

from pathlib import Path

import numpy as np

from kanjiedge.errors import UserError
from kanjiedge.export.base import Capability, Runtime, Session, ThreadPolicy, register_runtime

NAME = "tract"
CHUNK = 256  # images per tract call when a big batch is verified; each distinct size gets its own plan
MAX_PLANS = 4  # cached batch-size-specialised runnables per session


class TractUnsupported(UserError):
    """The model uses something tract cannot run (the message names the node and op)."""


def _onnx():
    import onnx  # deferred: importing onnx costs ~0.3 s and only loading needs it

    return onnx


def _fp16_tensors(graph, onnx):
    """Names of fp16 graph inputs/outputs/initializers and of Cast-to-fp16 nodes in `graph`."""
    f16 = onnx.TensorProto.FLOAT16
    io = [v.name for v in [*graph.input, *graph.output] if v.type.tensor_type.elem_type == f16]
    inits = [t.name for t in graph.initializer if t.data_type == f16]
    casts = [n.name for n in graph.node if n.op_type == "Cast" and any(a.name == "to" and a.i == f16
                                                                       for a in n.attribute)]
    return io + inits + casts


def check_model(model_path):
    """Raise TractUnsupported if `model_path` uses contrib ops or fp16, which tract cannot run.

    Args:
        model_path: ONNX file.

    Returns:
        The loaded onnx.ModelProto (without external data) for further inspection.
    """
    onnx = _onnx()
    try:
        model = onnx.load(str(model_path), load_external_data=False)
    except Exception as err:  # protobuf DecodeError and friends
        raise UserError(f"{model_path}: not a readable ONNX file ({type(err).__name__}: {err})") from None
    for i, node in enumerate(model.graph.node):
        if node.domain not in ("", "ai.onnx"):
            why = ("an onnxruntime contrib op (QOperator quantization writes these; quantize as QDQ for tract)"
                   if node.domain == "com.microsoft" else "outside the standard ONNX domain")
            raise TractUnsupported(f"{model_path}: tract cannot run node {node.name or f'#{i}'!r}: "
                                   f"op {node.domain}.{node.op_type} is {why}")
    fp16 = _fp16_tensors(model.graph, onnx)
    if fp16:
        raise TractUnsupported(f"{model_path}: tract cannot run fp16 ONNX graphs (fp16 tensor {fp16[0]!r}"
                               f"{f' and {len(fp16) - 1} more' if len(fp16) > 1 else ''}); export fp32 or QDQ int8")
    return model


def _batch_dim(model):
    """The first input's batch dimension: an int when static, else the symbol name (e.g. "batch")."""
    dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    return dim.dim_value if dim.HasField("dim_value") else (dim.dim_param or "N")


def _tract_error(model_path, err):
    """A one-paragraph message from a TractError: its cause chain without the Rust backtrace."""
    text = str(err).split("Stack backtrace:")[0].strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and ln.strip() != "Caused by:"]
    return f"{model_path}: tract failed: " + "; ".join(lines)


class TractSession(Session):
    """A model prepared by tract. Plans are specialised per batch size (tract's batch symbol set to N)."""

    def __init__(self, model_path, batch):
        self.model_path = str(model_path)
        self._batch = batch  # int (static) or str (symbol name)
        self._plans = {}
        self._plan(1 if isinstance(batch, str) else batch)  # fail now, not on first run

    def _plan(self, n):
        """Runnable for batch size `n` (loaded, batch symbol bound to n, optimised); cached."""
        if n not in self._plans:
            import tract

            try:
                model = tract.onnx().load(self.model_path).into_model()
                if isinstance(self._batch, str):
                    model.transform(tract.SetSymbols({self._batch: n}))
                plan = model.into_runnable()
            except tract.TractError as err:
                raise TractUnsupported(_tract_error(self.model_path, err)) from None
            if len(self._plans) >= MAX_PLANS:
                self._plans.pop(next(iter(self._plans)))
            self._plans[n] = plan
        return self._plans[n]

    def _run_chunk(self, x):
        if isinstance(self._batch, int) and len(x) != self._batch:
            return self._run_padded(x)
        return self._plan(len(x)).run([x])[0].to_numpy()

    def _run_padded(self, x):
        # Static-batch graph: run in slices of exactly `batch` images, zero-padding the last one.
        b, outs = self._batch, []
        for i in range(0, len(x), b):
            part = x[i:i + b]
            pad = np.zeros((b - len(part), *x.shape[1:]), np.float32)
            outs.append(self._plan(b).run([np.concatenate([part, pad])])[0].to_numpy()[:len(part)])
        return np.concatenate(outs)

    def run(self, x):
        """Logits for a batch.

        Args:
            x: float32 array [N,1,S,S] (ink high, scaled to 0..1).

        Returns:
            float32 array [N,C].
        """
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 4:
            raise ValueError(f"expected input [N,1,S,S], got shape {x.shape}")
        step = CHUNK if isinstance(self._batch, str) else self._batch * max(1, CHUNK // self._batch)
        return np.concatenate([self._run_chunk(x[i:i + step]) for i in range(0, len(x), step)]).astype(np.float32)

    def timed_call(self, x1):
        plan = self._plan(len(x1))  # planned once, outside the timing
        return lambda: plan.run([x1])

    def close(self):
        """Drop the prepared plans."""
        self._plans.clear()


@register_runtime(NAME)
class TractRuntime(Runtime):
    """Sonos tract (CPU build of the engine the WASM target uses)."""

    # no com.microsoft contrib ops (QOperator emits QLinearGlobalAveragePool/QGemm), no fp16 graphs
    capability = Capability(precisions=("fp32", "int8"), quant_formats=("QDQ",), quant_methods=("static", "dynamic"),
                            max_opset=21, note="Sonos tract (the engine compiled to WASM)")
    threads = ThreadPolicy()  # single-threaded: verified and benchmarked once, at its default
    snippet = '''import json, numpy as np, tract
model = tract.onnx().load("model.onnx").into_model()
model.transform(tract.SetSymbols({"batch": 1}))
plan = model.into_runnable()
x = glyph.astype(np.float32)[None, None] / 255.0
logits = plan.run([x])[0].to_numpy()[0]'''

    def available(self):
        """(True, version) when the `tract` package imports, else (False, reason)."""
        try:
            import tract
        except ImportError as err:
            return False, f"tract: python package not importable ({err}); pip install tract"
        return True, f"tract {tract.version()}"

    def load(self, model_path, threads=None):
        """Check and prepare `model_path`. `threads` is accepted for interface parity; tract runs single-threaded."""
        if not Path(model_path).is_file():
            raise UserError(f"{model_path}: no such model file")
        model = check_model(model_path)
        return TractSession(model_path, _batch_dim(model))
