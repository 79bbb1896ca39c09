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

Every architecture trains with its own recipe (kanjiedge.models.recipe) unless a flag says otherwise;
`kanjiedge train --list` shows the recipes. This module is the command line; the work is split by what it does:
train_config (the frozen TrainConfig), train_data (splits, loading), train_loop (steps, epochs, test),
train_checkpoint (save / resume, metrics log), train_env (devices, DDP).
"""

import argparse
import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from kanjiedge import checks, outputs
from kanjiedge.errors import UserError
from kanjiedge.models import count_params, create_model, list_models
from kanjiedge.train_checkpoint import CKPT_RE, resume_source, restore, rewrite_metrics  # noqa: F401 (re-export)
from kanjiedge.train_config import TrainConfig, from_args
from kanjiedge.train_data import DataSplits, load_splits, resize_u8, to_input  # noqa: F401 (re-export)
from kanjiedge.train_env import Env, amp_dtype_for, set_threads  # noqa: F401 (re-export)
from kanjiedge.train_loop import (TrainStep, Trainer, build, build_optimizer, build_scheduler,  # noqa: F401
                                  evaluate_split, final_test, run_epochs, train_one_epoch)

RECIPE = "default: the architecture's recipe (kanjiedge train --list)"


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """The `train` options (other scripts may extend this parser, torchvision-references style). Options left at
    None take the architecture's recipe."""
    p = argparse.ArgumentParser(prog="kanjiedge train", add_help=add_help,
                                description="Train a registered architecture on a kanjiedge dataset folder.")
    p.add_argument("arch", nargs="?", help="architecture name: " + ", ".join(list_models()))
    p.add_argument("--list", action="store_true",
                   help="list every architecture: parameters, recipe, last measured accuracy (BENCHMARKS.md)")
    p.add_argument("--data", default="artifacts/dataset/synth-etl9g", help="dataset folder (kanjiedge dataset)")
    p.add_argument("--out", default=None, help="output folder (default artifacts/models/ARCH)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs; " + RECIPE)
    p.add_argument("--batch-size", type=int, default=None, help="global batch size (split over DDP workers); " + RECIPE)
    p.add_argument("--lr", type=float, default=None, help="peak learning rate; " + RECIPE)
    p.add_argument("--warmup-epochs", type=float, default=None,
                   help="linear warm-up, capped at 10%% of the run; " + RECIPE)
    p.add_argument("--optimizer", choices=["adamw", "sgd"], default="adamw")
    p.add_argument("--scheduler", choices=["cosine", "step"], default="cosine",
                   help="cosine: linear warm-up then cosine to 0; step: x0.1 at 50%% and 75%% of training")
    p.add_argument("--weight-decay", type=float, default=None, help=RECIPE)
    p.add_argument("--label-smoothing", type=float, default=None, help=RECIPE)
    p.add_argument("--aug-strength", type=float, default=None,
                   help="multiplier on the augmentation distortions (0 = off); " + RECIPE)
    p.add_argument("--clip-grad", type=float, default=None, help="max gradient norm (0 = off); " + RECIPE)
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
    p.add_argument("--no-augment", action="store_true", help="train on the images as stored (= --aug-strength 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = all cores this process may use)")
    p.add_argument("--stop-after", type=int, default=0, help=argparse.SUPPRESS)  # tests: kill after N steps
    return p


def build_run(cfg: TrainConfig, env: Env) -> Trainer:
    """Data, model (identical initial weights on every worker and every run), held-out classes, the trainer."""
    data = load_splits(cfg.data, cfg.image_size, cfg.sample_limit, env.device, cfg.seed)
    torch.manual_seed(cfg.seed)
    model = create_model(cfg.arch, len(data.classes), cfg.image_size, classes=data.classes, **cfg.arch_kwargs)
    data.choose_holdout(model, cfg.holdout_classes, cfg.seed)
    return build(cfg, env, data, model, Path(cfg.out))


def start_or_resume(t: Trainer) -> tuple[int, dict]:
    """(epochs done, tracker): from the checkpoint to resume, else a fresh start that removes the stale outputs."""
    out, main = t.out, t.env.main
    start, tracker = 0, {"best_val": -1.0, "best_epoch": 0, "bad": 0}
    src = resume_source(t.cfg, out)
    if src is not None:
        start, tracker = restore(src, t)
        if main:
            print(f"resuming from {src} (epoch {start} done)", file=sys.stderr)
    elif main:
        for stale in ("metrics.jsonl", "best.pt", "model-card.md"):
            (out / stale).unlink(missing_ok=True)
    if main:
        rewrite_metrics(out / "metrics.jsonl", start)
    return start, tracker


def run(cfg: TrainConfig) -> dict:
    """Train `cfg.arch` end to end; returns the final test metrics (on every worker)."""
    env = Env(cfg.device)
    env.init()
    set_threads(cfg.threads, env)
    if env.main:  # only rank 0 writes files; the others wait until the folder is claimed (no mkdir/marker race)
        outputs.claim(cfg.out, "train", [cfg.data])
    if env.world > 1:
        dist.barrier()
    t = build_run(cfg, env)
    start, tracker = start_or_resume(t)
    if env.main:
        d = t.data
        print(f"{cfg.arch}: {count_params(t.model):,} params, {len(d.train_idx)} train / {len(d.val_idx)} val /"
              f" {len(d.test_idx)} test samples, {len(d.classes)} classes, device {env.device} x{env.world}; "
              f"recipe {cfg.recipe}: epochs={cfg.epochs} lr={cfg.lr:g} batch={cfg.batch_size}", file=sys.stderr)
    run_epochs(t, start, tracker)
    res = final_test(t)
    if env.main:
        from kanjiedge.modelcard import write_model_card

        write_model_card(t.out, cfg)
    return res


def cli(argv: list[str]) -> int:
    """`kanjiedge train ARCH [options]`; prints the final test metrics as one JSON line.
    `kanjiedge train --list`: the architectures, their recipes and last measured accuracies."""
    args = get_args_parser().parse_args(argv)
    if args.list:
        from kanjiedge.train_list import list_text

        print(list_text())
        return 0
    if args.arch is None:
        raise UserError("name an architecture (" + ", ".join(list_models()) + ") or give --list")
    if args.arch not in list_models():
        raise UserError(f"unknown architecture {args.arch!r}; choose from {', '.join(list_models())}")
    cfg = from_args(args)
    checks.at_least_one(cfg, "epochs", "batch_size")
    try:
        res = run(cfg)
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
