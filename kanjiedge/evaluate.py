"""`kanjiedge evaluate`: accuracy of a trained checkpoint or an exported ONNX model on a folder of ETL files (or a
split of a dataset folder), over the classes the model knows, with the most confused pairs.

    kanjiedge evaluate --model artifacts/models/cnn --etl-dir data/etl --json
    kanjiedge evaluate --model artifacts/edge/rpi/model.onnx --data artifacts/dataset/synth-etl9g --split test

Images get the training preprocessing recorded with the model ("preprocess": C normalize at the dataset's source
size, then area resize to the model input, kanjiedge.preprocess); ETL files are normalized in the cleaned variant of
the model's mode (`clean-moment` for a `moment` model). `Predictor` is also what `kanjiedge predict` uses.
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from kanjiedge import breakdown, checks, preprocess
from kanjiedge.errors import UserError


class Predictor:
    """A model of any kind behind one call: `logits(x float32 [N,1,S,S]) -> float32 [N,C]`.

    Attributes:
        classes: list of characters (index = class); preprocess: the training preprocessing dict; kind: "torch"
        or "onnx"; arch: architecture name.
    """

    def __init__(self, path, threads: int | None = None):
        path = Path(path)
        if path.suffix == ".onnx":
            self._load_onnx(path, threads)
        else:
            from kanjiedge.models import load_model

            self.model, meta = load_model(path)
            self.classes, self.preprocess, self.arch, self.kind = meta["classes"], meta["preprocess"], meta["arch"], "torch"
            self.meta = meta

    def _load_onnx(self, path: Path, threads):
        import onnxruntime as ort

        props = checks.onnx_metadata(path)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = checks.onnx_session(path, opts)
        self.classes = checks.labels(path, props["kanjiedge.labels"], self.session)
        self.preprocess = checks.preprocess(path, props["kanjiedge.preprocess"])
        self.arch, self.kind, self.meta = props.get("kanjiedge.arch", "?"), "onnx", props

    @property
    def size(self) -> int:
        return int(self.preprocess["size"])

    @property
    def source_size(self) -> int:
        return int(self.preprocess.get("source_size", self.size))

    def logits(self, x: np.ndarray) -> np.ndarray:
        """float32 [N,1,S,S] (0..1, ink high) -> logits float32 [N,C]."""
        if self.kind == "onnx":
            name = self.session.get_inputs()[0].name
            return self.session.run(None, {name: np.ascontiguousarray(x, np.float32)})[0]
        with torch.no_grad():
            return self.model(torch.from_numpy(x)).float().numpy()

    def prepare(self, images: np.ndarray) -> np.ndarray:
        """uint8 [N,H,W] at the source size (0 = paper, 255 = ink) -> model input float32 [N,1,S,S]."""
        return preprocess.prepare(images, self.size, self.preprocess.get("scale", 1 / 255))

    @property
    def picture_mode(self) -> str:
        """The normalize mode for real pictures: the training mode, cleaned (kanjiedge.preprocess.picture_mode)."""
        return preprocess.picture_mode(self.preprocess.get("normalize"))


def topk_predictions(pred: Predictor, images: np.ndarray, k: int = 5, batch: int = 512, progress=True) -> np.ndarray:
    """Top-k class indices int64 [N,k] for uint8 source-size images [N,H,W]."""
    out = []
    for s in tqdm(range(0, len(images), batch), desc="evaluate", file=sys.stderr, disable=not progress, leave=False):
        logits = pred.logits(pred.prepare(images[s:s + batch]))
        out.append(np.argsort(-logits, axis=1, kind="stable")[:, :k])  # stable: top-1 = argmax on ties
    return np.concatenate(out) if out else np.zeros((0, k), np.int64)


def read_etl_dir(etl_dir, pred: Predictor) -> tuple[np.ndarray, list[str]]:
    """Every ETL file under `etl_dir`, decoded and normalized in the model's picture mode (its training mode after
    the cleaning step, which drops what is not the character: real scans carry neighbour fragments and noise)."""
    from kanjiedge import etl
    from kanjiedge.dataset import find_sources

    sources, _notes = find_sources(etl_dir)
    images, labels = [], []
    for src in tqdm(sources, desc="reading ETL files", file=sys.stderr, leave=False):
        rec = etl.read(src.path, size=pred.source_size, normalize=pred.picture_mode)
        images.append(rec.images)
        labels += list(rec.labels)
    return np.concatenate(images), labels


def read_dataset_split(path, split: str) -> tuple[np.ndarray, list[str]]:
    """Images and character labels of one split of a dataset folder."""
    from kanjiedge.dataset import load

    if not (Path(path) / "manifest.json").is_file():
        raise UserError(f"{path}: not a dataset folder (no manifest.json)")
    ds = load(path)
    idx = np.asarray(ds.split_indices(split), dtype=np.int64)
    chars = [c["char"] for c in ds.classes]
    return np.asarray(ds.images[idx]), [chars[i] for i in np.asarray(ds.labels)[idx]]


def score(pred: Predictor, images: np.ndarray, labels: list[str], progress: bool = True) -> dict:
    """Accuracy over the samples whose character the model knows, plus the most confused (true, predicted) pairs."""
    index = {c: i for i, c in enumerate(pred.classes)}
    known = np.array([lab in index for lab in labels], dtype=bool)
    if not known.any():
        raise UserError("none of the characters in the data is among the model's classes")
    y = np.array([index[lab] for lab, k in zip(labels, known) if k])
    top = topk_predictions(pred, images[known], 5, progress=progress)
    ok1 = top[:, 0] == y
    pairs = Counter((pred.classes[t], pred.classes[p]) for t, p in zip(y[~ok1], top[~ok1, 0]))
    return {"top1": float(ok1.mean()), "top5": float((top == y[:, None]).any(1).mean()), "n": int(len(y)),
            "skipped_unknown": int((~known).sum()), "confused": [[t, p, n] for (t, p), n in pairs.most_common(10)],
            "breakdown": breakdown.summarize([pred.classes[i] for i in y], [pred.classes[i] for i in top[:, 0]])}


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kanjiedge evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="artifacts/models/cnn", help="model folder, .pt checkpoint or exported .onnx")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--etl-dir", help="folder of ETL files (searched recursively)")
    src.add_argument("--data", help="dataset folder (kanjiedge dataset)")
    p.add_argument("--split", default="test", choices=["train", "val", "test"], help="with --data: train, val or test")
    p.add_argument("--json", action="store_true", help="end with one JSON line {top1, top5, n}")
    return p


def cli(argv: list[str]) -> int:
    args = get_args_parser().parse_args(argv)
    pred = Predictor(args.model)
    images, labels = read_etl_dir(args.etl_dir, pred) if args.etl_dir else read_dataset_split(args.data, args.split)
    res = score(pred, images, labels)
    data = f"ETL files in {args.etl_dir}" if args.etl_dir else f"the {args.split} split of dataset {args.data}"
    b = res["breakdown"]
    print(f"{args.model} ({pred.arch}, {pred.kind}): top-1 {100 * res['top1']:.2f} %  top-5 {100 * res['top5']:.2f} %"
          f"  on {res['n']} samples of {data} ({res['skipped_unknown']} of unknown classes skipped)")
    print("by script: " + breakdown.script_line(b))
    if b["confused"]:
        print("most confused (true -> predicted, count): " + breakdown.confused_text(b["confused"]))
    if args.json:
        print(json.dumps({"top1": round(res["top1"], 6), "top5": round(res["top5"], 6), "n": res["n"], "data": data,
                          **b}, ensure_ascii=False))
    return 0
