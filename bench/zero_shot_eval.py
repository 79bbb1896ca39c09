"""Seen / unseen test accuracy of a zero-shot hiercode checkpoint before and after the seen-calibrated unseen bias
(kanjiedge.models.zeroshot), for checkpoints trained before the trainer did the calibration itself, or to try
another tolerance on one trained model. The bias is chosen on the seen validation images only, exactly as
`kanjiedge train` does (kanjiedge.train_loop.calibrate_zero_shot); test images never choose anything.

    python -m bench.zero_shot_eval artifacts/models/hiercode --data artifacts/dataset/synth-etl9g --tolerance 0.005
    python -m bench.zero_shot_eval OUT --data DATASET --compare artifacts/models/cnn   # + cnn on the same images

`--compare MODEL` scores another model trained on all classes of the same dataset (the issue's yardstick: cnn) on
the very same test images, split into the zero-shot run's seen and unseen classes, so "seen accuracy against cnn's"
compares like with like.
"""

import argparse
import json
import sys
from types import SimpleNamespace

import torch

from kanjiedge.models import load_model
from kanjiedge.train_data import load_splits
from kanjiedge.train_env import Env
from kanjiedge.train_loop import calibrate_zero_shot, evaluate_split


def parts_accuracy(model, data, env) -> dict:
    """{part: (top1, top5, n)} over test / test_seen / test_unseen."""
    out = {}
    for name, idx in data.test_parts().items():
        m = evaluate_split(model, data, idx, env)
        out[name] = {"top1": m["top1"], "top5": m["top5"], "n": m["n"]}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="model folder (best.pt) or checkpoint of a --holdout-classes run")
    p.add_argument("--data", required=True, help="the dataset it was trained on")
    p.add_argument("--tolerance", type=float, default=0.005, help="seen validation top-1 the bias may cost")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--compare", metavar="MODEL", default=None,
                   help="also score this model (trained on every class of --data) on the same seen / unseen images")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, meta = load_model(args.model)
    if not meta.get("holdout") or not hasattr(model, "calibrate_unseen"):
        print(f"{args.model}: not a zero-shot hiercode checkpoint (no holdout / calibrate_unseen)", file=sys.stderr)
        return 2
    env = Env("cpu")
    data = load_splits(args.data, meta["image_size"], 0, env.device, 0)
    hold = torch.tensor(meta["holdout"])
    data.holdout = hold
    for name in ("train_idx", "val_idx"):
        setattr(data, name, getattr(data, name)[~torch.isin(data.labels.cpu()[getattr(data, name)], hold)])
    model.seen_tolerance = args.tolerance
    model.class_bias.zero_()
    res = {"raw": parts_accuracy(model, data, env)}
    res["unseen_bias"] = calibrate_zero_shot(SimpleNamespace(model=model, data=data, env=env))
    res["tolerance"] = args.tolerance
    res["calibrated"] = parts_accuracy(model, data, env)
    if args.compare:
        other, other_meta = load_model(args.compare)
        if (other_meta["image_size"] != meta["image_size"] or other_meta.get("holdout")
                or other_meta.get("classes") != meta.get("classes")):
            print(f"{args.compare}: needs a model of the same input size and classes, trained on every class",
                  file=sys.stderr)
            return 2
        res["compare"] = {"model": args.compare, **parts_accuracy(other, data, env)}
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
