"""Precision conversion of an exported fp32 ONNX graph: static int8 (calibrated on real training glyphs) and fp16.

int8 uses onnxruntime's `quantize_static` (QDQ or QOperator, per-channel, symmetric as the profile asks). The
calibration reader feeds real training images, never noise: noise calibration measurably loses accuracy because
activation ranges on blank/noisy inputs do not match those of ink strokes. fp16 keeps float32 input/output so the
same preprocessing code feeds every variant. Dynamic quantization (ConvInteger) is supported only because a profile
may ask for it; it is ~10x slower than fp32 on x86 for convolutions, so no shipped profile does.
"""

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                      quantize_dynamic, quantize_static)

CALIB_BATCH = 16  # images per calibration batch (the graphs have a dynamic batch; static ones get batch 1)
METHODS = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
           "percentile": CalibrationMethod.Percentile}


def calibration_indices(train_idx, n, seed=0):
    """Pick `n` random training images (a fixed seed, so a rebuild calibrates on the same images).

    Args:
        train_idx: int array of the training split's indices.
        n: how many to pick (all of the split if it has fewer).
        seed: random seed.

    Returns:
        int64 array [min(n, len(train_idx))], sorted (memmap-friendly reads).
    """
    rng = np.random.default_rng(seed)
    return np.sort(rng.permutation(np.asarray(train_idx, dtype=np.int64))[:n])


class GlyphCalibration(CalibrationDataReader):
    """Feeds float32 [B,1,S,S] batches of real glyphs (uint8 / 255, ink high) to onnxruntime's calibrator."""

    def __init__(self, images, input_name="image", batch=CALIB_BATCH):
        """images: uint8 [N,S,S] training glyphs (0 = paper, 255 = ink)."""
        self.images, self.input_name, self.batch = images, input_name, batch
        self.rewind()

    def rewind(self):
        self._start = 0

    def get_next(self):
        if self._start >= len(self.images):
            return None
        chunk = np.asarray(self.images[self._start:self._start + self.batch], dtype=np.float32) / 255.0
        self._start += self.batch
        return {self.input_name: chunk[:, None]}


def _static_options(profile, quantize_bias):
    act = QuantType.QInt8 if profile.symmetric_activations else QuantType.QUInt8
    extra = {"ActivationSymmetric": profile.symmetric_activations, "WeightSymmetric": profile.symmetric_weights}
    if profile.quant_format == "QDQ":
        extra["QuantizeBias"] = quantize_bias
    return dict(quant_format=QuantFormat.QDQ if profile.quant_format == "QDQ" else QuantFormat.QOperator,
                per_channel=profile.per_channel, reduce_range=profile.reduce_range, activation_type=act,
                weight_type=QuantType.QInt8, calibrate_method=METHODS[profile.calibration_method],
                extra_options=extra)


def quantize_int8(fp32_path, out_path, profile, images=None, quantize_bias=True):
    """fp32 ONNX file -> int8 ONNX file as the profile says.

    Args:
        fp32_path: the simplified fp32 graph.
        out_path: where to write the int8 graph.
        profile: TargetProfile (method, quant_format, per_channel, symmetric_*, reduce_range, calibration_method).
        images: uint8 [N,S,S] calibration glyphs (required for method "static").
        quantize_bias: int32 biases behind DequantizeLinear (False keeps them float, as TensorRT needs).
    """
    if profile.method == "dynamic":
        quantize_dynamic(str(fp32_path), str(out_path), per_channel=profile.per_channel,
                         reduce_range=profile.reduce_range, weight_type=QuantType.QInt8)
        return
    if images is None or len(images) == 0:
        raise ValueError("static int8 quantization needs calibration images")
    with tempfile.TemporaryDirectory(prefix="kanjiedge-quant-") as tmp:
        # pre-processing (shape inference) in a scratch dir: the quantizer writes augmented models there too
        pre = Path(tmp) / "pre.onnx"
        from onnxruntime.quantization.shape_inference import quant_pre_process
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(out_path), GlyphCalibration(images),
                        **_static_options(profile, quantize_bias))


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """fp32 graph -> fp16 weights/compute with float32 `image` input and `logits` output."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    return convert_float_to_float16(model, keep_io_types=True)
