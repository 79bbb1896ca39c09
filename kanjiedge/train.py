"""Training engine: `kanjiedge train ARCH` / `python -m kanjiedge.train ARCH` / `torchrun -m kanjiedge.train ARCH`.

    kanjiedge train cnn --data artifacts/dataset/synth-etl9g --out artifacts/models/cnn
    torchrun --standalone --nproc-per-node=2 -m kanjiedge.train cnn --data ... --out ...

One epoch-granular, deterministic loop: the data order, the augmentation and dropout draws are pure functions of
(seed, epoch), and every epoch ends in an atomically written checkpoint holding model / optimizer / scheduler /
scaler / RNG states, so a killed run restarted with the same command ends with the same metrics as one that never
stopped. Outputs in --out: ckpt-NNN.pt (last --keep-last-n), last.pt, best.pt (best validation top-1),
metrics.jsonl (one line per epoch, then a final test line) and, written last, model-card.md.
The dataset's uint8 images are read memory-mapped once, resized to --image-size and kept as uint8 on the training
device; augmentation (kanjiedge.augment) runs there, batched. Not here: export (kanjiedge.edge), evaluation of
other data (kanjiedge.evaluate).
"""

import argparse
import hashlib
import json
import math
import os
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from kanjiedge import atomic, checks, outputs
from kanjiedge.augment import augment
from kanjiedge.preprocess import resize_u8, to_input  # noqa: F401 (resize_u8 also imported from here by tests)
from kanjiedge.errors import UserError
from kanjiedge.models import count_params, create_model, list_models, model_options

CKPT_RE = re.compile(r"ckpt-(\d+)\.pt$")


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """The `train` options (other scripts may extend this parser, torchvision-references style)."""
    p = argparse.ArgumentParser(prog="kanjiedge train", add_help=add_help,
                                description="Train a registered architecture on a kanjiedge dataset folder.")
    p.add_argument("arch", help="architecture name: " + ", ".join(list_models()))
    p.add_argument("--data", default="artifacts/dataset/synth-etl9g", help="dataset folder (kanjiedge dataset)")
    p.add_argument("--out", default=None, help="output folder (default artifacts/models/ARCH)")
    p.add_argument("--epochs", type=int, default=10, help="training epochs")
    p.add_argument("--batch-size", type=int, default=128, help="global batch size (split over DDP workers)")
    p.add_argument("--lr", type=float, default=4e-3, help="peak learning rate")
    p.add_argument("--optimizer", choices=["adamw", "sgd"], default="adamw")
    p.add_argument("--scheduler", choices=["cosine", "step"], default="cosine",
                   help="cosine: linear warm-up then cosine to 0; step: x0.1 at 50%% and 75%% of training")
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--image-size", type=int, default=32, help="model input side S (dataset images are resized)")
    p.add_argument("--sample-limit", type=int, default=0, help="use at most this many samples per split (0 = all)")
    p.add_argument("--model-type", default=None, help="variant of the rnn family (basic_rnn, stroke_rnn, ...)")
    p.add_argument("--arch-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="extra architecture option (JSON value), e.g. --arch-opt patch_size=4")
    p.add_argument("--holdout-classes", type=int, default=0,
                   help="train without N classes, report seen / unseen test accuracy (zero-shot)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume-from", default=None, help="checkpoint to resume from (default: latest in --out)")
    p.add_argument("--no-resume", action="store_true", help="ignore checkpoints already in --out")
    p.add_argument("--resume-anyway", action="store_true", help="resume even if the checkpoint's options differ")
    p.add_argument("--no-checkpoint", action="store_true", help="write no per-epoch checkpoints (only best.pt)")
    p.add_argument("--keep-last-n", type=int, default=2, help="per-epoch checkpoints to keep")
    p.add_argument("--patience", type=int, default=0, help="stop after N epochs without val improvement (0 = off)")
    p.add_argument("--no-augment", action="store_true", help="train on the images as stored")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = all cores this process may use)")
    p.add_argument("--stop-after", type=int, default=0, help=argparse.SUPPRESS)  # tests: kill after N steps
    return p


# ---------------------------------------------------------------- setup

class Env:
    """Process placement: rank / world size under torchrun, the device, and whether this process writes files."""

    def __init__(self, device_arg: str):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device_arg == "auto":
            device_arg = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device_arg)
        if self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", local)
        self.main = self.rank == 0

    def init(self):
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
            torch.backends.cudnn.benchmark = True

    def all_sum(self, values: list[float]) -> list[float]:
        """Sum numbers over all workers (identity when not distributed)."""
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t)
        return t.tolist()


