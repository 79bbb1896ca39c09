"""Per-architecture comparison for BENCHMARKS.md: trains every registered architecture (each rnn --model-type
separately) through the real engine (kanjiedge.train) with **its own recipe** (kanjiedge.models.recipe) on the
same dataset and records parameters, train time, samples/s, test top-1 / top-5, the validation learning curve,
hiercode's seen / unseen (zero-shot) accuracy and levit-dual's retrieval top-k.

    python -m bench.bench_archs --data artifacts/dataset/synth-etl9g-300 --archs vit rnn/basic_rnn \
        --row-minutes 40 --threads 1 --out artifacts/reports/archs-300.json

Budget: on a shared 2-core CPU some recipes (attention, recurrence, long schedules) do not fit the time a
session has. `--row-minutes M` stops a row after M minutes; that row keeps its learning curve so far
(validation top-1 per finished epoch) and the budget the full recipe would need at the measured epoch time,
instead of a test accuracy it never reached. `--epochs N` overrides every recipe's epochs (a quick smoke run).
Every row records what it used (epochs, sample_limit, holdout_classes, the recipe). Models are written to
--work/<row> without per-epoch checkpoints (hiercode's zero-shot row to --hiercode-out, a normal model folder with
its card). Not here: export / edge timing (bench.report), engine-vs-plain-loop throughput (bench.bench_train).
"""

import argparse
import json
import signal
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from kanjiedge import atomic, dataname
from kanjiedge.models import list_models, load_model, model_variants, recipe_for


class RowTimeout(Exception):
    """Raised inside the training loop when a row's --row-minutes are up."""


def _timeout(signum, frame):
    raise RowTimeout()


def plan_rows(selected: list[str], args) -> list[dict]:
    """One row per architecture variant ("vit", "rnn/basic_rnn"), in the order given; an arch name selects all its
    variants."""
    rows = []
    for name in selected:
        arch, _, only = name.partition("/")
        for mtype in [only] if only else model_variants(arch):
            rec = recipe_for(arch, mtype)
            rows.append({"row": arch + (f"/{mtype}" if mtype else ""), "arch": arch, "model_type": mtype,
                         "epochs": args.epochs or rec.epochs, "recipe": rec.summary(),
                         "sample_limit": args.sample_limit,
                         "holdout_classes": args.holdout if arch == "hiercode" else 0})
    return rows


def train_argv(row: dict, args, out: Path) -> list[str]:
    """The `kanjiedge train` command line of a row: the recipe, plus only what the bench itself fixes."""
    argv = [row["arch"], "--data", str(args.data), "--out", str(out), "--no-checkpoint", "--no-resume",
            "--sample-limit", str(row["sample_limit"]), "--holdout-classes", str(row["holdout_classes"]),
            "--threads", str(args.threads)]
    argv += ["--epochs", str(args.epochs)] if args.epochs else []
    return argv + (["--model-type", row["model_type"]] if row["model_type"] else [])


def read_metrics(out: Path) -> tuple[list[dict], dict | None]:
    """(per-epoch rows, the final test row or None when the run was stopped before it)."""
    rows = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines() if ln.strip()]
    return [r for r in rows if "epoch" in r], next((r for r in rows if r.get("final")), None)


def train_row(row: dict, args, out: Path) -> float:
    """Train one row through kanjiedge.train.cli, stopped by SIGALRM after --row-minutes; returns wall seconds."""
    from kanjiedge.train import cli

    t0 = time.perf_counter()
    if args.row_minutes:
        signal.signal(signal.SIGALRM, _timeout)
        signal.alarm(int(args.row_minutes * 60))
    try:
        cli(train_argv(row, args, out))
    except RowTimeout:
        print(f"== {row['row']}: stopped after {args.row_minutes} min", file=sys.stderr)
    finally:
        signal.alarm(0)
    return round(time.perf_counter() - t0, 1)


