"""What an artifact folder holds besides the ONNX files: labels.json, preprocess.json, model.safetensors and
README.md (how to run it with each runtime, from the runtime's own snippet; the verified numbers)."""

import json
from pathlib import Path

from kanjiedge import atomic
from kanjiedge.export import get_runtime
from kanjiedge.export.pipeline.context import BuildContext, onnx_name, preprocess_dict


def write_side_files(ctx: BuildContext) -> None:
    """labels.json, preprocess.json and model.safetensors (fp32 PyTorch weights with metadata)."""
    from safetensors.torch import save_file

    atomic.write_json(ctx.out / "labels.json", list(ctx.meta["classes"]))
    atomic.write_json(ctx.out / "preprocess.json", preprocess_dict(ctx))
    state = {k: v.detach().contiguous().clone() for k, v in ctx.model.state_dict().items()}
    meta = {"arch": str(ctx.meta.get("arch", "")), "arch_kwargs": json.dumps(ctx.meta.get("arch_kwargs", {})),
            "labels": json.dumps(list(ctx.meta["classes"]), ensure_ascii=False),
            "preprocess": json.dumps(preprocess_dict(ctx)), "image_size": str(ctx.size),
            "profile": ctx.profile.name, "source_sha256": ctx.source_sha256}
    with atomic.atomic_path(ctx.out / "model.safetensors") as t:
        save_file(state, str(t), metadata=meta)



def readme_text(ctx: BuildContext, report: dict) -> str:
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
        lines += [f"## Run it with {rt}", "", "```", get_runtime(rt).snippet or "see verify.json", "```", ""]
    return "\n".join(lines)


def clean_stale(out: Path, profile) -> None:
    """Remove model-*.onnx files of precisions the profile no longer asks for."""
    keep = {onnx_name(profile, p) for p in profile.precisions}
    for f in out.glob("model*.onnx"):
        if f.name not in keep:
            f.unlink()
