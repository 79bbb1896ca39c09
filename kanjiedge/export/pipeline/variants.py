"""Precision variants of the fp32 graph: calibrated static int8 (or dynamic, when a profile asks), fp16, and fp32,
each written into the artifact folder with the metadata_props of ARCHITECTURE.md "Exported ONNX files".
"""

import json
from pathlib import Path

import numpy as np
import onnx

from kanjiedge import atomic
from kanjiedge.errors import UserError
from kanjiedge.export import get_runtime
from kanjiedge.export.pipeline.context import BuildContext, glyphs, onnx_name, preprocess_dict
from kanjiedge.export.quantize import calibration_indices, quantize_int8, to_fp16


def set_metadata(model: onnx.ModelProto, ctx: BuildContext) -> onnx.ModelProto:
    """metadata_props of ARCHITECTURE.md "Exported ONNX files"."""
    props = {
        "kanjiedge.labels": json.dumps(list(ctx.meta["classes"]), ensure_ascii=False),
        "kanjiedge.preprocess": json.dumps(preprocess_dict(ctx)),
        "kanjiedge.profile": ctx.profile.name,
        "kanjiedge.source_sha256": ctx.source_sha256,
        "kanjiedge.arch": str(ctx.meta.get("arch", "")),
    }
    onnx.helper.set_model_props(model, props)
    model.producer_name = "kanjiedge"
    return model


def calibration_images(ctx) -> np.ndarray:
    """uint8 [n,S,S] real training glyphs for static int8 calibration."""
    idx = calibration_indices(ctx.data.split_indices("train"), ctx.profile.calibration_samples)
    if len(idx) == 0:
        raise UserError("the dataset's train split is empty: nothing to calibrate int8 on")
    return glyphs(ctx.data, idx, ctx.size)


def make_variant(ctx: BuildContext, precision: str) -> Path:
    """Write one precision variant of the fp32 graph into the artifact folder (with metadata)."""
    tmp = ctx.work / f"{precision}.onnx"
    if precision == "int8":
        images = calibration_images(ctx) if ctx.profile.method == "static" else None
        how = f"{len(images)} training glyphs" if images is not None else "dynamic ranges"
        ctx.log(f"int8 {ctx.profile.quant_format} ({ctx.profile.method}, per_channel={ctx.profile.per_channel}, "
                f"symmetric activations={ctx.profile.symmetric_activations}), calibrated on {how}")
        # TensorRT's DequantizeLinear takes int8 only: keep biases float for runtimes that need symmetric int8
        bias = not any(get_runtime(rt).capability.symmetric_int8_only for rt in ctx.profile.runtimes)
        quantize_int8(ctx.fp32_path, tmp, ctx.profile, images, quantize_bias=bias)
        model = onnx.load(str(tmp))
    elif precision == "fp16":
        ctx.log("fp16 (float32 input/output kept)")
        model = to_fp16(onnx.load(str(ctx.fp32_path)))
    else:
        model = onnx.load(str(ctx.fp32_path))
    out = ctx.out / onnx_name(ctx.profile, precision)
    with atomic.atomic_path(out) as t:
        onnx.save(set_metadata(model, ctx), str(t))
    return out

