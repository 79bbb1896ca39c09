"""Checks on what a user hands a command (files, metadata, options), each failing with one line that names the
file or the option (`InputError`), so a bad input never surfaces as a traceback or, worse, as a wrong result."""

import json
from pathlib import Path

import numpy as np

from kanjiedge.errors import InputError


def at_least_one(args, *names: str) -> None:
    """Counts that must be >= 1 (--top, --batch-size, --epochs): one line naming the option, not argparse's usage
    block (0 epochs would end in a crash on a missing best.pt, 0 batch size in a division by zero)."""
    for name in names:
        value = getattr(args, name)
        if value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {value}")


def npy(path: Path, mmap_mode=None) -> np.ndarray:
    """np.load with one line naming the file when it is truncated or not an .npy file."""
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{path}: missing") from None
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"{path}: not a complete .npy array ({e}); rebuild it") from None


# ---------------------------------------------------------------- exported ONNX files

def onnx_metadata(path: Path) -> dict:
    """The metadata_props of an ONNX file; one line when it is truncated, random or not ONNX at all."""
    import onnx

    if not path.is_file():
        raise InputError(f"{path}: no such ONNX file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf DecodeError, truncated file ...: which one does not matter to the user
        raise InputError(f"{path}: not a readable ONNX model ({type(e).__name__})") from None
    if not model.graph.node:
        raise InputError(f"{path}: not an ONNX model (empty graph)")
    props = {p.key: p.value for p in model.metadata_props}
    if "kanjiedge.labels" not in props or "kanjiedge.preprocess" not in props:
        raise InputError(f"{path}: ONNX file lacks kanjiedge.labels / kanjiedge.preprocess metadata "
                         "(not exported by kanjiedge edge)")
    return props


def onnx_session(path: Path, opts):
    """onnxruntime session on CPU; one line when onnxruntime cannot load the graph."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own Fail / InvalidGraph / RuntimeException types
        raise InputError(f"{path}: onnxruntime cannot load this model ({str(e).splitlines()[0][:200]})") from None


def labels(path: Path, text: str, session) -> list[str]:
    """kanjiedge.labels: a JSON list of strings, as many as the model's output classes (when the graph says)."""
    shape = session.get_outputs()[0].shape if session.get_outputs() else None
    if not shape or len(shape) != 2:
        raise InputError(f"{path}: model output is {shape}, not logits [batch, classes]")
    outputs = shape[-1]
    try:
        value = json.loads(text)
    except ValueError:
        raise InputError(f"{path}: kanjiedge.labels metadata is not JSON") from None
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise InputError(f"{path}: kanjiedge.labels metadata is not a list of characters")
    if isinstance(outputs, int) and outputs != len(value):
        raise InputError(f"{path}: kanjiedge.labels lists {len(value)} characters but the model outputs "
                         f"{outputs} classes")
    return value


def preprocess(path: Path, text: str) -> dict:
    """kanjiedge.preprocess: JSON object with a positive int `size` (and `source_size`), a known normalize mode,
    a positive `scale`."""
    try:
        value = json.loads(text)
    except ValueError:
        raise InputError(f"{path}: kanjiedge.preprocess metadata is not JSON") from None
    if not isinstance(value, dict):
        raise InputError(f"{path}: kanjiedge.preprocess metadata is not a JSON object")
    for key in ("size", "source_size"):
        v = value.get(key, 1)
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1024:
            raise InputError(f"{path}: kanjiedge.preprocess {key} = {v!r} is not an image size")
    scale = value.get("scale", 1 / 255)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale <= 1:
        raise InputError(f"{path}: kanjiedge.preprocess scale = {scale!r} is not in (0, 1]")
    from kanjiedge.native import MODES  # the C codec's modes, the cleaned ones included

    if value.get("normalize", "moment") not in MODES:
        raise InputError(f"{path}: kanjiedge.preprocess normalize = {value.get('normalize')!r} is unknown")
    if "size" not in value:
        raise InputError(f"{path}: kanjiedge.preprocess has no size")
    return value


# ---------------------------------------------------------------- predict

MIN_CONTRAST = 32  # grey levels between paper and the darkest ink below which an image holds no character


def ink_found(path, ink: np.ndarray) -> np.ndarray:
    """Refuse a blank, uniformly dark or tiny image: the model would still name a class, with a made-up score."""
    if min(ink.shape[:2]) < 2 or int(ink.max()) < MIN_CONTRAST:
        raise InputError(f"{path}: no ink found (blank, uniform or {ink.shape[1]}x{ink.shape[0]} image)")
    return ink


# ---------------------------------------------------------------- train resume

# options that may change between a run and its resumption: where things are, and how fast they run
RESUME_FREE = {"out", "data", "resume_from", "no_resume", "resume_anyway", "device", "threads", "stop_after",
               "patience", "keep_last_n", "no_checkpoint"}


def resume_options(path, saved: dict, args) -> None:
    """Refuse to resume a checkpoint trained with other options (a silent mix of two runs), unless
    --resume-anyway. `saved` is the checkpoint's train_args."""
    if getattr(args, "resume_anyway", False) or not isinstance(saved, dict):
        return
    now = vars(args)
    diff = sorted(k for k in saved.keys() & now.keys() if k not in RESUME_FREE and saved[k] != now[k])
    if diff:
        pairs = ", ".join(f"--{k.replace('_', '-')} {saved[k]!r} -> {now[k]!r}" for k in diff)
        raise InputError(f"{path}: was trained with other options ({pairs}); use the same options, --no-resume, "
                         "or --resume-anyway")
