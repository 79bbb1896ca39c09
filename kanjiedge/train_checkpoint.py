"""Checkpoints and the metrics log of a training run: atomic saves (a kill never leaves a truncated file), the
self-describing metadata every checkpoint carries (ARCHITECTURE.md "Checkpoints"), the full training state
(model / optimizer / scheduler / scaler / RNG) that makes a resumed run end exactly like an uninterrupted one,
and resume. Functions take the `Trainer` of kanjiedge.train_loop (duck-typed: .cfg .model .opt .sched .scaler
.data) so this module does not import the loop."""

import json
import random
import re
from pathlib import Path

import numpy as np
import torch

from kanjiedge import atomic, checks
from kanjiedge.errors import UserError
from kanjiedge.models import count_params

CKPT_RE = re.compile(r"ckpt-(\d+)\.pt$")


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


def _numbered(out: Path) -> list[tuple[int, Path]]:
    return sorted((int(m.group(1)), p) for p in out.glob("ckpt-*.pt") if (m := CKPT_RE.search(p.name)))


def latest_checkpoint(out: Path) -> Path | None:
    """The newest ckpt-NNN.pt in `out` (highest epoch), else None."""
    found = _numbered(out)
    return found[-1][1] if found else None


def prune_checkpoints(out: Path, keep: int):
    found = _numbered(out)
    for _, p in found[:-keep] if keep > 0 else found:
        p.unlink(missing_ok=True)


def model_meta(trainer) -> dict:
    """The self-describing part of every checkpoint (what load_model / evaluate / edge need)."""
    cfg, data, model = trainer.cfg, trainer.data, trainer.model
    return {"arch": cfg.arch, "arch_kwargs": model.arch_kwargs, "classes": [c["char"] for c in data.classes],
            "class_info": data.classes, "image_size": cfg.image_size,
            "preprocess": {"size": cfg.image_size, "normalize": data.normalize, "scale": 1 / 255, "ink": "high",
                           "source_size": data.source_size, "resize": "area"},
            "dataset": data.info, "params": count_params(model), "holdout": data.holdout.tolist(),
            "train_args": cfg.record()}


def training_state(trainer, epoch: int, tracker: dict) -> dict:
    t = trainer
    return {"model": t.model.state_dict(), "optimizer": t.opt.state_dict(), "scheduler": t.sched.state_dict(),
            "scaler": t.scaler.state_dict(), "rng": rng_state(), "epoch": epoch, "tracker": dict(tracker)}


def resume_source(cfg, out: Path) -> Path | None:
    """--resume-from (must exist), else the newest ckpt-NNN.pt in `out` unless resuming is switched off."""
    if cfg.resume_from:
        p = Path(cfg.resume_from)
        if not p.is_file():
            raise UserError(f"{p}: --resume-from checkpoint does not exist")
        return p
    return None if cfg.no_resume or cfg.no_checkpoint else latest_checkpoint(out)


def restore(path: Path, trainer) -> tuple[int, dict]:
    """Load a training checkpoint into the trainer's live objects; returns (epochs already done, tracker)."""
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise UserError(f"{path}: cannot resume from this checkpoint ({type(e).__name__}: {e})") from None
    if ck.get("arch") != trainer.cfg.arch or "optimizer" not in ck:
        raise UserError(f"{path}: not a training checkpoint of {trainer.cfg.arch!r} (arch={ck.get('arch')!r})")
    checks.resume_options(path, ck.get("train_args"), trainer.cfg)
    trainer.model.load_state_dict(ck["model"])
    trainer.opt.load_state_dict(ck["optimizer"])
    trainer.sched.load_state_dict(ck["scheduler"])
    trainer.scaler.load_state_dict(ck["scaler"])
    set_rng_state(ck["rng"])
    return int(ck["epoch"]), dict(ck["tracker"])


def rewrite_metrics(path: Path, upto_epoch: int):
    """On resume, keep only the metric lines of epochs already in the checkpoint (drop a killed epoch's tail)."""
    if not path.exists():
        return
    keep = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln).get("epoch", 1e9) <= upto_epoch]
    atomic.write_text(path, "".join(ln + "\n" for ln in keep))


def append_metrics(path: Path, row: dict):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