def partial_summary(row: dict, epochs: list[dict]) -> dict:
    """A row stopped before its recipe's end: the learning curve so far and the budget the full run needs."""
    per_epoch = sum(e["epoch_s"] for e in epochs) / max(len(epochs), 1)
    return {"partial": True, "epochs_done": len(epochs), "budget_min": round(row["epochs"] * per_epoch / 60, 1)}


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
    """Train one row (or take it from --from-folder) and summarise metrics.jsonl."""
    given = dict(item.partition("=")[::2] for item in args.from_folder)
    if row["row"] in given or row["arch"] in given:
        out, wall = Path(given.get(row["row"]) or given[row["arch"]]), None
    else:
        out = Path(args.hiercode_out) if row["arch"] == "hiercode" else Path(args.work) / row["row"].replace("/", "-")
        wall = train_row(row, args, out)
    epochs, final = read_metrics(out)
    if not epochs:  # stopped inside its first epoch
        return {**row, "wall_s": wall, "partial": True, "epochs_done": 0, "val_curve": [], "budget_min": None}
    ck = torch.load(out / "best.pt", map_location="cpu", weights_only=True)
    curve = [round(e["val_top1"], 4) for e in epochs]
    if wall is None:  # what that run actually used
        targs = ck.get("train_args", {})
        row = {**row, "source": str(out), "epochs": len(epochs), "sample_limit": targs.get("sample_limit", 0),
               "holdout_classes": targs.get("holdout_classes", 0)}
    res = {**row, "params": ck["params"], "train_s": round(sum(e["epoch_s"] for e in epochs), 1),
           "wall_s": wall, "samples_per_s": round(sum(e["samples_per_s"] for e in epochs) / len(epochs), 1),
           "val_curve": curve, "data": dataname.of_dataset(args.data)}
    if final is None:
        return {**res, **partial_summary(row, epochs)}
    res.update({k: round(v, 4) if isinstance(v, float) else v for k, v in final.items() if k.startswith("test")})
    if row["arch"] == "levit-dual":
        res.update(retrieval_topk(out, args))
    return res


def _notes(r: dict) -> list[str]:
    notes = []
    if r.get("partial"):
        curve = ", ".join(f"{100 * v:.1f}" for v in r["val_curve"])
        need = f"; the full {r['epochs']} epochs need ~{r['budget_min']:.0f} min here" if r["budget_min"] else ""
        notes.append(f"stopped after {r['epochs_done']} of {r['epochs']} epochs (time limit){need}")
        notes.append(f"val top-1 curve %: {curve}" if curve else "no epoch finished")
    if "test_seen_top1" in r:
        notes.append(f"{r['holdout_classes']} classes held out: seen {100 * r['test_seen_top1']:.2f} / "
                     f"{100 * r['test_seen_top5']:.2f} %, unseen {100 * r['test_unseen_top1']:.2f} / "
                     f"{100 * r['test_unseen_top5']:.2f} % (top-1 / top-5)")
    if "retrieval_top1" in r:
        notes.append(f"retrieval top-1 {100 * r['retrieval_top1']:.2f} %, top-5 {100 * r['retrieval_top5']:.2f} %")
    if "error" in r:
        notes.append("failed: " + r["error"])
    return notes


def _pct(r: dict, key: str) -> str:
    return f"{100 * r[key]:.2f} %" if key in r else "—"


def markdown(rows: list[dict]) -> str:
    """The BENCHMARKS.md table (read back by `kanjiedge train --list`: keep the row names and the top-1 header)."""
    data = next((r["data"].split(" (")[0] for r in rows if "data" in r), dataname.SYNTHETIC)
    lines = [f"| arch | params | recipe | epochs run | rows/split | train min | samples/s | test top-1 ({data}) | "
             f"test top-5 ({data}) | notes |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        run = r.get("epochs_done", r["epochs"])
        lines.append(f"| {r['row']} | {r.get('params', 0):,} | {r.get('recipe', '')} | {run} | "
                     f"{r['sample_limit'] or 'all'} | {r.get('train_s', 0) / 60:.1f} | "
                     f"{r.get('samples_per_s', 0):.0f} | {_pct(r, 'test_top1')} | {_pct(r, 'test_top5')} | "
                     f"{'; '.join(_notes(r))} |")
    return "\n".join(lines) + "\n"


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.bench_archs", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="artifacts/dataset/synth-etl9g", help="dataset folder")
    p.add_argument("--archs", nargs="*", default=None,
                   help="architectures or variants (vit, rnn, rnn/basic_rnn; default: all registered)")
    p.add_argument("--epochs", type=int, default=0, help="override every recipe's epochs (0 = each recipe's own)")
    p.add_argument("--sample-limit", type=int, default=0, help="rows per split (0 = all)")
    p.add_argument("--row-minutes", type=float, default=0,
                   help="stop a row after this many minutes and report its learning curve (0 = no limit)")
    p.add_argument("--from-folder", action="append", default=[], metavar="ROW=DIR",
                   help="take a row from a model folder already trained by `kanjiedge train` instead of "
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
    names = set(list_models()) | {a + f"/{t}" for a in list_models() for t in model_variants(a) if t}
    unknown = set(archs) - names
    if unknown:
        print(f"bench_archs: unknown architecture(s) {sorted(unknown)}", file=sys.stderr)
        return 2
    results = []
    given = {item.partition("=")[0] for item in args.from_folder}
    # rows trained elsewhere (--from-folder) last
    for row in sorted(plan_rows(archs, args), key=lambda r: r["arch"] in given or r["row"] in given):
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
