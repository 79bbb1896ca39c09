"""`make bench`: one report answering "which target and model should I ship?".

    python -m bench.report --data artifacts/dataset/synth-etl9g --edge artifacts/edge --models artifacts/models \
        --out artifacts/reports [--etl-dir DIR]

For every target in targets/ (with a built artifact) and every exported precision it measures, in each verifying
runtime (onnxruntime CPU at 1 and 2 threads, tract, onnxruntime-web WASM under Node; CUDA/TensorRT rows say why
they did not run here): top-1/top-5 on the writer-disjoint test split, size on disk, peak memory, load time,
batch-1 latency p50/p95 (median of interleaved rounds against the fp32 baseline of the same run, spread shown)
and batch-64 throughput. Each measurement runs in a fresh process (bench/measure.py). It adds every trained
architecture (PyTorch accuracy, parameters, size) and the C codec's decode speed vs its numpy reference.

Writes bench.json (everything), bench.md (one table per question) and PNG plots.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from kanjiedge import atomic, outputs
from kanjiedge.export import get_runtime

ROOT = Path(__file__).resolve().parents[1]


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ---- inputs ---------------------------------------------------------------------------------------------------

class TestSets:
    """Writer-disjoint test images at each model input size, saved once as .npy for the measuring processes."""

    def __init__(self, data_dir, work: Path, max_test=0):
        from kanjiedge.dataset import load

        self.data, self.work, self.max_test, self.cache = load(data_dir), work, max_test, {}

    def get(self, size):
        if size not in self.cache:
            from kanjiedge.export.pipeline.verify import test_set

            x, y = test_set(self.data, size, self.max_test)
            px, py = self.work / f"x{size}.npy", self.work / f"y{size}.npy"
            np.save(px, x)
            np.save(py, y)
            self.cache[size] = (px, py, len(y))
        return self.cache[size]


def variants(profile, folder: Path):
    """[(precision, path)] of the ONNX files a target ships, main model first."""
    from kanjiedge.export.pipeline.context import onnx_name

    out = [(p, folder / onnx_name(profile, p)) for p in (profile.precision, *profile.also)]
    return [(p, f) for p, f in out if f.exists()]


def fp32_baseline(profile, folder: Path, edge: Path, sha):
    """An fp32 ONNX of the same checkpoint: the target's own, else another target's (same source sha256)."""
    own = folder / "model-fp32.onnx"
    if profile.precision == "fp32":
        own = folder / "model.onnx"
    if own.exists():
        return own
    for other in sorted(edge.glob("*/verify.json")):
        v = json.loads(other.read_text())
        if v.get("source", {}).get("sha256") == sha:
            for name in ("model-fp32.onnx", "model.onnx"):
                f = other.parent / name
                if f.exists() and v["variants"].get(name, {}).get("precision") == "fp32":
                    return f
    return None


# ---- measuring ------------------------------------------------------------------------------------------------

def run_measure(model, runtime, threads, xy, fp32=None, accuracy=False, runs=60, rounds=5):
    cmd = [sys.executable, "-m", "bench.measure", "--model", str(model), "--runtime", runtime,
           "--x", str(xy[0]), "--y", str(xy[1]), "--runs", str(runs), "--rounds", str(rounds)]
    if threads:
        cmd += ["--threads", str(threads)]
    if fp32 is not None and Path(fp32) != Path(model):
        cmd += ["--fp32", str(fp32)]
    if accuracy:
        cmd.append("--accuracy")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"ran": False, "why": (proc.stderr.strip().splitlines() or ["no output"])[-1]}


def measure_target(profile, folder: Path, edge: Path, tests: TestSets, runs):
    verify = json.loads((folder / "verify.json").read_text())
    size = json.loads((folder / "preprocess.json").read_text())["size"]
    xy = tests.get(size)
    base = fp32_baseline(profile, folder, edge, verify["source"]["sha256"])
    rows = []
    for precision, path in variants(profile, folder):
        for rt in profile.runtimes:
            runtime = get_runtime(rt)
            ok, why = runtime.available()
            if not ok:
                rows.append(unavailable_row(profile, precision, path, rt, verify, why))
                continue
            threads_list = runtime.threads.bench  # e.g. 1 and 2 intra-op threads for onnxruntime CPU
            log(f"{profile.name}: {path.name} in {rt}: accuracy")
            acc = run_measure(path, rt, threads_list[0], xy, accuracy=True)
            for threads in threads_list:
                log(f"{profile.name}: {path.name} in {rt}" + (f" ({threads} thread(s))" if threads else ""))
                r = run_measure(path, rt, threads, xy, fp32=base, accuracy=False, runs=runs)
                if r.get("ran") and acc.get("ran"):
                    r.update(top1=acc["top1"], top5=acc["top5"], n=acc["n"])
                rows.append({"target": profile.name, "precision": precision, "file": path.name,
                             "size_mb": path.stat().st_size / 1e6, "runtime": rt, "threads": threads, **r})
    return {"target": profile.name, "description": profile.description, "optimize_for": profile.optimize_for,
            "verify": verify, "fp32_baseline": str(base) if base else None, "rows": rows}


def unavailable_row(profile, precision, path, rt, verify, why):
    """The row of a runtime that cannot run here: why, and what the build ran instead (from verify.json)."""
    v = verify["variants"].get(path.name, {}).get("runtimes", {}).get(rt, {})
    return {"target": profile.name, "precision": precision, "file": path.name, "size_mb": path.stat().st_size / 1e6,
            "runtime": rt, "threads": None, "ran": False, "why": v.get("why") or why}


def measure_architectures(models: Path, tests: TestSets):
    """PyTorch accuracy / parameters / size / batch-1 CPU latency of every trained architecture."""
    import torch

    from kanjiedge.export.base import FunctionSession

    from kanjiedge.models import load_model

    out = []
    for best in sorted(models.glob("*/best.pt")):
        model, meta = load_model(best)
        x, y, n = tests.get(int(meta["image_size"]))
        x, y = np.load(x), np.load(y)
        with torch.no_grad():
            logits = np.concatenate([model(torch.from_numpy(x[i:i + 256])).numpy() for i in range(0, len(x), 256)])
            p50 = FunctionSession(lambda b: model(torch.from_numpy(b))).latency(x[:1], runs=50, warmup=5)["p50_ms"]
        order = np.argsort(-logits, axis=1, kind="stable")[:, :5]
        out.append({"arch": meta.get("arch"), "dir": best.parent.name,
                    "params": int(sum(p.numel() for p in model.parameters())),
                    "checkpoint_mb": best.stat().st_size / 1e6, "image_size": int(meta["image_size"]),
                    "top1": float((order[:, 0] == y).mean() * 100),
                    "top5": float((order == y[:, None]).any(1).mean() * 100),
                    "n": int(n), "torch_cpu_p50_ms": p50, "classes": len(meta["classes"])})
        log(f"architecture {out[-1]['dir']}: top-1 {out[-1]['top1']:.2f}%")
    return out


def measure_decoder(data_dir: Path):
    """C decode+resize vs the numpy reference on the dataset's first ETL9G source file (per core, same run)."""
    manifest = json.loads((Path(data_dir) / "manifest.json").read_text())
    sources = [s for s in manifest.get("sources", []) if s.get("format") == "ETL9G" and Path(s["path"]).exists()]
    if not sources:
        return {"ran": False, "why": "no ETL9G source file in the dataset manifest"}
    from bench.bench_decode import per_core

    log(f"decoder: C vs numpy on {sources[0]['path']}")
    return {"ran": True, "file": sources[0]["path"], **per_core(Path(sources[0]["path"]))}


