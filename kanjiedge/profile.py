"""Deployment target profiles: `targets/<name>.toml` -> one frozen `TargetProfile`.

The TOML groups keys in sections ([export], [precision], [ops], [budgets], [wasm], [bnb]); the dataclass is flat.
Loading rejects unknown keys (with a "did you mean" hint), wrong types, and combinations that the verifying
runtimes cannot run (checked against each registered runtime's `Capability`, see `kanjiedge.export.base`), so a bad
profile fails before any export.

    >>> from kanjiedge.profile import load_profile
    >>> p = load_profile("rpi")            # or load_profile("targets/rpi.toml")
    >>> p.precision, p.quant_format, p.runtimes
    ('int8', 'QDQ', ('onnxruntime',))
"""

import dataclasses
import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from kanjiedge.errors import UserError

TARGETS_DIR = Path(__file__).resolve().parent.parent / "targets"
PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class TargetProfile:
    """One deployment target. Every field maps to `[section] key` in the TOML (see SECTIONS)."""

    name: str  # target name = file stem (e.g. "rpi")
    path: str  # the TOML file it was read from
    description: str = ""  # one line for README/verify.json
    runtimes: tuple[str, ...] = ("onnxruntime",)  # verifying runtimes; the first is the reference for agreement
    threads: tuple[int, ...] = (1,)  # intra-op thread counts to verify with (runtimes that honour threads)
    extras: tuple[str, ...] = ()  # target extras written by registered exporters: "trtexec", "bnb", "web"
    # [export]
    opset: int = 17  # ai.onnx opset of the exported graph
    dynamo: bool = False  # torch.onnx dynamo exporter; must be False below opset 18 (it silently writes 18)
    input_size: int = 0  # input side S of [N,1,S,S]; 0 = the checkpoint's image_size
    dynamic_batch: bool = True  # batch dimension symbolic ("batch") instead of fixed 1
    # [precision]
    precision: str = "fp32"  # precision of model.onnx: fp32 | fp16 | int8
    also: tuple[str, ...] = ()  # extra precisions written as model-<p>.onnx (and verified) next to model.onnx
    method: str = "none"  # int8 quantization: static (calibrated) | dynamic | none
    quant_format: str = "QDQ"  # QDQ (QuantizeLinear/DequantizeLinear pairs) | QOperator (QLinearConv & contrib ops)
    per_channel: bool = True  # one weight scale per output channel
    symmetric_activations: bool = False  # signed int8 activations with zero-point 0 (TensorRT needs this)
    symmetric_weights: bool = True  # weights with zero-point 0
    reduce_range: bool = False  # 7-bit weights (avoids u8s8 saturation on CPUs without VNNI)
    calibration_samples: int = 0  # training images used to calibrate activation ranges
    calibration_method: str = "minmax"  # minmax | entropy | percentile
    # [ops]
    rewrite: tuple[str, ...] = ()  # ops rewritten to fixed-shape equivalents: GlobalAveragePool, ReduceMean
    forbid: tuple[str, ...] = ()  # op types that must not appear in the final graph
    only: str = ""  # "" or an op allow-list one of its runtimes declares, e.g. "onnx-tensorrt" (every op in it)
    # [budgets]
    max_size_mb: float = 0.0  # model.onnx size limit in MB (10**6 bytes); 0 = none
    max_accuracy_drop_pt: float = -1.0  # test-split top-1 drop vs the fp32 model, in points; negative = none
    max_latency_ms: float = 0.0  # batch-1 p50 in the first runtime at the first thread count; 0 = none
    # batch-1 p50 ratio model.onnx / fp32 in the reference runtime, over interleaved A/B rounds; broken only when the
    # ratio's whole 99 % interval is above it (kanjiedge.export.latency); 0 = none
    max_latency_vs_fp32: float = 0.0
    min_agreement: float = 0.0  # top-1 agreement of every runtime with the reference runtime; 0 = none
    # [wasm]
    optimize_for: str = ""  # what the shipped model.onnx optimises: "size" (download) | "latency" | "" (n/a)
    # [bnb]
    bnb_types: tuple[str, ...] = ()  # bitsandbytes 4-bit formats to write: nf4, fp4
    bnb_double_quant: bool = False  # also quantize the per-block absmax scales (saves ~0.4 bit/weight)
    bnb_blocksize: int = 64  # weights per absmax scale

    @property
    def precisions(self) -> tuple[str, ...]:
        """model.onnx precision first, then the extra ones."""
        return (self.precision, *[p for p in self.also if p != self.precision])


