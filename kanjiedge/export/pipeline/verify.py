"""Verification: every variant in every runtime of the profile, on the writer-disjoint test split, against the
PyTorch model: accuracy, top-1 agreement, logit differences and batch-1 latency (int8 paired with fp32).

The model's and the dataset's class lists may differ (a model trained on another set). Then only the test images
whose class the model knows are used, their labels are mapped to the model's indices, and verify.json says how
many classes are shared and which are not; no shared class at all is an error.
"""

import sys

import numpy as np

from kanjiedge.errors import UserError
from kanjiedge.export import get_runtime
from kanjiedge.export.latency import paired_latency
from kanjiedge.export.pipeline.context import glyphs, onnx_name
from kanjiedge.hashing import sha256_file

CHUNK = 256  # images per inference call while verifying
SHOWN = 10  # classes named in the log line when the class lists differ (verify.json has them all)


def _chars(classes) -> list[str]:
    return [c["char"] if isinstance(c, dict) else str(c) for c in classes]


def class_overlap(model_classes, data_classes, where="the dataset") -> tuple[np.ndarray, dict]:
    """Map dataset class indices to model class indices (-1 = the model lacks it) and describe the overlap.

    Returns:
        (int64 [n_dataset_classes] model index per dataset class, {"model_classes", "dataset_classes", "shared",
        "only_in_model", "only_in_dataset"}).

    Raises:
        UserError: the two lists share no class (nothing can be verified).
    """
    model, data = _chars(model_classes), _chars(data_classes)
    index = {c: i for i, c in enumerate(model)}
    to_model = np.array([index.get(c, -1) for c in data], dtype=np.int64)
    in_data = set(data)
    report = {"model_classes": len(model), "dataset_classes": len(data), "shared": int((to_model >= 0).sum()),
              "only_in_model": [c for c in model if c not in in_data],
              "only_in_dataset": [c for c in data if c not in index]}
    if report["shared"] == 0:
        raise UserError(f"{where}: none of its {len(data)} classes is among the model's {len(model)} classes "
                        f"(dataset: {''.join(data[:SHOWN])}…; model: {''.join(model[:SHOWN])}…): wrong --data?")
    return to_model, report


def test_set(data, size, max_test=0, classes=None):
    """(x float32 [N,1,S,S], y int64 [N]) of the writer-disjoint test split (evenly subsampled to max_test).

    Args:
        classes: the model's class list; when given, images of classes the model lacks are left out and y holds
            model indices (see `class_overlap`).
    """
    idx = np.asarray(data.split_indices("test"), dtype=np.int64)
    labels = np.asarray(data.labels[idx], dtype=np.int64)
    if classes is not None:
        to_model, _ = class_overlap(classes, data.classes, getattr(data, "path", "the dataset"))
        keep = to_model[labels] >= 0
        idx, labels = idx[keep], to_model[labels[keep]]
    if len(idx) == 0:
        raise UserError("the dataset's test split is empty: nothing to verify on")
    if max_test and len(idx) > max_test:
        pick = np.linspace(0, len(idx) - 1, max_test).astype(np.int64)
        idx, labels = idx[pick], labels[pick]
    x = glyphs(data, idx, size).astype(np.float32)[:, None] / 255.0
    return np.ascontiguousarray(x), labels


def _batched(fn, x, desc):
    from tqdm import tqdm

    outs = [fn(x[i:i + CHUNK]) for i in tqdm(range(0, len(x), CHUNK), desc=desc, leave=False, file=sys.stderr)]
    return np.concatenate(outs).astype(np.float32)


def torch_logits(model, x):
    """PyTorch fp32 logits [N,C] for x [N,1,S,S]."""
    import torch

    with torch.no_grad():
        return _batched(lambda b: model(torch.from_numpy(b)).numpy(), x, "pytorch")