def evaluate_etl(folder: Path, etl_dir: Path):
    """Accuracy of a target's model.onnx on a user's ETL folder via `kanjiedge evaluate --json`."""
    cmd = [sys.executable, "-m", "kanjiedge", "evaluate", "--model", str(folder / "model.onnx"),
           "--etl-dir", str(etl_dir), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}


# ---- report ---------------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, type=Path, help="dataset folder (writer-disjoint test split)")
    p.add_argument("--edge", default=ROOT / "artifacts/edge", type=Path, help="folder of built targets")
    p.add_argument("--models", default=ROOT / "artifacts/models", type=Path, help="folder of trained models")
    p.add_argument("--out", default=ROOT / "artifacts/reports", type=Path)
    p.add_argument("--targets", default=ROOT / "targets", type=Path, help="folder of target profiles")
    p.add_argument("--etl-dir", type=Path, help="also report accuracy on this folder of ETL files")
    p.add_argument("--max-test", type=int, default=0, help="at most this many test images (0 = all)")
    p.add_argument("--runs", type=int, default=60, help="batch-1 runs per latency round (5 rounds)")
    args = p.parse_args(argv)
    # before minutes of measuring; the folder is shared with the other bench scripts' JSON files: claim, not swap
    outputs.claim(args.out, "bench report", [args.data, args.edge, args.models, args.targets, args.etl_dir])

    from kanjiedge import dataname
    from kanjiedge.profile import list_targets, load_profile
    from bench import ood, render

    with tempfile.TemporaryDirectory(prefix="kanjiedge-bench-") as work:
        tests = TestSets(args.data, Path(work), args.max_test)
        targets, missing = [], []
        for name in list_targets(args.targets):
            folder = args.edge / name
            if not (folder / "verify.json").exists():
                missing.append(name)
                continue
            profile = load_profile(args.targets / f"{name}.toml")
            t = measure_target(profile, folder, args.edge, tests, args.runs)
            if args.etl_dir:
                t["etl_dir"] = {"path": str(args.etl_dir), **evaluate_etl(folder, args.etl_dir)}
            targets.append(t)
        report = {"dataset": str(args.data), "data_name": dataname.of_dataset(args.data),
                  "test_images": {s: v[2] for s, v in tests.cache.items()},
                  "targets": targets, "missing_targets": missing,
                  "architectures": measure_architectures(args.models, tests),
                  "decoder": measure_decoder(args.data), "machine": render.machine()}
        if (args.out / "webload.json").is_file():  # python -m bench.webload: the web page's load times
            report["webload"] = json.loads((args.out / "webload.json").read_text())
        log("out-of-distribution check: fonts never seen in training")
        report["ood"] = ood.measure(ood.models_of(args.models, args.edge, [t["target"] for t in targets]), work)
    plots = render.plots(report, args.out)
    atomic.write_text(args.out / "bench.md", render.markdown(report, plots))
    atomic.write_json(args.out / "bench.json", report)  # last: the Makefile target
    log(f"wrote {args.out / 'bench.md'}, {args.out / 'bench.json'} and {len(plots)} plots")
    return 0


if __name__ == "__main__":
    from kanjiedge.errors import UserError

    try:
        sys.exit(main())
    except UserError as e:  # one line, like the kanjiedge commands
        print(f"bench.report: error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
