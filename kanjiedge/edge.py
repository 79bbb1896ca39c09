"""`kanjiedge edge TARGET`: trained checkpoint -> verified deployment artifact folder for one target.

    python -m kanjiedge edge rpi --model artifacts/models/cnn --data artifacts/dataset/synth-etl9g \\
        --out artifacts/edge/rpi

TARGET is a profile name (targets/<name>.toml) or a path to a .toml file. The work (README.md included) is done by
`kanjiedge.export.pipeline.build`; this module only parses options and loads the checkpoint and dataset. A broken
budget, or a model not clearly above chance on the data, exits non-zero with one line and leaves no verify.json.
"""

import argparse
import json

from kanjiedge import outputs
from kanjiedge.errors import UserError
from kanjiedge.profile import list_targets, load_profile


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="kanjiedge edge", description=__doc__.split("\n\n")[0],
        epilog=f"targets: {', '.join(list_targets())} (or a path to a .toml profile)")
    ap.add_argument("target", help="target name (targets/<name>.toml) or a .toml file")
    ap.add_argument("--model", required=True, help="model folder (uses best.pt) or a .pt checkpoint")
    ap.add_argument("--data", required=True, help="dataset folder (train split calibrates, test split verifies)")
    ap.add_argument("--out", help="artifact folder (default artifacts/edge/<target>)")
    ap.add_argument("--max-test", type=int, default=0, help="verify on at most N test images (default: all)")
    ap.add_argument("--latency-runs", type=int, default=100, help="timed batch-1 runs per measurement")
    ap.add_argument("--report-budgets", action="store_true",
                    help="smoke runs only: record a broken budget in verify.json (budget_failure) and exit 0 "
                         "instead of failing the build")
    return ap


def cli(argv) -> int:
    """Entry point of `kanjiedge edge` (see --help). Returns 0 on success; raises UserError otherwise."""
    args = parser().parse_args(argv)
    profile = load_profile(args.target)
    from kanjiedge.dataset import load
    from kanjiedge.export.pipeline import build
    from kanjiedge.hashing import sha256_file
    from kanjiedge.models import load_model

    model, meta = load_model(args.model)
    try:
        data = load(args.data)
    except FileNotFoundError as e:
        raise UserError(f"{args.data}: not a dataset folder ({e})") from None
    out = args.out or f"artifacts/edge/{profile.name}"
    keep_failed = lambda tmp: (tmp / "verify.failed.json").exists()  # noqa: E731 (a broken budget's numbers)
    with outputs.staged(out, "edge", [args.model, args.data, profile.path], keep=keep_failed) as tmp:
        report = build(profile, model, meta, data, tmp, sha256_file(meta["path"]), max_test=args.max_test,
                       latency_runs=args.latency_runs, enforce_budgets=not args.report_budgets)
    print(json.dumps({"target": profile.name, "out": str(out), **report["summary"]}))
    return 0


if __name__ == "__main__":
    import sys

    from kanjiedge.cli import main

    sys.exit(main(["edge", *sys.argv[1:]]))
