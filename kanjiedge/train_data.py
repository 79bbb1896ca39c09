"""Training data: the dataset rows a run uses (writer-disjoint splits, --sample-limit, held-out classes for
zero-shot), resized once to the model input and kept as uint8 on the training device, and `to_input`, the model
input contract (uint8 -> float32 / 255). Not here: the loop (kanjiedge.train_loop), augmentation
(kanjiedge.augment)."""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from kanjiedge.errors import UserError
from kanjiedge.preprocess import resize_u8, to_input  # noqa: F401 (one preprocessing module; re-exported)


class DataSplits:
    """The dataset rows this run uses, resized once to the model input and held as uint8 on the device.

    Attributes:
        images: uint8 [M,1,S,S] (ink high) on the training device; labels: int64 [M].
        train_idx / val_idx / test_idx: int64 row indices into images (held-out classes removed from train/val).
        classes: the classes.json list; normalize / source_size: how the stored images were made.
        holdout: int64 class indices trained without (zero-shot runs), else empty.
    """

    def __init__(self, images, labels, splits: dict, classes: list, info: dict, source_size: int, normalize: str):
        self.images, self.labels, self.classes, self.info = images, labels, classes, info
        self.train_idx, self.val_idx, self.test_idx = splits["train"], splits["val"], splits["test"]
        self.source_size, self.normalize = source_size, normalize
        self.holdout = torch.zeros(0, dtype=torch.long)

    def choose_holdout(self, model, n: int, seed: int):
        """Pick n classes to hold out (the model's zero-shot-able ones if it says which) and drop their rows
        from train and val."""
        if n <= 0:
            return
        gen = torch.Generator().manual_seed(seed + 12345)
        if hasattr(model, "holdout_candidates"):
            self.holdout = torch.as_tensor(model.holdout_candidates(n, gen), dtype=torch.long)
        else:
            self.holdout = torch.randperm(len(self.classes), generator=gen)[:n]
        if len(self.holdout) < n:
            raise UserError(f"only {len(self.holdout)} classes can be held out for zero-shot, asked for {n}")
        cpu_labels = self.labels.cpu()
        for name in ("train_idx", "val_idx"):
            idx = getattr(self, name)
            setattr(self, name, idx[~torch.isin(cpu_labels[idx], self.holdout)])

    def holdout_mask(self, device) -> torch.Tensor | None:
        if not len(self.holdout):
            return None
        mask = torch.zeros(len(self.classes), dtype=torch.bool)
        mask[self.holdout] = True
        return mask.to(device)

    def test_parts(self) -> dict:
        """{"test": all test rows} plus, in zero-shot runs, "test_seen" / "test_unseen"."""
        parts = {"test": self.test_idx}
        if len(self.holdout):
            unseen = torch.isin(self.labels.cpu()[self.test_idx], self.holdout)
            parts.update(test_seen=self.test_idx[~unseen], test_unseen=self.test_idx[unseen])
        return parts


def open_dataset(path):
    """kanjiedge.dataset.load(path), with a clear error when the folder is not a dataset."""
    path = Path(path)
    if not (path / "manifest.json").is_file():
        raise UserError(f"{path}: not a dataset folder (no manifest.json); run `make dataset` first")
    from kanjiedge.dataset import load

    return load(path)


def limit_rows(idx: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """A seeded random subset of at most `limit` rows (sorted, so memmap reads stay sequential)."""
    if not limit or len(idx) <= limit:
        return np.sort(idx)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(idx, limit, replace=False))




def load_splits(path, size: int, limit: int, device, seed: int) -> DataSplits:
    """Open a dataset folder, pick the rows of each split (--sample-limit), resize them and move them to `device`."""
    ds = open_dataset(path)
    parts = {name: limit_rows(np.asarray(ds.split_indices(name), dtype=np.int64), limit, seed + i)
             for i, name in enumerate(("train", "val", "test"))}
    for name, rows in parts.items():
        if not len(rows):
            raise UserError(f"{path}: split {name!r} is empty")
    rows = np.unique(np.concatenate(list(parts.values())))
    remap = {name: torch.from_numpy(np.searchsorted(rows, r)) for name, r in parts.items()}
    images = resize_u8(ds.images, rows, size).to(device)
    labels = torch.from_numpy(np.asarray(ds.labels)[rows].astype(np.int64)).to(device)
    manifest = Path(path) / "manifest.json"
    params = json.loads(manifest.read_text()).get("parameters", {})
    info = {"name": Path(path).resolve().name, "path": str(path),
            "manifest_sha256": hashlib.sha256(manifest.read_bytes()).hexdigest()}
    return DataSplits(images, labels, remap, list(ds.classes), info, int(ds.images.shape[-1]),
                      params.get("normalize", "moment"))

