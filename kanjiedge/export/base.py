"""What a runtime is: its capabilities, its thread policy, its README snippet, its hooks, and one timing loop.

A runtime is one module in `kanjiedge/export/` that subclasses `Runtime` and registers it with
`@register_runtime("<name>")`. Everything else that needs to know about a runtime (profile checks, the pipeline,
the README, `bench/report.py`) asks the registered instance, so adding a runtime touches that one file:

    @register_runtime("onnx-reference")
    class Reference(Runtime):
        capability = Capability(precisions=("fp32",), note="onnx.reference, pure Python")
        snippet = "..."
        def available(self): return True, "onnx reference evaluator"
        def load(self, model_path, threads=None): return MySession(model_path)

This module imports nothing heavy; engines are imported by the runtime modules when a model is loaded.
"""

import time
from dataclasses import dataclass

import numpy as np

RUNTIMES: dict = {}  # name -> runtime instance, filled by @register_runtime
EXPORTERS: dict = {}  # extra name -> exporter function f(ctx) -> list[Path], filled by @register_exporter


class RuntimeFailure(RuntimeError):
    """An engine failed to load or run a model here (its message names the file and the engine's own error).
    Callers that report "did not run here" catch this and UserError, never a bare Exception."""


@dataclass(frozen=True, kw_only=True)
class Capability:
    """What one runtime can execute; `kanjiedge.profile` rejects a profile asking for more before any export."""

    precisions: tuple[str, ...]  # subset of ("fp32", "fp16", "int8")
    quant_formats: tuple[str, ...] = ()  # int8 graph formats: "QDQ" (standard ops), "QOperator" (QLinear* + contrib)
    quant_methods: tuple[str, ...] = ()  # "static" (calibrated), "dynamic" (DynamicQuantizeLinear + ConvInteger)
    max_opset: int = 21  # highest ai.onnx opset it parses
    symmetric_int8_only: bool = False  # needs zero-point 0 (signed symmetric) on every QuantizeLinear
    custom_domains: bool = False  # runs ops outside the standard ai.onnx domain (com.microsoft contrib ops)
    note: str = ""  # one line shown in error messages


@dataclass(frozen=True, kw_only=True)
class ThreadPolicy:
    """Which intra-op thread counts a runtime is verified and benchmarked at."""

    follows_profile: bool = False  # True: verified at each of the profile's `threads`; False: once, at `fixed`
    fixed: int | None = None  # the count used when it does not follow the profile (None = the engine's default)
    bench: tuple[int | None, ...] = (None,)  # counts `bench/report.py` measures it at

    def counts(self, profile) -> list:
        """Thread counts to verify `profile`'s files at."""
        return list(profile.threads) if self.follows_profile else [self.fixed]


class Session:
    """A loaded model. Subclasses implement `run`; `latency` is the one timing loop every runtime shares."""

    def run(self, x: np.ndarray) -> np.ndarray:
        """float32 [N,1,S,S] -> logits float32 [N,C]."""
        raise NotImplementedError

    def timed_call(self, x1):
        """A zero-argument function that runs `x1` once; the part of a run that the latency loop times.
        Runtimes override it to prepare what is not part of an inference (feeds, plans) outside the timing."""
        return lambda: self.run(x1)

    def times_ms(self, x1, runs: int, warmup: int) -> list[float]:
        """Wall-clock milliseconds of `runs` calls after `warmup` untimed ones (override where the engine
        times itself, e.g. inside another process)."""
        call = self.timed_call(np.ascontiguousarray(x1, dtype=np.float32))
        for _ in range(warmup):
            call()
        ms = []
        for _ in range(runs):
            t0 = time.perf_counter()
            call()
            ms.append((time.perf_counter() - t0) * 1e3)
        return ms

    def latency(self, x1, runs=50, warmup=5) -> dict:
        """Batch latency of `x1` in milliseconds: {"p50_ms", "p95_ms", "runs"}."""
        ms = self.times_ms(x1, runs, warmup)
        return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)), "runs": runs}

    def close(self):
        """Release the engine's resources (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FunctionSession(Session):
    """A plain function `f(x) -> logits` as a Session (PyTorch models in the bench report use it)."""

    def __init__(self, fn):
        self.fn = fn

    def run(self, x):
        return self.fn(x)


class Runtime:
    """One runtime. Subclasses set the class attributes and implement `available` and `load`."""

    name = ""  # set by @register_runtime
    capability: Capability = Capability(precisions=("fp32",))
    threads = ThreadPolicy()
    snippet = ""  # README.md code showing how to run model.onnx with this runtime on the device
    op_lists: dict = {}  # allow-list name (a profile's `[ops] only`) -> frozenset of op types this runtime parses

    def available(self) -> tuple[bool, str]:
        """(True, engine description) when it can run here, else (False, why not)."""
        raise NotImplementedError

    def load(self, model_path, threads=None) -> Session:
        """Open `model_path` with `threads` intra-op threads (None = the engine's default)."""
        raise NotImplementedError

    def check_graph(self, model, path, profile) -> dict | None:
        """Hook run on every exported file of a profile that names this runtime, whether or not the runtime is
        available here. Raise UserError for a graph it cannot run; return a dict of what was checked (it goes into
        verify.json) or None when there is nothing to check."""
        return None


def register_runtime(name):
    """Class decorator: instantiate the Runtime subclass and register it under `name`."""
    def deco(cls):
        cls.name = name
        RUNTIMES[name] = cls()
        return cls
    return deco


def register_exporter(name):
    """Function decorator: register `f(ctx) -> list[Path]` as the writer of the target extra `name`."""
    def deco(fn):
        EXPORTERS[name] = fn
        return fn
    return deco
