"""The export pipeline shared by every target: PyTorch model -> verified artifact folder.

    torch.onnx.export (profile opset, dynamo=False below 18) -> onnxsim -> op rewrites -> precision variants
    (fp32 / fp16 / calibrated int8) -> metadata_props -> op checks -> labels/preprocess/SafeTensors -> extras
    (trtexec.txt, bitsandbytes 4-bit, web page) -> verification in every runtime of the profile -> budgets
    -> README.md -> verify.json (last, atomically; absent when a budget is broken).

Target-specific behaviour lives in the profile (targets/*.toml) and in registered runtimes/exporters, never in
`if target == ...` branches here. `kanjiedge.edge` is the command line around `build()`.
"""

import hashlib
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch

from kanjiedge import atomic
from kanjiedge.errors import UserError
from kanjiedge.export import CAPABILITIES, get_exporter, get_runtime
from kanjiedge.export.quantize import calibration_indices, quantize_int8, to_fp16
from kanjiedge.profile import TargetProfile


@dataclass
class BuildContext:
    """Everything a pipeline step or a registered exporter needs."""

    profile: TargetProfile
    model: torch.nn.Module  # eval mode, CPU, float32; input [N,1,S,S] -> logits [N,C]
    meta: dict  # checkpoint meta: classes, preprocess, image_size, arch, arch_kwargs
    data: object  # kanjiedge.dataset.Dataset (images uint8 [N,S,S], labels, split_indices)
    out: Path  # the artifact folder
    work: Path  # scratch folder (removed after the build)
    source_sha256: str  # sha256 of the checkpoint file the model came from
    size: int = 0  # input side S
    files: dict = field(default_factory=dict)  # precision -> ONNX file in `out`
    fp32_path: Path | None = None  # simplified fp32 graph (work or out)
    extras: list = field(default_factory=list)  # files written by target extras
    readme: object = None  # f(ctx, report) -> README.md text (kanjiedge.edge supplies it)
    results: dict = field(default_factory=dict)  # extra verification results from exporters -> verify.json
    max_test: int = 0  # verify on at most this many test images (0 = all)

    def log(self, msg):
        print(f"[edge {self.profile.name}] {msg}", file=sys.stderr, flush=True)


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def onnx_name(profile, precision) -> str:
    """model.onnx for the profile's main precision, model-<precision>.onnx for the others."""
    return "model.onnx" if precision == profile.precision else f"model-{precision}.onnx"


# ---- export ---------------------------------------------------------------------------------------------------

def export_onnx(model, path, size, opset, dynamic_batch=True, dynamo=False):
    """torch -> ONNX with input `image` [batch,1,S,S] and output `logits` [batch,C], weights inside the file."""
    x = torch.zeros(1, 1, size, size)
    axes = {"image": {0: "batch"}, "logits": {0: "batch"}} if dynamic_batch else None
    with torch.no_grad():
        torch.onnx.export(model, (x,), str(path), input_names=["image"], output_names=["logits"],
                          opset_version=opset, dynamo=dynamo, external_data=False, dynamic_axes=axes)
    got = onnx.load(str(path)).opset_import
    version = next(o.version for o in got if o.domain in ("", "ai.onnx"))
    if version != opset:  # the dynamo exporter silently upgrades; never ship a different opset than declared
        raise UserError(f"{path}: exporter wrote opset {version}, profile asks for {opset}")