def set_threads(n: int, env: Env):
    """Use every core this process may run on, shared fairly between the DDP workers of one machine."""
    if env.device.type == "cpu":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        torch.set_num_threads(n or max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", env.world))))


def arch_kwargs(args) -> dict:
    """Architecture options from --model-type and --arch-opt KEY=VALUE (JSON values)."""
    kw = {}
    for item in args.arch_opt:
        key, _, val = item.partition("=")
        try:
            kw[key] = json.loads(val)
        except json.JSONDecodeError:
            kw[key] = val
    if args.model_type:
        kw["model_type"] = args.model_type
    unknown = set(kw) - model_options(args.arch)
    if unknown:
        raise UserError(f"architecture {args.arch!r} has no option(s) {sorted(unknown)}")
    return kw


# ---------------------------------------------------------------- data

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
    try:
        from kanjiedge.dataset import load
    except ImportError:  # kanjiedge.dataset without load(): read the documented layout directly
        return _FolderDataset(path)
    return load(path)


class _FolderDataset:
    """Minimal reader of the dataset folder layout (ARCHITECTURE.md), same attributes as kanjiedge.dataset.load."""

    def __init__(self, path: Path):
        self.images = np.load(path / "images.npy", mmap_mode="r")
        self.labels = np.load(path / "labels.npy")
        self.writers = np.load(path / "writers.npy")
        self.classes = json.loads((path / "classes.json").read_text(encoding="utf-8"))
        self.splits = json.loads((path / "splits.json").read_text(encoding="utf-8"))

    def split_indices(self, name: str) -> np.ndarray:
        return np.flatnonzero(np.isin(self.writers, self.splits[name])).astype(np.int64)


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


# ---------------------------------------------------------------- the training step

class TrainStep(nn.Module):
    """Loss of one batch (what DDP wraps): cross-entropy (+ the model's auxiliary loss when it has one).

    Held-out classes (zero-shot runs) are left out of the cross-entropy entirely (training never sees them, not
    even as negatives, and label smoothing spreads only over trained classes: masking them to -1e4 instead would
    add a constant ~ smoothing * held-out share * 1e4 to the loss); the returned logits have them masked.
    """

    def __init__(self, model: nn.Module, label_smoothing: float, holdout_mask: torch.Tensor | None):
        super().__init__()
        self.model = model
        self.ls = label_smoothing
        mask = holdout_mask if holdout_mask is not None else torch.zeros(0, dtype=torch.bool)
        self.register_buffer("mask", mask)
        self.register_buffer("keep", torch.nonzero(~mask).flatten())  # trained class indices [C']
        self.register_buffer("remap", torch.cumsum(~mask, 0) - 1)  # class index -> column in keep

    def forward(self, x, y):  # x [N,1,S,S], y [N] -> (loss, logits [N,C])
        if hasattr(self.model, "forward_aux"):
            logits, aux = self.model.forward_aux(x, y)
        else:
            logits, aux = self.model(x), None
        if self.mask.numel():
            loss = F.cross_entropy(logits.float()[:, self.keep], self.remap[y], label_smoothing=self.ls)
            logits = logits.masked_fill(self.mask, -1e4)
        else:
            loss = F.cross_entropy(logits.float(), y, label_smoothing=self.ls)
        return (loss + aux if aux is not None else loss), logits


def build_optimizer(args, model: nn.Module) -> torch.optim.Optimizer:
    """AdamW or SGD+Nesterov; no weight decay on biases / norm scales (1-D parameters)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if args.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=args.lr, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=args.lr, fused=True)  # fused: one kernel per step, CPU and CUDA


def build_scheduler(args, opt, steps_per_epoch: int):
    """Per-step LambdaLR: `cosine` = linear warm-up (min(1 epoch, 10%)) then cosine to 0; `step` = x0.1 at 50%, 75%."""
    total = max(1, args.epochs * steps_per_epoch)
    warm = max(1, min(steps_per_epoch, total // 10))

    def cosine(step):
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))

    def stepwise(step):
        return 0.1 ** sum(step >= total * f for f in (0.5, 0.75))

    return torch.optim.lr_scheduler.LambdaLR(opt, cosine if args.scheduler == "cosine" else stepwise)


def epoch_batches(train_idx: torch.Tensor, seed: int, epoch: int, batch: int, env: Env) -> list[torch.Tensor]:
    """This worker's batches for one epoch: a (seed, epoch)-seeded permutation, cut into global batches, each
    split across the workers (DistributedSampler-style: every worker gets the same number of equal batches)."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    perm = train_idx[torch.randperm(len(train_idx), generator=gen)]
    per = batch // env.world
    n_batches = len(perm) // (per * env.world)  # drop the ragged tail: equal work on every worker
    perm = perm[: n_batches * per * env.world].view(n_batches, env.world, per)
    return list(perm[:, env.rank])


def seed_epoch(seed: int, epoch: int, rank: int) -> torch.Generator:
    """Reseed the global RNGs (dropout etc.) and return the augmentation generator for (seed, epoch, rank)."""
    s = (seed * 1_000_003 + epoch) * 97 + rank
    torch.manual_seed(s)
    random.seed(s)
    np.random.seed(s % 2**32)
    return torch.Generator().manual_seed(s + 1)


def train_one_epoch(step_mod, opt, sched, scaler, data: DataSplits, args, env: Env, epoch: int) -> dict:
    """One pass over this worker's share of the training split; returns mean loss / accuracy / throughput."""
    step_mod.train()
    gen = seed_epoch(args.seed, epoch, env.rank)
    batches = epoch_batches(data.train_idx, args.seed, epoch, args.batch_size, env)
    cuda, amp_dtype = env.device.type == "cuda", amp_dtype_for(env.device)
    tot_loss = tot_ok = tot_n = 0.0
    t0 = time.perf_counter()
    bar = tqdm(batches, desc=f"epoch {epoch + 1}/{args.epochs}", disable=not env.main, file=sys.stderr,
               leave=False, dynamic_ncols=True)
    for i, idx in enumerate(bar):
        x = to_input(data.images[idx], env.device, cuda)
        y = data.labels[idx].to(env.device, non_blocking=True)
        if not args.no_augment:
            x = augment(x, gen)
        with torch.autocast(env.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            loss, logits = step_mod(x, y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        sched.step()
        tot_loss += loss.item() * len(y)
        tot_ok += (logits.argmax(1) == y).sum().item()
        tot_n += len(y)
        if i % 20 == 0:
            bar.set_postfix(loss=f"{tot_loss / tot_n:.3f}", acc=f"{tot_ok / tot_n:.3f}")
        if args.stop_after and sched.last_epoch >= args.stop_after:
            raise KeyboardInterrupt  # tests: a kill after this many optimizer steps
    dt = time.perf_counter() - t0
    loss_sum, ok, n = env.all_sum([tot_loss, tot_ok, tot_n])
    return {"train_loss": loss_sum / max(n, 1), "train_acc": ok / max(n, 1), "samples_per_s": n / max(dt, 1e-9),
            "epoch_s": dt, "lr": opt.param_groups[0]["lr"]}


def amp_dtype_for(device: torch.device):
    """Mixed precision on CUDA (bf16 where supported, else fp16 with loss scaling); full fp32 on CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@torch.no_grad()
def evaluate_split(model, data: DataSplits, idx: torch.Tensor, env: Env, batch: int = 1024) -> dict:
    """Top-1 / top-5 accuracy of `model` on dataset rows `idx` (sharded over workers, counts all-reduced)."""
    model.eval()
    mine = idx[env.rank::env.world]
    ok1 = ok5 = 0
    amp = amp_dtype_for(env.device)
    for start in range(0, len(mine), batch):
        sel = mine[start:start + batch]
        x = to_input(data.images[sel], env.device, env.device.type == "cuda")
        with torch.autocast(env.device.type, dtype=amp, enabled=amp is not None):
            logits = model(x).float()
        y = data.labels[sel].to(env.device)
        top5 = logits.topk(min(5, logits.shape[1]), 1).indices
        ok1 += (top5[:, 0] == y).sum().item()
        ok5 += (top5 == y[:, None]).any(1).sum().item()
    ok1, ok5, n = env.all_sum([ok1, ok5, len(mine)])
    return {"top1": ok1 / max(n, 1), "top5": ok5 / max(n, 1), "n": int(n)}


# ---------------------------------------------------------------- checkpoints

def rng_state() -> dict:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()  # keys: uint32[624], stored as a tensor (weights_only)
    state = {"torch": torch.get_rng_state(), "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss,
                                                        gauss], "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict):
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(_tuplify(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuplify(x):
    return tuple(_tuplify(v) for v in x) if isinstance(x, (list, tuple)) else x


def save_checkpoint(path: Path, state: dict):
    """torch.save to a temporary sibling, then rename: a kill never leaves a truncated checkpoint."""
    with atomic.atomic_path(path) as tmp:
        torch.save(state, tmp)


def latest_checkpoint(out: Path) -> Path | None:
    """The newest ckpt-NNN.pt in `out` (highest epoch), else None."""
    found = sorted((int(m.group(1)), p) for p in out.glob("ckpt-*.pt") if (m := CKPT_RE.search(p.name)))
    return found[-1][1] if found else None


def prune_checkpoints(out: Path, keep: int):
    found = sorted((int(m.group(1)), p) for p in out.glob("ckpt-*.pt") if (m := CKPT_RE.search(p.name)))
    for _, p in found[:-keep] if keep > 0 else found:
        p.unlink(missing_ok=True)


def model_meta(model, data: DataSplits, args) -> dict:
    """The self-describing part of every checkpoint (what load_model / evaluate / edge need)."""
    return {"arch": args.arch, "arch_kwargs": model.arch_kwargs, "classes": [c["char"] for c in data.classes],
            "class_info": data.classes, "image_size": args.image_size,
            "preprocess": {"size": args.image_size, "normalize": data.normalize, "scale": 1 / 255, "ink": "high",
                           "source_size": data.source_size, "resize": "area"},
            "dataset": data.info, "params": count_params(model), "holdout": data.holdout.tolist(),
            "train_args": {k: v for k, v in vars(args).items()
                           if isinstance(v, (int, float, str, bool, type(None))) and k != "stop_after"}}


def training_state(model, opt, sched, scaler, epoch: int, tracker: dict) -> dict:
    return {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "scaler": scaler.state_dict(), "rng": rng_state(), "epoch": epoch, "tracker": dict(tracker)}


def resume_source(args, out: Path) -> Path | None:
    if args.resume_from:
        p = Path(args.resume_from)
        if not p.is_file():
            raise UserError(f"{p}: --resume-from checkpoint does not exist")
        return p
    return None if args.no_resume or args.no_checkpoint else latest_checkpoint(out)


def restore(path: Path, model, opt, sched, scaler, args) -> tuple[int, dict]:
    """Load a training checkpoint into the live objects; returns (epochs already done, tracker)."""
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UserError(f"{path}: cannot resume from this checkpoint ({type(e).__name__}: {e})") from None
    if ck.get("arch") != args.arch or "optimizer" not in ck:
        raise UserError(f"{path}: not a training checkpoint of {args.arch!r} (arch={ck.get('arch')!r})")
    checks.resume_options(path, ck.get("train_args"), args)
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    sched.load_state_dict(ck["scheduler"])
    scaler.load_state_dict(ck["scaler"])
    set_rng_state(ck["rng"])
    return int(ck["epoch"]), dict(ck["tracker"])


# ---------------------------------------------------------------- metrics log

def rewrite_metrics(path: Path, upto_epoch: int):
    """On resume, keep only the metric lines of epochs already in the checkpoint (drop a killed epoch's tail)."""
    if not path.exists():
        return
    keep = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln).get("epoch", 1e9) <= upto_epoch]
    atomic.write_text(path, "".join(ln + "\n" for ln in keep))


def append_metrics(path: Path, row: dict):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- the run

def build(args, env: Env):
    """Data, model, optimizer, scheduler, scaler, and the DDP-wrapped training step."""
    data = load_splits(args.data, args.image_size, args.sample_limit, env.device, args.seed)
    torch.manual_seed(args.seed)  # identical initial weights on every worker and every run
    model = create_model(args.arch, len(data.classes), args.image_size, classes=data.classes, **arch_kwargs(args))
    data.choose_holdout(model, args.holdout_classes, args.seed)
    model.to(env.device)
    if env.device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    step = TrainStep(model, args.label_smoothing, data.holdout_mask(env.device))
    if env.world > 1:
        step = nn.parallel.DistributedDataParallel(step, device_ids=[env.device.index] if env.device.index else None)
    opt = build_optimizer(args, model)
    per_epoch = len(data.train_idx) // args.batch_size
    if per_epoch < 1:
        raise UserError(f"{args.data}: {len(data.train_idx)} training samples, fewer than one batch of "
                        f"{args.batch_size}; lower --batch-size")
    sched = build_scheduler(args, opt, per_epoch)
    scaler = torch.amp.GradScaler(env.device.type, enabled=amp_dtype_for(env.device) == torch.float16)
    return data, model, step, opt, sched, scaler


def run_epochs(args, env, out, data, model, step, opt, sched, scaler, start: int, tracker: dict):
    """Epoch loop with validation, checkpoints, best.pt and early stopping."""
    meta = model_meta(model, data, args)
    for epoch in range(start, args.epochs):
        row = {"epoch": epoch + 1, **train_one_epoch(step, opt, sched, scaler, data, args, env, epoch)}
        val = evaluate_split(model, data, data.val_idx, env)
        row.update(val_top1=val["top1"], val_top5=val["top5"])
        improved = val["top1"] > tracker["best_val"]
        if improved:
            tracker.update(best_val=val["top1"], best_epoch=epoch + 1, bad=0)
        else:
            tracker["bad"] += 1
        if env.main:
            log_epoch(out, args, meta, row, model, opt, sched, scaler, tracker, improved)
        if args.patience and tracker["bad"] >= args.patience:
            if env.main:
                print(f"early stop: no val improvement for {args.patience} epochs", file=sys.stderr)
            break
    return meta


def log_epoch(out, args, meta, row, model, opt, sched, scaler, tracker, improved):
    append_metrics(out / "metrics.jsonl", row)
    print(f"epoch {row['epoch']}: loss {row['train_loss']:.3f} train {row['train_acc']:.4f} "
          f"val top1 {row['val_top1']:.4f} top5 {row['val_top5']:.4f} ({row['samples_per_s']:.0f} samples/s)",
          file=sys.stderr)
    state = {**meta, **training_state(model, opt, sched, scaler, row["epoch"], tracker)}
    state["metrics"] = {"val_top1": row["val_top1"], "val_top5": row["val_top5"]}
    if improved:
        save_checkpoint(out / "best.pt", {k: v for k, v in state.items() if k not in ("optimizer", "rng")})
    if not args.no_checkpoint:
        save_checkpoint(out / f"ckpt-{row['epoch']:03d}.pt", state)
        save_checkpoint(out / "last.pt", state)
        prune_checkpoints(out, args.keep_last_n)


def final_test(args, env, out, data, model, meta) -> dict:
    """Reload best.pt, evaluate on the test split (seen / unseen separately in zero-shot runs), record it."""
    if env.world > 1:
        dist.barrier()  # rank 0 wrote best.pt; torchrun --standalone workers share its file system
    best = torch.load(out / "best.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(best["model"])
    res = {"test_top1": 0.0}
    for name, idx in data.test_parts().items():
        m = evaluate_split(model, data, idx, env)
        res.update({f"{name}_top1": m["top1"], f"{name}_top5": m["top5"], f"{name}_n": m["n"]})
    if env.main:
        res.update(best_epoch=best["tracker"]["best_epoch"], val_top1=best["metrics"]["val_top1"])
        append_metrics(out / "metrics.jsonl", {"final": True, **res})
        best["metrics"] = {**best["metrics"], **res}
        save_checkpoint(out / "best.pt", best)
    return res


def run(args) -> dict:
    """Train `args.arch` end to end; returns the final test metrics (on every worker)."""
    env = Env(args.device)
    env.init()
    set_threads(args.threads, env)
    out = outputs.claim(args.out or f"artifacts/models/{args.arch}", "train", [args.data])
    data, model, step, opt, sched, scaler = build(args, env)
    start, tracker = 0, {"best_val": -1.0, "best_epoch": 0, "bad": 0}
    src = resume_source(args, out)
    if src is not None:
        start, tracker = restore(src, model, opt, sched, scaler, args)
        if env.main:
            print(f"resuming from {src} (epoch {start} done)", file=sys.stderr)
    elif env.main:
        for stale in ("metrics.jsonl", "best.pt", "model-card.md"):
            (out / stale).unlink(missing_ok=True)
    if env.main:
        rewrite_metrics(out / "metrics.jsonl", start)
        print(f"{args.arch}: {count_params(model):,} params, {len(data.train_idx)} train / {len(data.val_idx)} val /"
              f" {len(data.test_idx)} test samples, {len(data.classes)} classes, device {env.device} x{env.world}",
              file=sys.stderr)
    meta = run_epochs(args, env, out, data, model, step, opt, sched, scaler, start, tracker)
    res = final_test(args, env, out, data, model, meta)
    if env.main:
        from kanjiedge.modelcard import write_model_card

        write_model_card(out, args)
    return res


def cli(argv: list[str]) -> int:
    """`kanjiedge train ARCH [options]`; prints the final test metrics as one JSON line."""
    args = get_args_parser().parse_args(argv)
    checks.at_least_one(args, "epochs", "batch_size")
    if args.arch not in list_models():
        raise UserError(f"unknown architecture {args.arch!r}; choose from {', '.join(list_models())}")
    try:
        res = run(args)
        if dist.is_initialized():
            # Wait for rank 0's last files (model card) first: tearing gloo down while a peer is still busy
            # aborts the process ("terminate called without an active exception").
            dist.barrier()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps({k: round(v, 6) if isinstance(v, float) else v for k, v in res.items()}))
    return 0


if __name__ == "__main__":
    from kanjiedge.cli import main

    sys.exit(main(["train", *sys.argv[1:]]))
