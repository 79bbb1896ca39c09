"""Measure one exported model in one runtime, in a fresh process: load time, peak memory, batch-1 latency,
batch-64 throughput and top-1/top-5 accuracy. `bench.report` runs it once per (model, runtime, threads) so that
peak memory and load time belong to that model alone.

    python -m bench.measure --model artifacts/edge/rpi/model.onnx --runtime onnxruntime --threads 1 \
        --x /tmp/x.npy --y /tmp/y.npy [--fp32 artifacts/edge/rpi/model-fp32.onnx] [--accuracy]

With --accuracy it only runs the test set (top-1/top-5); otherwise it times and measures memory, so that the
accuracy pass's buffers never count in the memory figure.

Prints one JSON object on stdout. Only numpy and the runtime are imported (no torch), so the memory figures are
those of the runtime. Latency is measured in interleaved rounds against the fp32 baseline (when given,
`kanjiedge.export.latency`), so CPU-load drift hits both equally; each figure is the median over rounds, with the
spread (min..max of the per-round medians) next to it, and the ratio to fp32 with its 99% interval.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def _status_mb(pid, field):
    """A memory field of /proc/<pid>/status in MB (VmRSS: now, VmHWM: peak since this program started)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb() -> float:
    """Current resident set size of this process in MB."""
    return _status_mb("self", "VmRSS")


def runner_pid(sess):
    """The pid of the process that runs the model: a runtime's own child (Node for onnxruntime-web), else ours."""
    proc = getattr(sess, "proc", None) or getattr(sess, "_proc", None)
    return proc.pid if proc is not None else "self"


def peak_mb(sess) -> float:
    """Peak RSS in MB of the process that runs the model. VmHWM, not ru_maxrss: Linux carries ru_maxrss over
    from the parent across fork + exec, so a child started by a big parent would report the parent's peak."""
    return _status_mb(runner_pid(sess), "VmHWM")


def topk(order, y):
    """(top-1, top-5) accuracy in percent from top-5 indices [N,5]."""
    return float((order[:, 0] == y).mean() * 100), float((order == y[:, None]).any(axis=1).mean() * 100)


def predictions(sess, x, batch=256):
    """Top-5 class indices [N,5], streaming x (possibly memory-mapped) in batches."""
    out = []
    for i in range(0, len(x), batch):
        logits = sess.run(np.ascontiguousarray(x[i:i + batch], dtype=np.float32))
        out.append(np.argsort(-logits, axis=1, kind="stable")[:, :5])  # stable: top-1 = argmax on ties (int8)
    return np.concatenate(out)


def summarize(rs):
    if not rs:
        return None
    p50 = [r["p50_ms"] for r in rs]
    return {"p50_ms": float(np.median(p50)), "p95_ms": float(np.median([r["p95_ms"] for r in rs])),
            "p50_min_ms": float(min(p50)), "p50_max_ms": float(max(p50)), "runs": int(sum(r["runs"] for r in rs))}


def throughput(sess, x, batch=64, seconds=1.0):
    """Images per second at batch `batch` (repeats the first batch for about `seconds`)."""
    xb = np.ascontiguousarray(x[:batch])
    if len(xb) < batch:
        xb = np.ascontiguousarray(np.resize(xb, (batch,) + xb.shape[1:]))
    sess.run(xb)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < 3:
        sess.run(xb)
        n += 1
    return batch * n / (time.perf_counter() - t0)


def measure(args) -> dict:
    from kanjiedge.export import get_runtime
    from kanjiedge.export.latency import interleaved_rounds, ratio_interval

    rt = get_runtime(args.runtime)
    ok, why = rt.available()
    if not ok:
        return {"ran": False, "why": why}
    x = np.load(args.x, mmap_mode="r")
    y = np.load(args.y)
    before = rss_mb()
    t0 = time.perf_counter()
    sess = rt.load(args.model, threads=args.threads)
    load_s = time.perf_counter() - t0
    base = rt.load(args.fp32, threads=args.threads) if args.fp32 else None
    try:
        res = {"ran": True, "why": why, "load_s": load_s, "providers": getattr(sess, "providers", None)}
        if args.accuracy:  # in its own process, so that its buffers do not count in the timing run's memory
            res["top1"], res["top5"] = topk(predictions(sess, x), y)
            res["n"] = int(len(y))
            return res
        x64 = np.ascontiguousarray(x[:64], dtype=np.float32)
        a, b = interleaved_rounds(sess, base, x64[:1], args.rounds, args.runs)
        res["latency"], res["fp32_latency"] = summarize(a), summarize(b)
        if b:
            res["vs_fp32"] = ratio_interval([ra["p50_ms"] / rb["p50_ms"] for ra, rb in zip(a, b)])
        res["throughput_b64"] = throughput(sess, x64)
        res["peak_rss_mb"] = peak_mb(sess)
        res["rss_before_load_mb"] = before if runner_pid(sess) == "self" else 0.0
    finally:
        for s in (sess, base):
            if s is not None and hasattr(s, "close"):
                s.close()
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.measure", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--runtime", required=True)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--x", required=True, type=Path, help="float32 [N,1,S,S] test images (.npy)")
    p.add_argument("--y", required=True, type=Path, help="int64 [N] labels (.npy)")
    p.add_argument("--fp32", type=Path, help="fp32 baseline model timed alternately in the same process")
    p.add_argument("--accuracy", action="store_true", help="only run the whole test set: top-1/top-5, no timing")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--runs", type=int, default=60, help="batch-1 runs per round")
    args = p.parse_args(argv)
    from kanjiedge.errors import UserError
    from kanjiedge.export.base import RuntimeFailure

    try:
        res = measure(args)
    except (UserError, RuntimeFailure) as e:  # the engine refused or failed: one line for the report's table;
        res = {"ran": False, "why": f"{type(e).__name__}: {e}".splitlines()[0]}  # a bug still gives a traceback
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
