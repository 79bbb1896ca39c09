"""Model input size by measurement: the default `cnn` trained at 32, 48 and 64 px on synthetic writers' hiragana
(the 71 of ETL9G: plain, dakuten and handakuten), test top-1 on held-out synthetic writers, the dakuten/handakuten
confusions among the errors, and the int8 size each input size implies at the full class count.

    python -m bench.bench_input_size [--writers 24] [--epochs 12] [--sizes 32 48 64] [--threads 1]

Data: `kanjiedge synth` ETL9G records (seed 0) of the 71 hiragana, `kanjiedge dataset` with its default
normalization (writer-disjoint splits); each size trains from the same 64x64 images (area-resized, as training
does). Why a size is chosen: dakuten/handakuten pairs (ば/ぱ, ず/す...) are the top confusions at 32 px, but the
cnn's flat head grows with the input side (64 * (S/8)^2 * 256 weights), and the rpi/wasm int8 exports must stay
within targets/*.toml max_size_mb. int8 bytes are estimated from the parameters at `--classes` classes with the
bytes per parameter of the exported rpi/wasm int8 cnn in BENCHMARKS.md (1.45 MB for 1,278,316 parameters).
Everything is written under --work (default artifacts/bench/input_size); the report goes to
artifacts/reports/input_size.json.
"""

import argparse
import json
import os
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INT8_BYTES_PER_PARAM = 1.45e6 / 1_278_316  # BENCHMARKS.md "Edge targets": rpi / wasm int8 model.onnx of the cnn


def hiragana() -> str:
    """The 71 ETL9G hiragana (JIS order)."""
    from kanjiedge import charsets

    return "".join(c for c in charsets.charset("ETL9G").chars if "\u3041" <= c <= "\u3096")


def base(ch: str) -> str:
    """The character without dakuten / handakuten (ば -> は)."""
    return unicodedata.normalize("NFD", ch)[0]


def make_dataset(work: Path, writers: int, seed: int) -> Path:
    """Synthetic ETL9G hiragana records -> dataset folder (both cached in `work`)."""
    from kanjiedge import dataset, synth

    etl_dir, ds = work / "etl9g", work / "dataset"
    if not (ds / "manifest.json").is_file():
        synth.write("etl9g", writers, seed, etl_dir, chars=hiragana(), jobs=1, progress=False)
        dataset.build(etl_dir, ds, progress=False)
    return ds


def train_and_test(ds: Path, out: Path, size: int, epochs: int, threads: int, seed: int) -> dict:
    """Train the default cnn at input `size`; test top-1 and the dakuten-pair share of the test errors."""
    from kanjiedge.evaluate import Predictor, read_dataset_split, score
    from kanjiedge.train import cli

    t0 = time.perf_counter()
    argv = ["cnn", "--data", str(ds), "--out", str(out), "--epochs", str(epochs), "--image-size", str(size),
            "--threads", str(threads), "--seed", str(seed), "--no-checkpoint", "--no-resume"]
    if cli(argv) != 0:
        raise SystemExit(f"training at {size} px failed")
    images, labels = read_dataset_split(ds, "test")
    res = score(Predictor(out / "best.pt"), images, labels, progress=False)
    errors = _all_confusions(out, ds)
    return {"size": size, "test_top1": res["top1"], "test_n": res["n"], "errors": sum(n for _, _, n in errors),
            "dakuten_pair_errors": sum(n for t, p, n in errors if base(t) == base(p)),
            "top_confusions": res["confused"][:5], "train_s": time.perf_counter() - t0}


def _all_confusions(model: Path, ds: Path):
    """Every (true, predicted, count) error on the test split (score() keeps only the top 10)."""
    from collections import Counter

    import numpy as np

    from kanjiedge.evaluate import Predictor, read_dataset_split, topk_predictions

    pred = Predictor(model / "best.pt")
    images, labels = read_dataset_split(ds, "test")
    top = topk_predictions(pred, images, 1, progress=False)[:, 0]
    got = [pred.classes[i] for i in np.asarray(top)]
    return [(t, p, n) for (t, p), n in Counter((t, p) for t, p in zip(labels, got) if t != p).items()]


def int8_estimate(size: int, classes: int) -> dict:
    from kanjiedge.models import count_params, create_model
    from kanjiedge.profile import load_profile

    params = count_params(create_model("cnn", num_classes=classes, image_size=size))
    budget = min(load_profile(ROOT / "targets" / f"{t}.toml").max_size_mb for t in ("rpi", "wasm"))
    mb = params * INT8_BYTES_PER_PARAM / 1e6
    return {"params": params, "int8_mb_estimate": mb, "budget_mb": budget, "fits": mb <= budget}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_input_size", description=__doc__.split("\n\n")[0])
    p.add_argument("--writers", type=int, default=24, help="synthetic writers (test/val: writers/8 each)")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--sizes", type=int, nargs="+", default=[32, 48, 64])
    p.add_argument("--classes", type=int, default=3100, help="class count for the int8 size estimate")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", type=Path, default=ROOT / "artifacts" / "bench" / "input_size")
    p.add_argument("--out", type=Path, default=ROOT / "artifacts" / "reports" / "input_size.json")
    args = p.parse_args(argv)
    ds = make_dataset(args.work, args.writers, args.seed)
    rows = []
    for size in args.sizes:
        row = {**train_and_test(ds, args.work / f"cnn-{size}", size, args.epochs, args.threads, args.seed),
               **int8_estimate(size, args.classes)}
        rows.append(row)
        print(f"{size:3d} px: top-1 {100 * row['test_top1']:.2f} % on {row['test_n']} test samples of synthetic "
              f"writers ({row['errors']} errors, {row['dakuten_pair_errors']} between dakuten/handakuten forms); "
              f"int8 ~{row['int8_mb_estimate']:.2f} MB at {args.classes} classes (budget {row['budget_mb']} MB: "
              f"{'fits' if row['fits'] else 'too big'}); {row['train_s']:.0f} s", flush=True)
    from kanjiedge.atomic import write_json

    command = "python -m bench.bench_input_size " + " ".join(sys.argv[1:] if argv is None else argv)
    write_json(args.out, {"command": command.strip(), "data": "synthetic writers (ETL9G hiragana, 71 classes)",
                          "writers": args.writers, "epochs": args.epochs, "cpus": os.cpu_count(), "rows": rows})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
