"""Training throughput: the kanjiedge engine's training step (augmentation, AMP/channels-last on CUDA, loss and
aux losses, scheduler, metric bookkeeping) vs a plain reference loop (same model, data, batch size; no augmentation,
no extras), as samples/s and their ratio, in one run. Also records cnn / hiercode parameter counts.

    python -m bench.bench_train [--data artifacts/dataset/synth-etl9g] [--steps 30] [--archs cnn hiercode]

Writes artifacts/reports/train_bench.json. On CUDA the same is measured on the GPU.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from kanjiedge import atomic
from kanjiedge.models import count_params, create_model
from kanjiedge.train import Env, TrainConfig, TrainStep, Trainer, amp_dtype_for, build_optimizer, build_scheduler, \
    load_splits, train_one_epoch


def reference_loop(model, data, idx_batches, device) -> float:
    """Plain PyTorch: x/255 -> forward -> CE -> backward -> AdamW step. Returns samples/s."""
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    model.train()
    n, t0 = 0, time.perf_counter()
    for idx in idx_batches:
        x = data.images[idx].to(device).float() / 255
        y = data.labels[idx].to(device)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        n += len(idx)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


def engine_loop(arch, data, args, env, steps) -> float:
    """The engine's own train_one_epoch over a training split cut to `steps` batches. Returns samples/s."""
    targs = TrainConfig(arch, batch_size=args.batch_size, epochs=1)
    torch.manual_seed(0)
    model = create_model(arch, len(data.classes), args.image_size, classes=data.classes).to(env.device)
    if env.device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    step = TrainStep(model, targs.label_smoothing, None)
    opt = build_optimizer(targs, model)
    sched = build_scheduler(targs, opt, steps)
    scaler = torch.amp.GradScaler(env.device.type, enabled=amp_dtype_for(env.device) == torch.float16)
    full = data.train_idx
    data.train_idx = full[: steps * args.batch_size]
    try:
        row = train_one_epoch(Trainer(targs, env, data, model, step, opt, sched, scaler), 0)
    finally:
        data.train_idx = full
    return row["samples_per_s"]


def bench_arch(arch, data, args, env) -> dict:
    torch.manual_seed(0)
    ref_model = create_model(arch, len(data.classes), args.image_size, classes=data.classes).to(env.device)
    batches = [data.train_idx[i * args.batch_size:(i + 1) * args.batch_size] for i in range(args.steps)]
    reference_loop(ref_model, data, batches[:3], env.device)  # warm-up (allocator, mkldnn primitives)
    ref = reference_loop(ref_model, data, batches, env.device)
    eng = engine_loop(arch, data, args, env, args.steps)
    return {"arch": arch, "params": count_params(ref_model), "reference_samples_per_s": round(ref, 1),
            "engine_samples_per_s": round(eng, 1), "engine_over_reference": round(eng / ref, 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="artifacts/dataset/synth-etl9g")
    ap.add_argument("--archs", nargs="+", default=["cnn", "hiercode"])
    ap.add_argument("--steps", type=int, default=30, help="batches per measurement")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default="artifacts/reports/train_bench.json")
    args = ap.parse_args(argv)
    env = Env(args.device)
    torch.set_num_threads(max(1, len(__import__("os").sched_getaffinity(0))))
    data = load_splits(args.data, args.image_size, (args.steps + 1) * args.batch_size, env.device, 0)
    rows = [bench_arch(a, data, args, env) for a in args.archs]
    report = {"device": str(env.device), "threads": torch.get_num_threads(), "batch_size": args.batch_size,
              "image_size": args.image_size, "steps": args.steps, "results": rows,
              "note": "engine = augmentation + label smoothing + aux losses + scheduler + bookkeeping; "
                      "reference = bare forward/backward/AdamW on the same batches"}
    atomic.write_json(args.out, report)
    for r in rows:
        print(f"{r['arch']}: {r['params']:,} params, reference {r['reference_samples_per_s']} samples/s, engine "
              f"{r['engine_samples_per_s']} samples/s, ratio {r['engine_over_reference']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
