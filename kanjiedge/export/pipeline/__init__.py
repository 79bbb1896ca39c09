"""The export pipeline shared by every target: PyTorch model -> verified artifact folder.

    graph.py     torch.onnx.export (profile opset, dynamo=False below 18) -> onnxsim -> op rewrites; op checks
    variants.py  precision variants (fp32 / fp16 / calibrated int8) with metadata_props
    artifact.py  labels / preprocess / SafeTensors side files and README.md (each runtime's own snippet)
    verify.py    every variant in every runtime of the profile, on the test split (shared classes only)
    budgets.py   the profile's budgets and the above-chance check
    __init__.py  `build()`: the steps in order; verify.json is written last, atomically, and only when the model is
                 clearly above chance and no budget is broken

Target-specific behaviour lives in the profile (targets/*.toml) and in registered runtimes (their capabilities and
`check_graph` hooks) and exporters, never in `if target == ...` branches here. `kanjiedge.edge` is the command
line around `build()`.
"""

import json
import tempfile
from pathlib import Path

from kanjiedge import atomic
from kanjiedge.errors import UserError
from kanjiedge.export import get_exporter
from kanjiedge.export.pipeline.artifact import clean_stale, readme_text, write_side_files
from kanjiedge.export.pipeline.budgets import above_chance, budget_failure, chance_failure, check_budgets
from kanjiedge.export.pipeline.context import BuildContext, onnx_name
from kanjiedge.export.pipeline.graph import check_ops, export_fp32, export_onnx, rewrite_ops, simplify
from kanjiedge.export.pipeline.variants import make_variant
from kanjiedge.export.pipeline.verify import class_overlap, test_set, torch_logits, verify_all

__all__ = ["BuildContext", "build", "export_onnx", "onnx_name", "rewrite_ops", "simplify", "test_set",
           "torch_logits"]


def _input_size(profile, meta):
    size = profile.input_size or int(meta["image_size"])
    if size != int(meta["image_size"]):
        raise UserError(f"{profile.path}: input_size {size} differs from the checkpoint's image size "
                        f"{meta['image_size']} (retrain at that size or set input_size = 0)")
    return size


def build(profile, model, meta, data, out, source_sha256, max_test=0, latency_runs=100, enforce_budgets=True):
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
        enforce_budgets: False records a broken budget in verify.json instead of failing (smoke runs).

    Returns:
        the verify.json dict (already written to out/verify.json).

    Raises:
        UserError: a failed step, a model not clearly above chance or a broken budget (then no verify.json).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("verify.json", "verify.failed.json"):  # a failed rebuild must not leave the old verdict
        (out / stale).unlink(missing_ok=True)
    model = model.eval().float()
    with tempfile.TemporaryDirectory(prefix=f"kanjiedge-edge-{profile.name}-") as work:
        ctx = BuildContext(profile, model, meta, data, out, Path(work), source_sha256, max_test=max_test)
        ctx.size = _input_size(profile, meta)
        clean_stale(out, profile)
        return _build(ctx, latency_runs, enforce_budgets)


def _export(ctx):
    ctx.fp32_path = export_fp32(ctx)
    for precision in ctx.profile.precisions:
        ctx.files[precision] = make_variant(ctx, precision)
        check_ops(ctx, ctx.files[precision])
    write_side_files(ctx)
    for extra in ctx.profile.extras:
        ctx.log(f"extra: {extra}")
        ctx.extras += [Path(f) for f in get_exporter(extra)(ctx)]


def _fail(ctx, report, line):
    """Keep the numbers inspectable under a name no rule or reader takes for a verdict, and stop the build."""
    atomic.write_json(ctx.out / "verify.failed.json", report)
    raise UserError(f"{line} -- no verify.json written (numbers in verify.failed.json)")


def _build(ctx, latency_runs, enforce_budgets=True):
    class_overlap(ctx.meta["classes"], ctx.data.classes, getattr(ctx.data, "path", "the dataset"))  # fail early
    _export(ctx)
    report = verify_all(ctx, latency_runs=latency_runs)
    report["above_chance"] = above_chance(report["fp32_reference"]["accuracy"], report["test"]["n"],
                                          report["classes"]["shared"])
    failure = chance_failure(report["above_chance"], ctx.profile.name)
    if failure:
        _fail(ctx, report, failure)
    report["budgets"] = check_budgets(ctx.profile, report["summary"])
    failure = budget_failure(report["budgets"])
    if failure and not enforce_budgets:
        report["budget_failure"] = failure
        ctx.log(f"WARNING: {failure} (recorded in verify.json: --report-budgets)")
    elif failure:
        _fail(ctx, report, f"{ctx.profile.name}: {failure}")
    atomic.write_text(ctx.out / "README.md", readme_text(ctx, report))
    atomic.write_json(ctx.out / "verify.json", report)
    ctx.log(f"verified: {json.dumps(report['summary'])}")
    return report
