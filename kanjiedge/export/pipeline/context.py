"""The state one build carries from step to step (`BuildContext`), and the small facts every step shares: file
names per precision, the preprocessing dict, and how dataset images reach the model's input size."""

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kanjiedge.profile import TargetProfile


@dataclass
class BuildContext:
    """Everything a pipeline step or a registered exporter needs."""

    profile: TargetProfile
    model: object  # torch.nn.Module in eval mode, CPU, float32; input [N,1,S,S] -> logits [N,C]
    meta: dict  # checkpoint meta: classes, preprocess, image_size, arch, arch_kwargs
    data: object  # kanjiedge.dataset.Dataset (images uint8 [N,S,S], labels, split_indices)
    out: Path  # the artifact folder
    work: Path  # scratch folder (removed after the build)
    source_sha256: str  # sha256 of the checkpoint file the model came from
    size: int = 0  # input side S
    files: dict = field(default_factory=dict)  # precision -> ONNX file in `out`
    fp32_path: Path | None = None  # simplified fp32 graph (work or out)
    extras: list = field(default_factory=list)  # files written by target extras
    results: dict = field(default_factory=dict)  # extra verification results from exporters -> verify.json
    static_checks: dict = field(default_factory=dict)  # file name -> {runtime: what its check_graph hook checked}
    max_test: int = 0  # verify on at most this many test images (0 = all)

    def log(self, msg):
        print(f"[edge {self.profile.name}] {msg}", file=sys.stderr, flush=True)


def onnx_name(profile, precision) -> str:
    """model.onnx for the profile's main precision, model-<precision>.onnx for the others."""
    return "model.onnx" if precision == profile.precision else f"model-{precision}.onnx"


def preprocess_dict(ctx) -> dict:
    """The checkpoint's preprocessing (what labels.json / metadata_props / preprocess.json state)."""
    default = {"size": ctx.size, "normalize": "moment", "scale": 1 / 255, "ink": "high"}
    return dict(ctx.meta.get("preprocess") or default)


def glyphs(data, idx, size) -> np.ndarray:
    """uint8 [n,S,S] dataset images at the model's input size, resized exactly as training did (area)."""
    from kanjiedge.preprocess import resize_u8

    return resize_u8(data.images, np.asarray(idx), size).numpy()[:, 0]
