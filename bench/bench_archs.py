"""Per-architecture comparison for BENCHMARKS.md: trains every registered architecture (each rnn --model-type
separately) through the real engine (kanjiedge.train) on the same dataset and records parameters, train time,
samples/s, test top-1 / top-5, hiercode's seen / unseen (zero-shot) accuracy and levit-dual's retrieval top-k.

    python -m bench.bench_archs --data artifacts/dataset/synth-etl9g --epochs 2 \
        --from-folder hiercode=artifacts/models/hiercode --out artifacts/reports/archs.json

Budget: on a shared 2-core CPU the slow families (recurrent, attention) cannot do full epochs of 36k images in
the time the fast convolutional ones take, so every row records exactly what it used: `epochs`, `sample_limit`
(rows per split, 0 = all) and `holdout_classes`. Models are written to --work/<row> without per-epoch checkpoints
(hiercode's zero-shot row to --hiercode-out, a normal model folder with its card). Not here: export / edge timing
(bench.report), engine-vs-plain-loop throughput (bench.bench_train).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from kanjiedge import atomic
from kanjiedge.models import list_models, load_model
from kanjiedge.models.rnn import MODEL_TYPES

FAST = {"cnn", "qat", "hiercode", "hiercode-higita"}  # convolutional: --epochs on the full splits
# the others (recurrent, attention) are several times slower per sample on CPU: --slow-epochs on --slow-limit rows


def plan_rows(archs: list[str], args) -> list[dict]:
    """One row per architecture (rnn: per --model-type) with the engine options it runs with."""
    rows = []
    for arch in archs:
        for mtype in (MODEL_TYPES if arch == "rnn" else [None]):
            fast = arch in FAST
            rows.append({"row": arch + (f"/{mtype}" if mtype else ""), "arch": arch, "model_type": mtype,
                         "epochs": args.epochs if fast else args.slow_epochs,
                         "sample_limit": 0 if fast else args.slow_limit,
                         "holdout_classes": args.holdout if arch == "hiercode" else 0})
    return rows


def train_argv(row: dict, args, out: Path) -> list[str]:
    argv = [row["arch"], "--data", str(args.data), "--out", str(out), "--epochs", str(row["epochs"]),
            "--no-checkpoint", "--no-resume", "--sample-limit", str(row["sample_limit"]),
            "--holdout-classes", str(row["holdout_classes"]), "--threads", str(args.threads)]
    return argv + (["--model-type", row["model_type"]] if row["model_type"] else [])


def read_metrics(out: Path) -> tuple[list[dict], dict]:
    rows = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines() if ln.strip()]
    return [r for r in rows if "epoch" in r], next(r for r in rows if r.get("final"))


@torch.no_grad()
def retrieval_topk(out: Path, args, ks=(1, 5)) -> dict:
    """levit-dual: nearest-neighbour retrieval of test images among training images by the L2-normalised
    embedding (cosine); top-k = share of test queries with a same-class image among their k nearest."""
    from kanjiedge.train import load_splits

    model, meta = load_model(out)
    limit = meta["train_args"].get("sample_limit", 0)
    data = load_splits(args.data, meta["image_size"], limit, torch.device("cpu"), meta["train_args"].get("seed", 0))

    def embed(idx):
        return torch.cat([model.embed(data.images[idx[s:s + 512]].float() / 255) for s in range(0, len(idx), 512)])

    gallery, queries = embed(data.train_idx), embed(data.test_idx)
    sims = F.normalize(queries, dim=1) @ F.normalize(gallery, dim=1).t()
    near = data.labels[data.train_idx][sims.topk(max(ks), 1).indices]  # [Q, k] labels of the nearest images
    hit = near == data.labels[data.test_idx][:, None]
    return {f"retrieval_top{k}": round(hit[:, :k].any(1).float().mean().item(), 4) for k in ks}


def run_row(row: dict, args) -> dict:
    """Train one row through kanjiedge.train.cli and summarise metrics.jsonl."""
    from kanjiedge.train import cli

    given = dict(item.partition("=")[::2] for item in args.from_folder)
    if row["arch"] in given:
        out, wall = Path(given[row["arch"]]), None
    else:
        out = Path(args.hiercode_out) if row["arch"] == "hiercode" else Path(args.work) / row["row"].replace("/", "-")
        t0 = time.perf_counter()
        cli(train_argv(row, args, out))
        wall = round(time.perf_counter() - t0, 1)
    epochs, final = read_metrics(out)
    ck = torch.load(out / "best.pt", map_location="cpu", weights_only=True)
    if row["arch"] in given:  # what that run actually used
        targs = ck.get("train_args", {})
        row = {**row, "source": str(out), "epochs": len(epochs), "sample_limit": targs.get("sample_limit", 0),
               "holdout_classes": targs.get("holdout_classes", 0)}
    res = {**row, "params": ck["params"], "train_s": round(sum(e["epoch_s"] for e in epochs), 1),
           "wall_s": wall, "samples_per_s": round(sum(e["samples_per_s"] for e in epochs) / len(epochs), 1),
           **{k: round(v, 4) if isinstance(v, float) else v for k, v in final.items() if k.startswith("test")}}
    if row["arch"] == "levit-dual":
        res.update(retrieval_topk(out, args))
    return res


def markdown(rows: list[dict]) -> str:
    """The BENCHMARKS.md table."""
    lines = ["| arch | params | epochs | rows/split | train min | samples/s | test top-1 | test top-5 | notes |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        notes = []
        if "test_seen_top1" in r:
            notes.append(f"{r['holdout_classes']} classes held out: seen {100 * r['test_seen_top1']:.2f} / "
                         f"{100 * r['test_seen_top5']:.2f} %, unseen {100 * r['test_unseen_top1']:.2f} / "
                         f"{100 * r['test_unseen_top5']:.2f} % (top-1 / top-5)")
        if "retrieval_top1" in r:
            notes.append(f"retrieval top-1 {100 * r['retrieval_top1']:.2f} %, top-5 {100 * r['retrieval_top5']:.2f} %")
        if "error" in r:
            notes.append("failed: " + r["error"])
        lines.append(f"| {r['row']} | {r.get('params', 0):,} | {r['epochs']} | {r['sample_limit'] or 'all'} | "
                     f"{r.get('train_s', 0) / 60:.1f} | {r.get('samples_per_s', 0):.0f} | "
                     f"{100 * r.get('test_top1', 0):.2f} % | {100 * r.get('test_top5', 0):.2f} % | {'; '.join(notes)} |")
    return "\n".join(lines) + "\n"


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.bench_archs", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="artifacts/dataset/synth-etl9g", help="dataset folder")
    p.add_argument("--epochs", type=int, default=2, help="epochs for " + ", ".join(sorted(FAST)))
    p.add_argument("--archs", nargs="*", default=None, help="architectures (default: all registered)")
    p.add_argument("--slow-epochs", type=int, default=1,
                   help="epochs for the architectures not in " + ", ".join(sorted(FAST)))
    p.add_argument("--slow-limit", type=int, default=12000,
                   help="rows per split (0 = all) for the architectures not in " + ", ".join(sorted(FAST)))
    p.add_argument("--from-folder", action="append", default=[], metavar="ARCH=DIR",
                   help="take ARCH's row from a model folder already trained by `kanjiedge train` instead of "
                        "training it again (e.g. hiercode=artifacts/models/hiercode)")
    p.add_argument("--holdout", type=int, default=300, help="hiercode: classes held out (zero-shot)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads per run (0 = all)")
    p.add_argument("--work", default="/tmp/kanjiedge-bench-archs", help="folder for the per-row model folders")
    p.add_argument("--hiercode-out", default="artifacts/models/hiercode", help="hiercode's model folder")
    p.add_argument("--out", default="artifacts/reports/archs.json", help="JSON report (a .md table is written too)")
    return p


def main(argv=None) -> int:
    args = get_args_parser().parse_args(argv)
    archs = args.archs or list_models()
    unknown = set(archs) - set(list_models())
    if unknown:
        print(f"bench_archs: unknown architecture(s) {sorted(unknown)}", file=sys.stderr)
        return 2
    results = []
    given = {item.partition("=")[0] for item in args.from_folder}
    for row in sorted(plan_rows(archs, args), key=lambda r: r["arch"] in given):  # trained elsewhere: last
        print(f"== {row['row']}: {row}", file=sys.stderr)
        try:
            results.append(run_row(row, args))
        except Exception as e:  # one broken family must not lose the other rows
            results.append({**row, "error": f"{type(e).__name__}: {e}"})
        report = {"command": " ".join(["python -m bench.bench_archs", *(argv or sys.argv[1:])]), "rows": results}
        atomic.write_json(Path(args.out), report)  # after every row: a partial report survives a kill
        atomic.write_text(Path(args.out).with_suffix(".md"), markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