def _latencies(ctx, rt, path, x1, runs, compare_fp32):
    """{"threads=T": {p50_ms, p95_ms, fp32_p50_ms?, fp32_p95_ms?, vs_fp32?, vs_fp32_ci?, vs_fp32_rounds?}}."""
    runtime, out = get_runtime(rt), {}
    for t in runtime.threads.counts(ctx.profile):
        sess = runtime.load(path, threads=t)
        ref = runtime.load(ctx.fp32_path, threads=t) if compare_fp32 else None
        try:
            mine, fp32, ratio = paired_latency(sess, ref, x1, runs)
        finally:
            for s in (sess, ref):
                if s is not None:
                    s.close()
        entry = dict(mine)
        if fp32:
            entry.update({"fp32_p50_ms": fp32["p50_ms"], "fp32_p95_ms": fp32["p95_ms"], "vs_fp32": ratio["ratio"],
                          "vs_fp32_ci": ratio["ci"], "vs_fp32_rounds": ratio["rounds"]})
        out[f"threads={t or 'default'}"] = entry
    return out


def _skipped(ctx, rt, path, why):
    """The verify.json entry of a runtime that cannot run here, saying what ran instead (if anything did)."""
    checked = ctx.static_checks.get(path.name, {}).get(rt)
    if checked:
        why += f"; ran instead: static {rt} checks ({', '.join(checked['checks'])}), passed"
    ctx.log(f"SKIPPED {rt} for {path.name}: {why}")
    return {"status": "skipped", "why": why, **({"static_checks": checked} if checked else {})}


def verify_runtime(ctx, rt, path, x, y, ref_logits, runs, compare_fp32):
    """Accuracy, agreement with PyTorch and latency of one model file in one runtime -> (result, top-1 preds)."""
    runtime = get_runtime(rt)
    ok, why = runtime.available()
    if not ok:
        return _skipped(ctx, rt, path, why), None
    ctx.log(f"verify {path.name} in {rt} ({why}) on {len(x)} test images")
    sess = runtime.load(path, threads=runtime.threads.counts(ctx.profile)[0])
    try:
        logits = _batched(sess.run, x, f"{rt} {path.name}")
        res = {"status": "ok", "engine": why}
        if hasattr(sess, "providers"):
            res["providers"] = list(sess.providers)
    finally:
        sess.close()
    pred = logits.argmax(1)
    res.update({"accuracy": float((pred == y).mean()),
                "top1_agreement_vs_torch": float((pred == ref_logits.argmax(1)).mean()),
                "max_abs_logit_diff": float(np.abs(logits - ref_logits).max())})
    checked = ctx.static_checks.get(path.name, {}).get(rt)
    if checked:
        res["static_checks"] = checked
    ctx.log(f"timing {path.name} in {rt} (batch 1" + (", paired with the fp32 graph)" if compare_fp32 else ")"))
    res["latency_ms"] = _latencies(ctx, rt, path, x[:1], runs, compare_fp32)
    return res, pred


def verify_variant(ctx, precision, x, y, ref_logits, runs):
    """{"file", "precision", "size_bytes", "sha256", "runtimes": {rt: result}} for one ONNX file."""
    path = ctx.files[precision]
    compare = precision == ctx.profile.precision and precision != "fp32"
    entry = {"file": path.name, "precision": precision, "size_bytes": path.stat().st_size,
             "sha256": sha256_file(path), "runtimes": {}}
    preds = {}
    for rt in ctx.profile.runtimes:
        entry["runtimes"][rt], pred = verify_runtime(ctx, rt, path, x, y, ref_logits, runs, compare)
        if pred is not None:
            preds[rt] = pred
    ref_rt = next(iter(preds), None)
    for rt, pred in preds.items():
        entry["runtimes"][rt]["reference_runtime"] = ref_rt
        entry["runtimes"][rt]["top1_agreement_vs_reference"] = float((pred == preds[ref_rt]).mean())
    return entry