SECTIONS = {  # TOML section -> keys it may hold ("" = top level)
    "": ("description", "runtimes", "threads", "extras"),
    "export": ("opset", "dynamo", "input_size", "dynamic_batch"),
    "precision": ("precision", "also", "method", "quant_format", "per_channel", "symmetric_activations",
                  "symmetric_weights", "reduce_range", "calibration_samples", "calibration_method"),
    "ops": ("rewrite", "forbid", "only"),
    "budgets": ("max_size_mb", "max_accuracy_drop_pt", "max_latency_ms", "max_latency_vs_fp32", "min_agreement"),
    "wasm": ("optimize_for",),
    "bnb": ("bnb_types", "bnb_double_quant", "bnb_blocksize"),
}
ALL_KEYS = [f"{s}.{k}" if s else k for s, keys in SECTIONS.items() for k in keys]
CHOICES = {  # fields restricted to a fixed set of strings (for tuples: each element)
    "precision": PRECISIONS, "also": PRECISIONS, "method": ("none", "static", "dynamic"),
    "quant_format": ("QDQ", "QOperator"), "calibration_method": ("minmax", "entropy", "percentile"),
    "rewrite": ("GlobalAveragePool", "ReduceMean"),
    "optimize_for": ("", "size", "latency"), "bnb_types": ("nf4", "fp4"),
}


def list_targets(folder=TARGETS_DIR) -> list[str]:
    """Names of the profiles in `folder` (file stems), sorted."""
    return sorted(p.stem for p in Path(folder).glob("*.toml"))


