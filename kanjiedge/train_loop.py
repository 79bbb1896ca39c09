"""The training loop: loss of a batch (`TrainStep`), optimizer and schedule, one epoch, validation, the epoch
loop with checkpoints / best.pt / early stopping, and the final test on best.pt.

Deterministic by construction: the data order, the augmentation and dropout draws are pure functions of
(seed, epoch, rank), so a run resumed from an epoch checkpoint (kanjiedge.train_checkpoint) ends with the same
metrics as one that never stopped. Everything a step needs travels in one `Trainer`.
"""

import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from kanjiedge.augment import AugmentConfig, augment
from kanjiedge.errors import UserError
from kanjiedge.train_checkpoint import (append_metrics, model_meta, prune_checkpoints, save_checkpoint,
                                        training_state)
from kanjiedge.train_config import TrainConfig
from kanjiedge.train_data import DataSplits, to_input
from kanjiedge.train_env import Env, amp_dtype_for


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


def build_optimizer(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """AdamW or SGD+Nesterov; no weight decay on biases / norm scales (1-D parameters)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=cfg.lr, fused=True)  # fused: one kernel per step, CPU and CUDA


def warmup_steps(cfg: TrainConfig, steps_per_epoch: int) -> int:
    """cfg.warmup_epochs of steps, capped at 10 % of the run (so a short run is not all warm-up); at least 1."""
    total = max(1, cfg.epochs * steps_per_epoch)
    return max(1, min(int(cfg.warmup_epochs * steps_per_epoch), total // 10))


def build_scheduler(cfg: TrainConfig, opt, steps_per_epoch: int):
    """Per-step LambdaLR: `cosine` = linear warm-up then cosine to 0; `step` = x0.1 at 50 % and 75 %."""
    total = max(1, cfg.epochs * steps_per_epoch)
    warm = warmup_steps(cfg, steps_per_epoch)

    def cosine(step):
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))

    def stepwise(step):
        return 0.1 ** sum(step >= total * f for f in (0.5, 0.75))

    return torch.optim.lr_scheduler.LambdaLR(opt, cosine if cfg.scheduler == "cosine" else stepwise)


@dataclass
class Trainer:
    """Everything one run's steps touch: options, placement, data, model, the (DDP-wrapped) step, optimizer state,
    and the output folder."""

    cfg: TrainConfig
    env: Env
    data: DataSplits
    model: nn.Module
    step: nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    out: Path | None = None

    @property
    def aug(self) -> AugmentConfig:
        return AugmentConfig().scaled(self.cfg.aug_strength)


def build(cfg: TrainConfig, env: Env, data: DataSplits, model: nn.Module, out: Path | None) -> Trainer:
    """Move `model` to the device and build the DDP-wrapped step, optimizer, scheduler and scaler around it."""
    model.to(env.device)
    if env.device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    step = TrainStep(model, cfg.label_smoothing, data.holdout_mask(env.device))
    if env.world > 1:
        step = nn.parallel.DistributedDataParallel(step, device_ids=[env.device.index] if env.device.index else None)
    opt = build_optimizer(cfg, model)
    per_epoch = len(data.train_idx) // cfg.batch_size
    if per_epoch < 1:
        raise UserError(f"{cfg.data}: {len(data.train_idx)} training samples, fewer than one batch of "
                        f"{cfg.batch_size}; lower --batch-size")
    scaler = torch.amp.GradScaler(env.device.type, enabled=amp_dtype_for(env.device) == torch.float16)
    return Trainer(cfg, env, data, model, step, opt, build_scheduler(cfg, opt, per_epoch), scaler, out)


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


def optimizer_step(t: Trainer, loss: torch.Tensor):
    """Backward, optional gradient-norm clipping (on unscaled gradients), optimizer and scheduler step."""
    t.opt.zero_grad(set_to_none=True)
    t.scaler.scale(loss).backward()
    if t.cfg.clip_grad:
        t.scaler.unscale_(t.opt)
        torch.nn.utils.clip_grad_norm_(t.model.parameters(), t.cfg.clip_grad)
    t.scaler.step(t.opt)
    t.scaler.update()
    t.sched.step()


def train_one_epoch(t: Trainer, epoch: int) -> dict:
    """One pass over this worker's share of the training split; returns mean loss / accuracy / throughput."""
    cfg, env = t.cfg, t.env
    t.step.train()
    gen = seed_epoch(cfg.seed, epoch, env.rank)
    cuda, amp_dtype, aug = env.device.type == "cuda", amp_dtype_for(env.device), t.aug
    tot_loss = tot_ok = tot_n = 0.0
    t0 = time.perf_counter()
    bar = tqdm(epoch_batches(t.data.train_idx, cfg.seed, epoch, cfg.batch_size, env), desc=f"epoch {epoch + 1}/"
               f"{cfg.epochs}", disable=not env.main, file=sys.stderr, leave=False, dynamic_ncols=True)
    for i, idx in enumerate(bar):
        x = to_input(t.data.images[idx], env.device, cuda)
        y = t.data.labels[idx].to(env.device, non_blocking=True)
        if cfg.augment:
            x = augment(x, gen, aug)
        with torch.autocast(env.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            loss, logits = t.step(x, y)
        optimizer_step(t, loss)
        tot_loss += loss.item() * len(y)
        tot_ok += (logits.argmax(1) == y).sum().item()
        tot_n += len(y)
        if i % 20 == 0:
            bar.set_postfix(loss=f"{tot_loss / tot_n:.3f}", acc=f"{tot_ok / tot_n:.3f}")
        if cfg.stop_after and t.sched.last_epoch >= cfg.stop_after:
            raise KeyboardInterrupt  # tests: a kill after this many optimizer steps
    dt = time.perf_counter() - t0
    loss_sum, ok, n = env.all_sum([tot_loss, tot_ok, tot_n])
    return {"train_loss": loss_sum / max(n, 1), "train_acc": ok / max(n, 1), "samples_per_s": n / max(dt, 1e-9),
            "epoch_s": dt, "lr": t.opt.param_groups[0]["lr"]}


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


def run_epochs(t: Trainer, start: int, tracker: dict) -> None:
    """Epoch loop with validation, checkpoints, best.pt and early stopping (`tracker` is updated in place)."""
    meta = model_meta(t)
    for epoch in range(start, t.cfg.epochs):
        row = {"epoch": epoch + 1, **train_one_epoch(t, epoch)}
        val = evaluate_split(t.model, t.data, t.data.val_idx, t.env)
        row.update(val_top1=val["top1"], val_top5=val["top5"])
        improved = val["top1"] > tracker["best_val"]
        if improved:
            tracker.update(best_val=val["top1"], best_epoch=epoch + 1, bad=0)
        else:
            tracker["bad"] += 1
        if t.env.main:
            log_epoch(t, meta, row, tracker, improved)
        if t.cfg.patience and tracker["bad"] >= t.cfg.patience:
            if t.env.main:
                print(f"early stop: no val improvement for {t.cfg.patience} epochs", file=sys.stderr)
            break


def log_epoch(t: Trainer, meta: dict, row: dict, tracker: dict, improved: bool):
    """metrics.jsonl line, progress line, best.pt when val improved, ckpt-NNN.pt / last.pt unless switched off."""
    append_metrics(t.out / "metrics.jsonl", row)
    print(f"epoch {row['epoch']}: loss {row['train_loss']:.3f} train {row['train_acc']:.4f} "
          f"val top1 {row['val_top1']:.4f} top5 {row['val_top5']:.4f} ({row['samples_per_s']:.0f} samples/s)",
          file=sys.stderr)
    state = {**meta, **training_state(t, row["epoch"], tracker)}
    state["metrics"] = {"val_top1": row["val_top1"], "val_top5": row["val_top5"]}
    if improved:
        save_checkpoint(t.out / "best.pt", {k: v for k, v in state.items() if k not in ("optimizer", "rng")})
    if not t.cfg.no_checkpoint:
        save_checkpoint(t.out / f"ckpt-{row['epoch']:03d}.pt", state)
        save_checkpoint(t.out / "last.pt", state)
        prune_checkpoints(t.out, t.cfg.keep_last_n)


@torch.no_grad()
def calibrate_zero_shot(t: Trainer) -> float:
    """Zero-shot runs: let the model set its unseen-class bias from the seen validation images (every rank
    scores all of them, so all ranks agree); returns the bias."""
    t.model.eval()
    t.model.class_bias.zero_()
    idx, out = t.data.val_idx, []
    for start in range(0, len(idx), 1024):
        x = to_input(t.data.images[idx[start:start + 1024]], t.env.device, t.env.device.type == "cuda")
        out.append(t.model(x).float())
    return t.model.calibrate_unseen(torch.cat(out), t.data.labels[idx].to(t.env.device),
                                    t.data.holdout_mask(t.env.device))


def final_test(t: Trainer) -> dict:
    """Reload best.pt, evaluate on the test split (seen / unseen separately in zero-shot runs), record it."""
    if t.env.world > 1:
        dist.barrier()  # rank 0 wrote best.pt; torchrun --standalone workers share its file system
    best = torch.load(t.out / "best.pt", map_location="cpu", weights_only=True)
    t.model.load_state_dict(best["model"])
    res = {"test_top1": 0.0}
    if len(t.data.holdout) and getattr(t.model, "seen_tolerance", 0):
        for name, idx in t.data.test_parts().items():  # before the calibration, so its effect is visible
            res[f"raw_{name}_top1"] = evaluate_split(t.model, t.data, idx, t.env)["top1"]
        res["unseen_bias"] = calibrate_zero_shot(t)
        best["model"] = {k: v.detach().cpu() for k, v in t.model.state_dict().items()}
    for name, idx in t.data.test_parts().items():
        m = evaluate_split(t.model, t.data, idx, t.env)
        res.update({f"{name}_top1": m["top1"], f"{name}_top5": m["top5"], f"{name}_n": m["n"]})
    if t.env.main:
        res.update(best_epoch=best["tracker"]["best_epoch"], val_top1=best["metrics"]["val_top1"])
        append_metrics(t.out / "metrics.jsonl", {"final": True, **res})
        best["metrics"] = {**best["metrics"], **res}
        save_checkpoint(t.out / "best.pt", best)
    return res