def _slowest_vs_fp32(main, latency_ms):
    """(ratio, interval) of the thread count whose interval's lower end is highest (the one a budget judges)."""
    paired = [v for v in latency_ms.values() if "vs_fp32" in v]
    if paired:
        worst = max(paired, key=lambda v: v["vs_fp32_ci"][0])
        return worst["vs_fp32"], worst["vs_fp32_ci"]
    return (1.0, [1.0, 1.0]) if main["precision"] == "fp32" else (None, None)


def summarize(ctx, main, fp32_acc):
    """The headline numbers of model.onnx (reference = the first runtime that ran)."""
    ran = {rt: r for rt, r in main["runtimes"].items() if r["status"] == "ok"}
    if not ran:
        raise UserError(f"{ctx.profile.path}: none of the runtimes {list(ctx.profile.runtimes)} is available here")
    ref_rt, ref = next(iter(ran.items()))
    first = next(iter(ref["latency_ms"].values()))
    ratio, ci = _slowest_vs_fp32(main, ref["latency_ms"])
    return {"file": main["file"], "precision": main["precision"], "size_bytes": main["size_bytes"],
            "size_mb": main["size_bytes"] / 1e6, "accuracy": ref["accuracy"], "fp32_accuracy": fp32_acc,
            "accuracy_drop_pt": (fp32_acc - ref["accuracy"]) * 100, "reference_runtime": ref_rt,
            "top1_agreement_vs_torch": min(r["top1_agreement_vs_torch"] for r in ran.values()),
            "max_abs_logit_diff": max(r["max_abs_logit_diff"] for r in ran.values()),
            "min_agreement_vs_reference": min(r["top1_agreement_vs_reference"] for r in ran.values()),
            "latency_p50_ms": first["p50_ms"], "latency_p95_ms": first["p95_ms"],
            "latency_vs_fp32": ratio, "latency_vs_fp32_ci": ci}


def _classes(ctx):
    """The class overlap of model and dataset (logged when they differ)."""
    _, overlap = class_overlap(ctx.meta["classes"], ctx.data.classes, getattr(ctx.data, "path", "the dataset"))
    if overlap["only_in_model"] or overlap["only_in_dataset"]:
        ctx.log(f"class lists differ: verifying on the {overlap['shared']} shared classes (model "
                f"{overlap['model_classes']}, dataset {overlap['dataset_classes']}; only in the model: "
                f"{''.join(overlap['only_in_model'][:SHOWN])}…; only in the dataset: "
                f"{''.join(overlap['only_in_dataset'][:SHOWN])}…; all listed in verify.json)")
    return overlap


def verify_all(ctx, latency_runs=100):
    """Run every variant in every runtime of the profile; returns the verify.json dict without budgets."""
    overlap = _classes(ctx)
    x, y = test_set(ctx.data, ctx.size, ctx.max_test, classes=ctx.meta["classes"])
    ctx.log(f"PyTorch fp32 reference on {len(x)} test images")
    ref_logits = torch_logits(ctx.model, x)
    fp32_acc = float((ref_logits.argmax(1) == y).mean())
    variants = {ctx.files[p].name: verify_variant(ctx, p, x, y, ref_logits, latency_runs)
                for p in ctx.profile.precisions}
    main = variants[onnx_name(ctx.profile, ctx.profile.precision)]
    return {"target": ctx.profile.name, "description": ctx.profile.description,
            "profile": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(ctx.profile).items()},
            "source": {"sha256": ctx.source_sha256, "arch": ctx.meta.get("arch"), "path": ctx.meta.get("path")},
            "test": {"split": "test", "n": int(len(x)), "max_test": ctx.max_test}, "classes": overlap,
            "fp32_reference": {"runtime": "pytorch", "accuracy": fp32_acc},
            "summary": summarize(ctx, main, fp32_acc), "variants": variants,
            "extras": sorted(str(p.relative_to(ctx.out)) for p in ctx.extras), "extra_results": ctx.results}