def resolve_target(path_or_name) -> Path:
    """A target name ("rpi") or a .toml path -> the profile file.

    Raises:
        UserError: unknown name (the message lists the valid ones) or missing file.
    """
    s = str(path_or_name)
    if s.endswith(".toml") or "/" in s:
        if not Path(s).is_file():
            raise UserError(f"{s}: no such target profile")
        return Path(s)
    path = TARGETS_DIR / f"{s}.toml"
    if not path.is_file():
        hint = difflib.get_close_matches(s, list_targets(), n=1)
        raise UserError(f"unknown target {s!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                        + f"; valid targets: {', '.join(list_targets())}")
    return path


def _unknown(path, key):
    hint = difflib.get_close_matches(key, ALL_KEYS, n=1, cutoff=0.6)
    return UserError(f"{path}: unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))


def _flatten(path, doc) -> dict:
    """TOML document -> {field: value}; rejects unknown sections/keys."""
    flat = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            if key not in SECTIONS or not key:
                raise _unknown(path, f"[{key}]")
            for sub, v in value.items():
                if sub not in SECTIONS[key]:
                    raise _unknown(path, f"{key}.{sub}")
                flat[sub] = v
        elif key in SECTIONS[""]:
            flat[key] = value
        else:
            raise _unknown(path, key)
    return flat


def _coerce(path, name, value, default):
    """Check a TOML value against the field's default type; lists become tuples."""
    def bad(want):
        return UserError(f"{path}: {name} must be {want}, got {value!r}")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        value = float(value)
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise bad("a string")
    elif isinstance(default, tuple):
        if not isinstance(value, list):
            raise bad("a list")
        value = tuple(value)
    return value


def _check_choices(path, values):
    for name, allowed in CHOICES.items():
        items = values[name] if isinstance(values[name], tuple) else (values[name],)
        for item in items:
            if item not in allowed:
                hint = difflib.get_close_matches(str(item), [a for a in allowed if a], n=1)
                raise UserError(f"{path}: {name} = {item!r} is not one of {', '.join(repr(a) for a in allowed)}"
                                + (f" (did you mean {hint[0]!r}?)" if hint else ""))


def load_profile(path_or_name) -> TargetProfile:
    """Read and validate one target profile.

    Args:
        path_or_name: a target name (file stem in targets/) or a path to a .toml file.

    Returns:
        the frozen TargetProfile.

    Raises:
        UserError: unknown target/key (with a suggestion), wrong type, invalid value, or a combination the
            profile's runtimes cannot run; the message names the file.
    """
    path = resolve_target(path_or_name)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: invalid TOML ({e})") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a text file (not UTF-8), so not a TOML profile") from None
    defaults = {f.name: f.default for f in dataclasses.fields(TargetProfile)
                if f.default is not dataclasses.MISSING}
    values = dict(defaults)
    for name, value in _flatten(path, doc).items():
        values[name] = _coerce(path, name, value, defaults[name])
    _check_choices(path, values)
    profile = TargetProfile(name=path.stem, path=str(path), **values)
    check_profile(profile)
    return profile


def check_profile(p: TargetProfile) -> None:
    """Reject combinations that cannot work; raises UserError naming the file and the conflict."""
    from kanjiedge.export import EXPORTER_MODULES, RUNTIMES, runtime_names

    runtime_names()  # finds and registers every runtime module
    for problem in _problems(p, RUNTIMES, EXPORTER_MODULES):
        raise UserError(f"{p.path}: {problem}")


def _problems(p, runtimes, exporters):
    """Yield one message per impossible combination (the first one is reported)."""
    yield from _export_problems(p)
    yield from _quant_problems(p)
    for rt in p.runtimes:
        if rt not in runtimes:
            hint = difflib.get_close_matches(rt, runtimes, n=1)
            yield (f"unknown runtime {rt!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                   + f"; valid: {', '.join(sorted(runtimes))}")
            continue
        yield from _runtime_problems(p, rt, runtimes[rt].capability)
    lists = {name for rt in p.runtimes if rt in runtimes for name in runtimes[rt].op_lists}
    if p.only and p.only not in lists:
        yield (f"[ops] only = {p.only!r} is not an op list of its runtimes "
               f"(they declare: {', '.join(sorted(lists)) or 'none'})")
    for extra in p.extras:
        if extra not in exporters:
            yield f"unknown extra {extra!r}; valid: {', '.join(sorted(exporters))}"
    if p.bnb_types and "bnb" not in p.extras:
        yield "[bnb] bnb_types given but 'bnb' is not in extras"
    if "onnxruntime-web" in p.runtimes and not p.optimize_for:
        yield "a profile verified in onnxruntime-web must say [wasm] optimize_for = \"size\" or \"latency\""


def _export_problems(p):
    if not p.runtimes:
        yield "runtimes is empty: at least one runtime must verify the artifact"
    if p.opset < 13:
        yield f"opset {p.opset} is below 13 (per-channel QuantizeLinear and the models need >= 13)"
    if p.opset >= 18 and not p.dynamo:
        yield f"opset {p.opset} needs dynamo = true (the TorchScript exporter is validated up to opset 17 here)"
    if p.opset < 18 and p.dynamo:
        yield (f"dynamo = true with opset {p.opset}: the dynamo exporter silently writes opset 18 and the version "
               "converter cannot go back; use dynamo = false")
    if p.input_size < 0 or (p.input_size and p.input_size % 8):
        yield f"input_size {p.input_size} must be 0 (checkpoint's size) or a positive multiple of 8"
    if any(t < 1 for t in p.threads) or not p.threads:
        yield f"threads {list(p.threads)} must be a non-empty list of positive counts"
    if p.max_size_mb < 0 or p.max_latency_ms < 0 or p.max_latency_vs_fp32 < 0 or not 0 <= p.min_agreement <= 1:
        yield "budgets must be >= 0 (and min_agreement a fraction in 0..1)"


def _quant_problems(p):
    wants_int8 = "int8" in p.precisions
    if wants_int8 and p.method == "none":
        yield "precision int8 needs method = \"static\" (calibrated) or \"dynamic\""
    if not wants_int8 and p.method != "none":
        yield f"method = {p.method!r} but no int8 precision is requested"
    if p.method == "static" and p.calibration_samples < 1:
        yield "method = \"static\" needs calibration_samples >= 1 (real training images)"
    dynamic_ops = {"DynamicQuantizeLinear", "ConvInteger", "MatMulInteger"} & set(p.forbid)
    if p.method == "dynamic" and dynamic_ops:
        yield (f"method = \"dynamic\" writes {'/'.join(sorted(dynamic_ops))}, which [ops] forbid lists; "
               "use method = \"static\"")
    if p.method == "dynamic" and p.quant_format == "QDQ" and p.symmetric_activations:
        yield "dynamic quantization computes activation ranges at run time; symmetric_activations must be false"


def _runtime_problems(p, rt, cap):
    for prec in p.precisions:
        if prec not in cap.precisions:
            yield f"precision {prec!r} cannot run on {rt} ({cap.note}); it runs {', '.join(cap.precisions)}"
    if "int8" in p.precisions:
        if p.method not in cap.quant_methods:
            yield f"method {p.method!r} int8 cannot run on {rt} ({cap.note}); it needs {' or '.join(cap.quant_methods)}"
        if p.quant_format not in cap.quant_formats:
            yield (f"quant_format {p.quant_format!r} cannot run on {rt} ({cap.note}); "
                   f"it needs {' or '.join(cap.quant_formats)}")
        if cap.symmetric_int8_only and not (p.symmetric_activations and p.symmetric_weights):
            yield (f"{rt} needs signed symmetric int8 (zero-point 0): "
                   "set symmetric_activations = symmetric_weights = true")
        if cap.symmetric_int8_only and not p.per_channel:
            yield f"{rt} int8 expects per_channel = true weight scales"
    if p.opset > cap.max_opset:
        yield f"opset {p.opset} is above what {rt} parses (max {cap.max_opset})"
