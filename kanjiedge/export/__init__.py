"""Registries for the edge export: runtimes that verify an artifact, and exporters that add target extras.

* Runtimes: every module of this package that is not in `HELPERS` is a runtime module (found by file name, the
  way `kanjiedge.models` finds architectures): it subclasses `kanjiedge.export.base.Runtime` and registers it with
  `@register_runtime("<name>")`, declaring its capabilities, thread policy, README snippet and hooks there. Adding a
  runtime is adding one file. Runtime modules import their engine only when a model is loaded, so finding them is
  cheap and a missing engine only matters when a profile uses it.
* Exporters: `@register_exporter("<extra>")` on a function `f(ctx) -> list[Path]` that writes a target extra
  (`trtexec.txt`, the bitsandbytes file, the web page) into the artifact folder; `ctx` is
  `kanjiedge.export.pipeline.BuildContext`.
"""

import importlib
import pkgutil

from kanjiedge.errors import UserError
from kanjiedge.export.base import EXPORTERS, RUNTIMES, Capability, Runtime, register_exporter, register_runtime

__all__ = ["Capability", "Runtime", "register_runtime", "register_exporter", "get_runtime", "get_exporter",
           "runtime_names", "capabilities", "runtime_modules"]

HELPERS = {"base", "latency", "pipeline", "quantize", "bnb"}  # modules of this package that register no runtime
EXPORTER_MODULES = {  # extra name -> module that registers its exporter
    "trtexec": "kanjiedge.export.tensorrt",
    "bnb": "kanjiedge.export.bnb",
    "web": "kanjiedge.export.ortweb",
}
_found: set = set()  # runtime modules already imported


def runtime_modules() -> list[str]:
    """Dotted names of the runtime modules (every module here except HELPERS), found without importing them."""
    return sorted(f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__) if m.name not in HELPERS)


def _discover():
    for module in runtime_modules():
        if module not in _found:
            try:
                importlib.import_module(module)
            except ImportError as e:  # a runtime module must import without its engine (it loads it in load())
                raise UserError(f"{module}: cannot import it ({e})") from e
            _found.add(module)


def runtime_names() -> list[str]:
    """Names of every registered runtime, sorted."""
    _discover()
    return sorted(RUNTIMES)


def capabilities() -> dict[str, Capability]:
    """{runtime name: Capability}: what each registered runtime can run."""
    _discover()
    return {name: rt.capability for name, rt in RUNTIMES.items()}


def get_runtime(name) -> Runtime:
    """The registered runtime instance `name`.

    Raises:
        UserError: unknown name (the message lists the valid ones).
    """
    _discover()
    if name not in RUNTIMES:
        raise UserError(f"unknown runtime {name!r}; valid: {', '.join(sorted(RUNTIMES))}")
    return RUNTIMES[name]


def get_exporter(name):
    """The registered exporter function for target extra `name` (imports its module on first use)."""
    if name not in EXPORTER_MODULES:
        raise UserError(f"unknown exporter {name!r}; valid: {', '.join(sorted(EXPORTER_MODULES))}")
    if name not in EXPORTERS:
        importlib.import_module(EXPORTER_MODULES[name])
    return EXPORTERS[name]
