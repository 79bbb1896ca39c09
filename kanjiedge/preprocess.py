"""One place for how a picture becomes model input: the normalize modes, the area resize to the model's input size,
and the float scaling. Training (`train`), evaluation and prediction (`evaluate`, `predict`), the export pipeline
(calibration and verification glyphs) and the web page's JS port (`kanjiedge/web/preprocess.js`) all follow it.

    picture (0 = paper, 255 = ink) --C normalize (mode, source size)--> uint8 [S0,S0]
        --area resize to the model input S (exact 2x2 mean at 64 -> 32)--> uint8 [S,S] --/255--> float32 [N,1,S,S]
"""

import sys

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

# The C codec's normalize modes (csrc/ke.h, kanjiedge.native.MODES), what each does, and which one a real picture
# gets for a model trained with it (PICTURE_MODE).
MODES = {
    "none": "area resize of the whole frame (aspect not kept)",
    "bbox": "ink bounding box centred, aspect kept, touching the frame on its long side",
    "moment": "centre of mass to the centre, a +-2 sigma square of the larger axis fills the frame",
    "clean-bbox": "bbox after cleaning (paper and noise removed, faint ink stretched, edge fragments and specks "
                  "dropped)",
    "clean-moment": "moment after cleaning (the default for datasets and every real picture)",
}
DEFAULT_MODE = "clean-moment"
# A model trained on clean frames (synthetic writers, or cleaned data) sees real scans, photos and drawings through
# the cleaning step: it removes only what is not the character, so the picture looks like the training frames.
PICTURE_MODE = {"bbox": "clean-bbox", "moment": "clean-moment"}


def picture_mode(mode: str | None) -> str:
    """The normalize mode for a real picture (ETL scan, photo, drawing) fed to a model trained with `mode`
    (None: a model that does not say, taken as the default)."""
    mode = mode or DEFAULT_MODE
    return PICTURE_MODE.get(mode, mode)


def resize_u8(images, rows: np.ndarray, size: int, chunk: int = 4096) -> torch.Tensor:
    """Rows of a uint8 [N,H,W] (memmap) -> uint8 [len(rows),1,size,size], area-resized (exact 2x2 mean at 64->32)."""
    out = torch.empty(len(rows), 1, size, size, dtype=torch.uint8)
    for s in tqdm(range(0, len(rows), chunk), desc="loading images", file=sys.stderr, leave=False):
        x = torch.from_numpy(np.asarray(images[rows[s:s + chunk]])).unsqueeze(1).float()
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="area")
        out[s:s + chunk] = x.round_().clamp_(0, 255).to(torch.uint8)
    return out


def to_input(images_u8: torch.Tensor, device: torch.device, channels_last: bool) -> torch.Tensor:
    """uint8 [N,1,S,S] -> float32 [N,1,S,S] in 0..1 on `device` (the model input contract)."""
    x = images_u8.to(device, non_blocking=True).float().div_(255)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def prepare(images: np.ndarray, size: int, scale: float = 1 / 255) -> np.ndarray:
    """uint8 [N,H,W] at the source size (0 = paper, 255 = ink) -> model input float32 [N,1,size,size]: the same
    area resize and rounding as `resize_u8`, then `scale` (the checkpoint's preprocess["scale"])."""
    x = torch.from_numpy(np.ascontiguousarray(images)).float().unsqueeze(1)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="area")
    return (x.round() * float(scale)).numpy().astype(np.float32)


def normalize_picture(ink: np.ndarray, preprocess: dict, source_size: int) -> np.ndarray:
    """One grey picture (uint8 [H,W], 0 = paper, 255 = ink, any size) -> uint8 [source_size, source_size] through the
    C codec in the picture mode of the model's preprocessing (kanjiedge.native.normalize)."""
    from kanjiedge import native

    return native.normalize(ink, source_size, picture_mode(preprocess.get("normalize")))