def simplify(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxsim constant folding / dead-node removal, checked against the input graph."""
    import onnxsim

    simplified, ok = onnxsim.simplify(model)
    if not ok:
        raise UserError("onnxsim could not validate the simplified graph")
    return simplified


def _static_hw(model, tensor):
    """(H, W) of an NCHW tensor from shape inference, or None if unknown."""
    for vi in [*model.graph.value_info, *model.graph.input, *model.graph.output]:
        if vi.name == tensor:
            dims = vi.type.tensor_type.shape.dim
            if len(dims) == 4 and all(d.HasField("dim_value") for d in dims[2:]):
                return dims[2].dim_value, dims[3].dim_value
    return None


def _global_pool_nodes(node, model):
    """Replacement nodes for a global mean over H,W (GlobalAveragePool or ReduceMean axes (2,3)), or None."""
    if node.op_type == "ReduceMean":
        attrs = {a.name: a for a in node.attribute}
        axes = list(attrs["axes"].ints) if "axes" in attrs else None
        if len(node.input) > 1 or sorted(axes or []) not in ([2, 3], [-2, -1]):
            return None
        keep = attrs["keepdims"].i if "keepdims" in attrs else 1
    else:
        keep = 1
    hw = _static_hw(model, node.input[0])
    if hw is None:
        return None
    pooled = node.output[0] + ("" if keep else "_pooled")
    nodes = [onnx.helper.make_node("AveragePool", [node.input[0]], [pooled], name=node.name + "_avgpool",
                                   kernel_shape=list(hw))]
    if not keep:  # [N,C,1,1] -> [N,C]
        nodes.append(onnx.helper.make_node("Flatten", [pooled], [node.output[0]], name=node.name + "_flat", axis=1))
    return nodes


def rewrite_ops(model: onnx.ModelProto, ops) -> tuple[onnx.ModelProto, int]:
    """Rewrite global means (GlobalAveragePool / ReduceMean over H,W) into a fixed-kernel AveragePool.

    Args:
        model: a shape-inferred graph with static spatial sizes.
        ops: op types to rewrite (subset of "GlobalAveragePool", "ReduceMean").

    Returns:
        (the rewritten model, number of nodes replaced).
    """
    if not ops:
        return model, 0
    model = onnx.shape_inference.infer_shapes(model)
    new_nodes, count = [], 0
    for node in model.graph.node:
        repl = _global_pool_nodes(node, model) if node.op_type in ops else None
        new_nodes.extend(repl or [node])
        count += bool(repl)
    del model.graph.node[:]
    model.graph.node.extend(new_nodes)
    onnx.checker.check_model(model)
    return model, count


def export_fp32(ctx: BuildContext) -> Path:
    """Export, simplify and rewrite: the fp32 graph every variant starts from (in ctx.work)."""
    p = ctx.profile
    raw, path = ctx.work / "export.onnx", ctx.work / "fp32.onnx"
    ctx.log(f"export ONNX opset {p.opset} (dynamo={p.dynamo}, batch {'dynamic' if p.dynamic_batch else '1'}, "
            f"input [N,1,{ctx.size},{ctx.size}])")
    export_onnx(ctx.model, raw, ctx.size, p.opset, p.dynamic_batch, p.dynamo)
    ctx.log("onnxsim")
    model = simplify(onnx.load(str(raw)))
    model, n = rewrite_ops(model, p.rewrite)
    if p.rewrite:
        ctx.log(f"rewrote {n} node(s) of {'/'.join(p.rewrite)} into fixed AveragePool")
    onnx.save(model, str(path))
    return path


# ---- variants -------------------------------------------------------------------------------------------------

def set_metadata(model: onnx.ModelProto, ctx: BuildContext) -> onnx.ModelProto:
    """metadata_props of ARCHITECTURE.md "Exported ONNX files" (+ kanjiedge.precision)."""
    props = {
        "kanjiedge.labels": json.dumps(list(ctx.meta["classes"]), ensure_ascii=False),
        "kanjiedge.preprocess": json.dumps(preprocess_dict(ctx)),
        "kanjiedge.profile": ctx.profile.name,
        "kanjiedge.source_sha256": ctx.source_sha256,
        "kanjiedge.arch": str(ctx.meta.get("arch", "")),
    }
    onnx.helper.set_model_props(model, props)
    model.producer_name = "kanjiedge"
    return model


def preprocess_dict(ctx) -> dict:
    default = {"size": ctx.size, "normalize": "moment", "scale": 1 / 255, "ink": "high"}
    return dict(ctx.meta.get("preprocess") or default)


def calibration_images(ctx) -> np.ndarray:
    """uint8 [n,S,S] real training glyphs for static int8 calibration."""
    idx = calibration_indices(ctx.data.split_indices("train"), ctx.profile.calibration_samples)
    if len(idx) == 0:
        raise UserError("the dataset's train split is empty: nothing to calibrate int8 on")
    return glyphs(ctx.data, idx, ctx.size)


def make_variant(ctx: BuildContext, precision: str) -> Path:
    """Write one precision variant of the fp32 graph into the artifact folder (with metadata)."""
    tmp = ctx.work / f"{precision}.onnx"
    if precision == "int8":
        images = calibration_images(ctx) if ctx.profile.method == "static" else None
        how = f"{len(images)} training glyphs" if images is not None else "dynamic ranges"
        ctx.log(f"int8 {ctx.profile.quant_format} ({ctx.profile.method}, per_channel={ctx.profile.per_channel}, "
                f"symmetric activations={ctx.profile.symmetric_activations}), calibrated on {how}")
        # TensorRT's DequantizeLinear takes int8 only: keep biases float for runtimes that need symmetric int8
        bias = not any(CAPABILITIES[rt].symmetric_int8_only for rt in ctx.profile.runtimes)
        quantize_int8(ctx.fp32_path, tmp, ctx.profile, images, quantize_bias=bias)
        model = onnx.load(str(tmp))
    elif precision == "fp16":
        ctx.log("fp16 (float32 input/output kept)")
        model = to_fp16(onnx.load(str(ctx.fp32_path)))
    else:
        model = onnx.load(str(ctx.fp32_path))
    out = ctx.out / onnx_name(ctx.profile, precision)
    with atomic.atomic_path(out) as t:
        onnx.save(set_metadata(model, ctx), str(t))
    return out


# ---- op checks ------------------------------------------------------------------------------------------------

def check_ops(ctx: BuildContext, path: Path) -> None:
    """Forbidden ops, allow-lists and custom op domains against the profile and its runtimes' capabilities."""
    p = ctx.profile
    model = onnx.load(str(path), load_external_data=False)
    for node in model.graph.node:
        if node.op_type in p.forbid:
            raise UserError(f"{path}: node {node.name!r} is a {node.op_type}, forbidden by {p.path}")
        if node.domain not in ("", "ai.onnx"):
            for rt in p.runtimes:
                if not CAPABILITIES[rt].custom_domains:
                    raise UserError(f"{path}: node {node.name!r} is {node.domain}.{node.op_type}, which {rt} "
                                    f"cannot run ({CAPABILITIES[rt].note})")
    if p.only == "onnx-tensorrt":
        from kanjiedge.export.tensorrt import check_graph

        check_graph(model, path, p)


# ---- side files -----------------------------------------------------------------------------------------------

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


# ---- verification ---------------------------------------------------------------------------------------------

CHUNK = 256  # images per inference call while verifying


def test_set(data, size, max_test=0):
    """(x float32 [N,1,S,S], y int64 [N]) of the writer-disjoint test split (evenly subsampled to max_test)."""
    idx = np.asarray(data.split_indices("test"), dtype=np.int64)
    if len(idx) == 0:
        raise UserError("the dataset's test split is empty: nothing to verify on")
    if max_test and len(idx) > max_test:
        idx = idx[np.linspace(0, len(idx) - 1, max_test).astype(np.int64)]
    x = glyphs(data, idx, size).astype(np.float32)[:, None] / 255.0
    return np.ascontiguousarray(x), np.asarray(data.labels[idx], dtype=np.int64)


def _batched(fn, x, desc):
    from tqdm import tqdm

    outs = [fn(x[i:i + CHUNK]) for i in tqdm(range(0, len(x), CHUNK), desc=desc, leave=False, file=sys.stderr)]
    return np.concatenate(outs).astype(np.float32)


def torch_logits(model, x):
    """PyTorch fp32 logits [N,C] for x [N,1,S,S]."""
    with torch.no_grad():
        return _batched(lambda b: model(torch.from_numpy(b)).numpy(), x, "pytorch")


def paired_latency(sess, ref, x1, runs, rounds=5):
    """Batch-1 latency of `sess` and of `ref` measured in alternating rounds (so CPU-load drift hits both).

    Returns:
        ({"p50_ms", "p95_ms"} of sess, same for ref or None): medians of the per-round percentiles.
    """
    per = max(5, runs // rounds)
    a, b = [], []
    for _ in range(rounds):
        a.append(sess.latency(x1, runs=per, warmup=3))
        if ref is not None:
            b.append(ref.latency(x1, runs=per, warmup=3))

    def med(rs):
        return {k: float(np.median([r[k] for r in rs])) for k in ("p50_ms", "p95_ms")} if rs else None
    return med(a), med(b)


def _thread_counts(profile, rt):
    return list(profile.threads) if CAPABILITIES[rt].threads else [None]


def _latencies(ctx, rt, path, x1, runs, compare_fp32):
    """{"threads=T": {p50_ms, p95_ms, fp32_p50_ms?, fp32_p95_ms?, vs_fp32?}} for one runtime and model file."""
    runtime, out = get_runtime(rt), {}
    for t in _thread_counts(ctx.profile, rt):
        sess = runtime.load(path, threads=t)
        ref = runtime.load(ctx.fp32_path, threads=t) if compare_fp32 else None
        try:
            mine, fp32 = paired_latency(sess, ref, x1, runs)
        finally:
            for s in (sess, ref):
                if s is not None:
                    s.close()
        entry = dict(mine)
        if fp32:
            entry.update({"fp32_p50_ms": fp32["p50_ms"], "fp32_p95_ms": fp32["p95_ms"],
                          "vs_fp32": mine["p50_ms"] / fp32["p50_ms"]})
        out[f"threads={t or 'default'}"] = entry
    return out


def verify_runtime(ctx, rt, path, x, y, ref_logits, runs, compare_fp32):
    """Accuracy, agreement with PyTorch and latency of one model file in one runtime -> (result, top-1 preds)."""
    runtime = get_runtime(rt)
    ok, why = runtime.available()
    if not ok:
        ctx.log(f"SKIPPED {rt}: {why}")
        return {"status": "skipped", "why": why}, None
    ctx.log(f"verify {path.name} in {rt} ({why}) on {len(x)} test images")
    sess = runtime.load(path, threads=_thread_counts(ctx.profile, rt)[0])
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
    ctx.log(f"timing {path.name} in {rt} (batch 1" + (", vs the fp32 graph)" if compare_fp32 else ")"))
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


def summarize(ctx, main, fp32_acc):
    """The headline numbers of model.onnx (reference = the first runtime that ran)."""
    ran = {rt: r for rt, r in main["runtimes"].items() if r["status"] == "ok"}
    if not ran:
        raise UserError(f"{ctx.profile.path}: none of the runtimes {list(ctx.profile.runtimes)} is available here")
    ref_rt, ref = next(iter(ran.items()))
    first = next(iter(ref["latency_ms"].values()))
    ratios = [v["vs_fp32"] for v in ref["latency_ms"].values() if "vs_fp32" in v]
    return {"file": main["file"], "precision": main["precision"], "size_bytes": main["size_bytes"],
            "size_mb": main["size_bytes"] / 1e6, "accuracy": ref["accuracy"], "fp32_accuracy": fp32_acc,
            "accuracy_drop_pt": (fp32_acc - ref["accuracy"]) * 100, "reference_runtime": ref_rt,
            "top1_agreement_vs_torch": min(r["top1_agreement_vs_torch"] for r in ran.values()),
            "max_abs_logit_diff": max(r["max_abs_logit_diff"] for r in ran.values()),
            "min_agreement_vs_reference": min(r["top1_agreement_vs_reference"] for r in ran.values()),
            "latency_p50_ms": first["p50_ms"], "latency_p95_ms": first["p95_ms"],
            "latency_vs_fp32": max(ratios) if ratios else (1.0 if main["precision"] == "fp32" else None)}


def verify_all(ctx, max_test=0, latency_runs=100):
    """Run every variant in every runtime of the profile; returns the verify.json dict without budgets."""
    x, y = test_set(ctx.data, ctx.size, max_test)
    ctx.log(f"PyTorch fp32 reference on {len(x)} test images")
    ref_logits = torch_logits(ctx.model, x)
    fp32_acc = float((ref_logits.argmax(1) == y).mean())
    variants = {ctx.files[p].name: verify_variant(ctx, p, x, y, ref_logits, latency_runs)
                for p in ctx.profile.precisions}
    main = variants[onnx_name(ctx.profile, ctx.profile.precision)]
    return {"target": ctx.profile.name, "description": ctx.profile.description,
            "profile": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(ctx.profile).items()},
            "source": {"sha256": ctx.source_sha256, "arch": ctx.meta.get("arch"), "path": ctx.meta.get("path")},
            "test": {"split": "test", "n": int(len(x)), "max_test": max_test},
            "fp32_reference": {"runtime": "pytorch", "accuracy": fp32_acc},
            "summary": summarize(ctx, main, fp32_acc), "variants": variants,
            "extras": sorted(str(p.relative_to(ctx.out)) for p in ctx.extras), "extra_results": ctx.results}


# ---- budgets --------------------------------------------------------------------------------------------------

def check_budgets(profile: TargetProfile, summary: dict) -> dict:
    """{budget: {"limit", "value", "ok"}} for every budget the profile sets (0 = not set)."""
    checks = {
        "max_size_mb": (profile.max_size_mb, summary["size_mb"], lambda v, lim: v <= lim),
        "max_accuracy_drop_pt": (profile.max_accuracy_drop_pt, summary["accuracy_drop_pt"], lambda v, lim: v <= lim),
        "max_latency_ms": (profile.max_latency_ms, summary.get("latency_p50_ms"), lambda v, lim: v <= lim),
        "max_latency_vs_fp32": (profile.max_latency_vs_fp32, summary.get("latency_vs_fp32"), lambda v, lim: v <= lim),
        "min_agreement": (profile.min_agreement, summary.get("min_agreement_vs_reference"), lambda v, lim: v >= lim),
    }
    out = {}
    for name, (limit, value, ok) in checks.items():
        if (limit >= 0) if name == "max_accuracy_drop_pt" else (limit > 0):
            out[name] = {"limit": limit, "value": value, "ok": value is not None and bool(ok(value, limit))}
    return out


def budget_failure(budgets: dict) -> str | None:
    broken = [f"{k} {v['value'] if v['value'] is None else round(v['value'], 4)} (limit {v['limit']})"
              for k, v in budgets.items() if not v["ok"]]
    return "budget broken: " + "; ".join(broken) if broken else None


# ---- the build ------------------------------------------------------------------------------------------------

def _input_size(profile, meta):
    size = profile.input_size or int(meta["image_size"])
    if size != int(meta["image_size"]):
        raise UserError(f"{profile.path}: input_size {size} differs from the checkpoint's image size "
                        f"{meta['image_size']} (retrain at that size or set input_size = 0)")
    return size


def glyphs(data, idx, size) -> np.ndarray:
    """uint8 [n,S,S] dataset images at the model's input size, resized exactly as training did (area)."""
    from kanjiedge.preprocess import resize_u8

    return resize_u8(data.images, np.asarray(idx), size).numpy()[:, 0]


def build(profile, model, meta, data, out, source_sha256, max_test=0, latency_runs=100, readme=None,
          enforce_budgets=True):
    """Build, verify and budget-check one target's artifact folder.

    Args:
        profile: the TargetProfile.
        model: PyTorch model (eval, CPU), input float32 [N,1,S,S] -> logits [N,C].
        meta: checkpoint meta (classes, image_size, preprocess, arch, arch_kwargs).
        data: kanjiedge.dataset.Dataset (train split calibrates, test split verifies).
        out: artifact folder (created; a stale verify.json is removed first).
        source_sha256: sha256 of the source checkpoint.
        max_test: verify on at most this many test images (0 = the whole test split).
        latency_runs: timed batch-1 runs per latency measurement.
        readme: f(ctx, report) -> text of out/README.md (default kanjiedge.edge.readme_text).

    Returns:
        the verify.json dict (already written to out/verify.json).

    Raises:
        UserError: a failed step or a broken budget (then no verify.json exists).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("verify.json", "verify.failed.json"):  # a failed rebuild must not leave the old verdict
        (out / stale).unlink(missing_ok=True)
    model = model.eval().float()
    if readme is None:
        from kanjiedge.edge import readme_text as readme
    with tempfile.TemporaryDirectory(prefix=f"kanjiedge-edge-{profile.name}-") as work:
        ctx = BuildContext(profile, model, meta, data, out, Path(work), source_sha256)
        ctx.size, ctx.readme, ctx.max_test = _input_size(profile, meta), readme, max_test
        clean_stale(out, profile)
        return _build(ctx, max_test, latency_runs, enforce_budgets)


def _build(ctx, max_test, latency_runs, enforce_budgets=True):
    ctx.fp32_path = export_fp32(ctx)
    for precision in ctx.profile.precisions:
        ctx.files[precision] = make_variant(ctx, precision)
        check_ops(ctx, ctx.files[precision])
    write_side_files(ctx)
    for extra in ctx.profile.extras:
        ctx.log(f"extra: {extra}")
        ctx.extras += [Path(f) for f in get_exporter(extra)(ctx)]
    report = verify_all(ctx, max_test=max_test, latency_runs=latency_runs)
    report["budgets"] = check_budgets(ctx.profile, report["summary"])
    failure = budget_failure(report["budgets"])
    if failure and not enforce_budgets:
        report["budget_failure"] = failure
        ctx.log(f"WARNING: {failure} (recorded in verify.json: --report-budgets)")
    elif failure:  # the numbers stay inspectable under a name no rule or reader takes for a verdict
        atomic.write_json(ctx.out / "verify.failed.json", report)
        raise UserError(f"{ctx.profile.name}: {failure} -- no verify.json written (numbers in verify.failed.json)")
    if ctx.readme:
        atomic.write_text(ctx.out / "README.md", ctx.readme(ctx, report))
    atomic.write_json(ctx.out / "verify.json", report)
    ctx.log(f"verified: {json.dumps(report['summary'])}")
    return report


def clean_stale(out: Path, profile) -> None:
    """Remove model-*.onnx files of precisions the profile no longer asks for."""
    keep = {onnx_name(profile, p) for p in profile.precisions}
    for f in out.glob("model*.onnx"):
        if f.name not in keep:
            f.unlink()

