"""Registries for the edge export: runtimes that verify an artifact, and exporters that add target extras.

* Runtimes: one module per runtime (`onnxrt.py`, `tract_rt.py`, `ortweb.py`, `tensorrt.py`), each registering a
  class with `@register_runtime("<name>")`. A runtime instance has `available() -> (bool, why)` and
  `load(model_path, threads=None)` returning a session with `run(x: float32[N,1,S,S]) -> float32[N,C]`.
  Modules are imported lazily by `get_runtime(name)` so that a missing engine only matters when a profile uses it.
* Capabilities: `CAPABILITIES` is the single table of what each runtime can run (precisions, quantization formats,
  opsets, custom-op domains). `kanjiedge.profile` checks every profile against it before any export work.
* Exporters: `@register_exporter("<extra>")` on a function `f(ctx) -> list[Path]` that writes a target extra
  (`trtexec.txt`, the bitsandbytes file, the web page) into the artifact folder; `ctx` is
  `kanjiedge.export.pipeline.BuildContext`.
"""

import importlib
from dataclasses import dataclass

from kanjiedge.errors import UserError


@dataclass(frozen=True)
class Capability:
    """What one runtime can execute; used to reject impossible profiles at load time."""

    precisions: tuple[str, ...]  # subset of ("fp32", "fp16", "int8")
    quant_formats: tuple[str, ...]  # int8 graph formats it runs: "QDQ" (standard ops), "QOperator" (QLinear* + contrib)
    quant_methods: tuple[str, ...]  # "static" (calibrated), "dynamic" (DynamicQuantizeLinear + ConvInteger/MatMulInteger)
    max_opset: int  # highest ai.onnx opset it parses
    symmetric_int8_only: bool  # needs zero-point 0 (signed symmetric) on every QuantizeLinear
    threads: bool  # honours an intra-op thread count
    needs_gpu: bool  # only runs where a GPU is present (otherwise: static checks only)
    custom_domains: bool  # runs ops outside the standard ai.onnx domain (com.microsoft contrib ops)
    note: str  # one line shown in error messages


CAPABILITIES: dict[str, Capability] = {
    "onnxruntime": Capability(("fp32", "fp16", "int8"), ("QDQ", "QOperator"), ("static", "dynamic"), 21,
                              False, True, False, True, "onnxruntime CPU"),
    "onnxruntime-cuda": Capability(("fp32", "fp16", "int8"), ("QDQ", "QOperator"), ("static", "dynamic"), 21,
                                   False, True, False, True, "onnxruntime with the CUDA provider, falling back to CPU"),
    "onnxruntime-web": Capability(("fp32", "fp16", "int8"), ("QDQ", "QOperator"), ("static", "dynamic"), 21,
                                  False, False, False, True, "onnxruntime-web WASM backend under Node"),
    # tract: no com.microsoft contrib ops (QOperator emits QLinearGlobalAveragePool/QGemm), no fp16 graphs,
    # no DynamicQuantizeLinear/ConvInteger.
    "tract": Capability(("fp32", "int8"), ("QDQ",), ("static",), 21, False, False, False, False,
                        "Sonos tract (the engine compiled to WASM)"),
    # TensorRT 8.2 (original Jetson Nano) parses up to opset 13; explicit int8 needs QDQ with zero-point 0.
    "tensorrt": Capability(("fp32", "fp16", "int8"), ("QDQ",), ("static",), 13, True, False, True, False,
                           "TensorRT (JetPack 4.6 / TensorRT 8.2 and later)"),
}

RUNTIME_MODULES = {  # runtime name -> module that registers it (imported on first use)
    "onnxruntime": "kanjiedge.export.onnxrt",
    "onnxruntime-cuda": "kanjiedge.export.onnxrt",
    "onnxruntime-web": "kanjiedge.export.ortweb",
    "tract": "kanjiedge.export.tract_rt",
    "tensorrt": "kanjiedge.export.tensorrt",
}

EXPORTER_MODULES = {  # extra name -> module that registers its exporter
    "trtexec": "kanjiedge.export.tensorrt",
    "bnb": "kanjiedge.export.bnb",
    "web": "kanjiedge.export.ortweb",
}

RUNTIMES: dict = {}  # name -> runtime instance, filled by @register_runtime
EXPORTERS: dict = {}  # name -> exporter function, filled by @register_exporter


def register_runtime(name):
    """Class decorator: instantiate the runtime class and register it under `name`."""
    def deco(cls):
        RUNTIMES[name] = cls()
        return cls
    return deco


def register_exporter(name):
    """Function decorator: register `f(ctx) -> list[Path]` as the writer of the target extra `name`."""
    def deco(fn):
        EXPORTERS[name] = fn
        return fn
    return deco


def _lookup(kind, name, table, modules):
    if name not in modules:
        raise UserError(f"unknown {kind} {name!r}; valid: {', '.join(sorted(modules))}")
    if name not in table:
        try:
            importlib.import_module(modules[name])
        except ImportError as e:
            raise UserError(f"{kind} {name!r}: cannot import {modules[name]} ({e})") from e
    if name not in table:
        raise UserError(f"{kind} {name!r}: {modules[name]} did not register it")
    return table[name]


def get_runtime(name):
    """The registered runtime instance `name` (imports its module on first use).

    Raises:
        UserError: unknown name (the message lists the valid ones) or a module that fails to import.
    """
    return _lookup("runtime", name, RUNTIMES, RUNTIME_MODULES)


def get_exporter(name):
    """The registered exporter function for target extra `name` (imports its module on first use)."""
    return _lookup("exporter", name, EXPORTERS, EXPORTER_MODULES)
