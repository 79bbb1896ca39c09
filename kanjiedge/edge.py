"""`kanjiedge edge TARGET`: trained checkpoint -> verified deployment artifact folder for one target.

    python -m kanjiedge edge rpi --model artifacts/models/cnn --data artifacts/dataset/synth-etl9g \\
        --out artifacts/edge/rpi

TARGET is a profile name (targets/<name>.toml) or a path to a .toml file. The work is done by
`kanjiedge.export.pipeline.build`; this module parses options, loads the checkpoint and dataset, and writes the
artifact's README.md. A broken budget exits non-zero with one line and leaves no verify.json.
"""

import argparse
import json

from kanjiedge import outputs
from kanjiedge.errors import UserError
from kanjiedge.profile import list_targets, load_profile

SNIPPETS = {  # runtime -> short code showing how to run model.onnx on the device
    "onnxruntime": '''import json, numpy as np, onnxruntime as ort
sess = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
labels = json.load(open("labels.json", encoding="utf-8"))
x = glyph.astype(np.float32)[None, None] / 255.0   # uint8 [S,S], moment-normalized, ink = 255
logits = sess.run(None, {"image": x})[0][0]
print([labels[i] for i in np.argsort(-logits)[:5]])''',
    "onnxruntime-cuda": '''import json, numpy as np, onnxruntime as ort
sess = ort.InferenceSession("model.onnx", providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
labels = json.load(open("labels.json", encoding="utf-8"))
x = glyph.astype(np.float32)[None, None] / 255.0   # uint8 [S,S], moment-normalized, ink = 255
logits = sess.run(None, {"image": x})[0][0]
print([labels[i] for i in np.argsort(-logits)[:5]])''',
    "tract": '''import json, numpy as np, tract
model = tract.onnx().load("model.onnx").into_model()
model.transform(tract.SetSymbols({"batch": 1}))
plan = model.into_runnable()
x = glyph.astype(np.float32)[None, None] / 255.0
logits = plan.run([x])[0].to_numpy()[0]''',
    "onnxruntime-web": '''// browser / Node: npm install onnxruntime-web
import * as ort from "onnxruntime-web";
const session = await ort.InferenceSession.create("model.onnx", {executionProviders: ["wasm"]});
const x = new ort.Tensor("float32", pixels /* Float32Array S*S, ink=1 */, [1, 1, S, S]);
const {logits} = await session.run({image: x});''',
    "tensorrt": '''# on the Jetson: build the engine (exact commands in trtexec.txt), then run it with the TensorRT API
trtexec --loadEngine=model.plan --shapes=image:1x1xSxS''',
}


def readme_text(ctx, report) -> str:
    """README.md of an artifact folder: what is in it, how to run it, the verified numbers."""
    p, s = ctx.profile, report["summary"]
    files = sorted(f.name for f in ctx.out.iterdir() if f.is_file() and not f.name.startswith("."))
    lines = [f"# kanjiedge artifact: `{p.name}`", "", p.description, "",
             f"Built from `{report['source']['path']}` (sha256 `{ctx.source_sha256[:16]}…`) by "
             f"`kanjiedge edge {p.name}` with [{p.path.split('/')[-1]}]. Input `image` float32 "
             f"`[batch,1,{ctx.size},{ctx.size}]` = moment-normalized uint8 glyph / 255 (ink high); output `logits` "
             f"`[batch,{len(ctx.meta['classes'])}]`; `labels.json` maps index -> character.", "",
             "## Files", "", *[f"- `{f}`" for f in files + ["verify.json"] if f != "README.md"], "",
             "## Verified here", "",
             f"- `{s['file']}` ({s['precision']}, {s['size_mb']:.3f} MB): top-1 {s['accuracy'] * 100:.2f} % on "
             f"{report['test']['n']} writer-disjoint test images (fp32 PyTorch {s['fp32_accuracy'] * 100:.2f} %, "
             f"drop {s['accuracy_drop_pt']:.2f} pt), top-1 agreement with PyTorch "
             f"{s['top1_agreement_vs_torch'] * 100:.2f} %, batch-1 p50 {s['latency_p50_ms']:.2f} ms "
             f"({s['reference_runtime']}).", "- Per runtime and variant: see `verify.json`.", ""]
    for rt in p.runtimes:
        lines += [f"## Run it with {rt}", "", "```", SNIPPETS.get(rt, "see verify.json"), "```", ""]
    return "\n".join(lines)


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
    from kanjiedge.export.pipeline import build, sha256_file
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
                       latency_runs=args.latency_runs, readme=readme_text, enforce_budgets=not args.report_budgets)
    print(json.dumps({"target": profile.name, "out": str(out), **report["summary"]}))
    return 0


if __name__ == "__main__":
    import sys

    from kanjiedge.cli import main

    sys.exit(main(["edge", *sys.argv[1:]]))
