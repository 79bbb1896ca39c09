"""`kanjiedge predict IMG.png [--model M] [--top 5]`: the most likely characters, with probabilities, for a photo,
scan or drawing of one handwritten character (dark ink on light paper).

The image is read as grey, inverted to ink-high, normalized by the same C code as the training data
(kanjiedge.preprocess.normalize_picture: the model's source size and its mode after cleaning, which removes paper,
noise, neighbour fragments and specks) and fed to the model; `--model` takes a model
folder, a .pt checkpoint or an exported .onnx file.
"""

import argparse
import json
from pathlib import Path

import numpy as np

from kanjiedge import checks
from kanjiedge.errors import UserError
from kanjiedge.evaluate import Predictor

MAX_SIDE = 2048  # longer sides are area-reduced first


def read_ink(path) -> np.ndarray:
    """Image file -> uint8 [H,W] with 0 = paper, 255 = ink (auto-levelled so faint pencil still counts)."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise UserError(f"{path}: not a readable image file")
    if img.ndim == 3 and img.shape[2] == 4:  # transparent background (canvas exports): paper where alpha is 0
        alpha = img[..., 3:4].astype(np.float32) / 255
        img = (img[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    if max(img.shape) > MAX_SIDE:  # phone photos: the cleaning step takes at most 8.4 Mpx, and needs far fewer
        f = MAX_SIDE / max(img.shape)
        img = cv2.resize(img, (max(1, round(img.shape[1] * f)), max(1, round(img.shape[0] * f))),
                         interpolation=cv2.INTER_AREA)
    ink = 255 - img.astype(np.int32)
    ink -= int(np.percentile(ink, 5))  # paper level -> 0
    top = int(checks.ink_found(path, ink).max())
    return np.clip(ink * 255 // top, 0, 255).astype(np.uint8)


def predict(pred: Predictor, ink: np.ndarray, top: int = 5) -> list[tuple[str, float]]:
    """Top-k (character, probability) for one ink-high uint8 image of any size."""
    from kanjiedge.preprocess import normalize_picture

    norm = normalize_picture(ink, pred.preprocess, pred.source_size)
    logits = pred.logits(pred.prepare(norm[None]))[0].astype(np.float64)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    order = np.argsort(-p)[:top]
    return [(pred.classes[i], float(p[i])) for i in order]


def cli(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="kanjiedge predict", description=__doc__.split("\n\n")[0])
    ap.add_argument("image", nargs="+", help="image file(s): PNG/JPEG, dark ink on light paper")
    ap.add_argument("--model", default="artifacts/models/cnn", help="model folder, .pt checkpoint or .onnx file")
    ap.add_argument("--top", type=int, default=5, help="how many candidates to print")
    ap.add_argument("--json", action="store_true", help="print one JSON line per image instead of text")
    args = ap.parse_args(argv)
    checks.at_least_one(args, "top")
    pred = Predictor(args.model)
    for path in args.image:
        if not Path(path).is_file():
            raise UserError(f"{path}: no such image file")
        result = predict(pred, read_ink(path), args.top)
        if args.json:
            print(json.dumps({"image": path, "top": [{"char": c, "p": round(p, 6)} for c, p in result]},
                             ensure_ascii=False))
        else:
            print(f"{path}: " + "  ".join(f"{c} {100 * p:.1f}%" for c, p in result))
    return 0
