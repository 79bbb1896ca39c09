"""Turn the bench.json dict into bench.md (one table per question) and PNG plots. No measuring here."""

import os
import platform
from pathlib import Path


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import onnxruntime
    import torch

    return {"cpu": cpu or platform.processor(), "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
            "cuda": torch.cuda.is_available()}


def fmt(v, nd=2):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def ran(rows):
    return [r for r in rows if r.get("ran")]


def reference_row(t, file="model.onnx"):
    """The row that stands for a file: its first runtime that ran, at one thread."""
    rs = [r for r in ran(t["rows"]) if r["file"] == file and "top1" in r]
    one = [r for r in rs if r["threads"] in (1, None)]
    return (one or rs or [None])[0]


def budgets_cell(t):
    b = t["verify"].get("budgets", {})
    if not b:
        return "–"
    return ", ".join(f"{k} {'ok' if v['ok'] else 'BROKEN'}" for k, v in b.items())


def ship_table(report):
    rows = []
    for t in report["targets"]:
        r = reference_row(t)
        fp32 = t["verify"]["fp32_reference"]["accuracy"] * 100
        if r is None:
            rows.append([t["target"], t["optimize_for"] or "–", "model.onnx", "–", "–", "–", "–", fmt(fp32), "–",
                         budgets_cell(t)])
            continue
        rows.append([t["target"], t["optimize_for"] or "–", r["file"], r["precision"], r["size_mb"], r["top1"],
                     r["top5"], fp32, r["top1"] - fp32, budgets_cell(t)])
    return table(["target", "optimises", "file", "precision", "size MB", "top-1 %", "top-5 %",
                  "PyTorch fp32 top-1 %", "Δ top-1 (pt)", "budgets"], rows)


def latency_table(report):
    rows = []
    for t in report["targets"]:
        for r in ran(t["rows"]):
            lat, base = r.get("latency") or {}, r.get("fp32_latency") or {}
            spread = f"{lat.get('p50_min_ms', 0):.3f}–{lat.get('p50_max_ms', 0):.3f}" if lat else "–"
            ratio = lat["p50_ms"] / base["p50_ms"] if lat and base else (1.0 if r["precision"] == "fp32" else None)
            rows.append([t["target"], r["file"], r["runtime"], r["threads"] or "–", r["load_s"] * 1e3,
                         r["peak_rss_mb"], f"{lat.get('p50_ms', 0):.3f}", spread, f"{lat.get('p95_ms', 0):.3f}",
                         f"{base['p50_ms']:.3f}" if base else "(is fp32)", ratio, r.get("throughput_b64")])
    return table(["target", "file", "runtime", "threads", "load ms", "peak RSS MB", "p50 ms", "p50 spread (rounds)",
                  "p95 ms", "fp32 p50 ms (same run)", "× fp32", "batch-64 img/s"], rows)


def quant_table(report):
    rows = []
    for t in report["targets"]:
        fp32 = t["verify"]["fp32_reference"]["accuracy"] * 100
        fp32_size = next((r["size_mb"] for r in t["rows"] if r["precision"] == "fp32"), None)
        base_file = Path(t["fp32_baseline"]).stat().st_size / 1e6 if t.get("fp32_baseline") and \
            Path(t["fp32_baseline"]).exists() else None
        for file in dict.fromkeys(r["file"] for r in t["rows"]):
            r = reference_row(t, file)
            if r is None or r["precision"] == "fp32":
                continue
            size0 = fp32_size or base_file
            ratios = [x["latency"]["p50_ms"] / x["fp32_latency"]["p50_ms"] for x in ran(t["rows"])
                      if x["file"] == file and x.get("latency") and x.get("fp32_latency")]
            rows.append([t["target"], file, r["precision"], r["size_mb"], size0,
                         r["size_mb"] / size0 if size0 else None, r["top1"] - fp32,
                         f"{min(ratios):.2f}–{max(ratios):.2f}" if ratios else "–"])
    return table(["target", "file", "precision", "size MB", "fp32 size MB", "size × fp32", "Δ top-1 vs fp32 (pt)",
                  "latency × fp32 (range over runtimes)"], rows)


def not_run_table(report):
    rows = [[t["target"], r["file"], r["runtime"], r.get("why", "")] for t in report["targets"]
            for r in t["rows"] if not r.get("ran")]
    return table(["target", "file", "runtime", "why it did not run here"], rows) if rows else "Every row ran."


def arch_table(report):
    rows = [[a["dir"], a["params"], a["checkpoint_mb"], a["image_size"], a["top1"], a["top5"],
             a["torch_cpu_p50_ms"]] for a in report["architectures"]]
    return table(["architecture", "parameters", "checkpoint MB", "input", "top-1 %", "top-5 %",
                  "PyTorch CPU batch-1 p50 ms"], rows) if rows else "No trained architecture found."


DECODER_ROWS = (  # bench_decode.per_core key -> what it is
    ("numpy_records_per_cpu_s", "numpy reference (frombuffer, nibble unpack, cv2 INTER_AREA), records/CPU-s"),
    ("c_records_per_cpu_s", "C decode + area resize, records/CPU-s"),
    ("c_moment_records_per_cpu_s", "C decode + moment normalization, records/CPU-s"),
    ("ratio_per_core", "C / numpy per core (CPU time)"),
    ("ratio_wall", "C / numpy (wall time)"),
    ("max_abs_diff_vs_cv2", "largest pixel difference C vs cv2 (grey levels of 255)"),
)


def decoder_text(report):
    d = report["decoder"]
    if not d.get("ran"):
        return f"Not measured: {d.get('why')}."
    rows = [[label, d[key]] for key, label in DECODER_ROWS if key in d]
    return (table(["measure", "value"], rows) + f"\n\n{d.get('records')} records of `{d['file']}` at "
            f"{d.get('size')}×{d.get('size')}, single-threaded, both decoders in the same run. The full 607,200-record "
            "set is measured by `python -m bench.bench_decode --full` (BENCHMARKS.md).")


def data_name(report) -> str:
    """What the report's test-split accuracies were measured on ("synthetic writers (test split of ...)")."""
    from kanjiedge import dataname

    return report.get("data_name") or dataname.of_dataset(report["dataset"])


def extra_data_sections(report) -> list:
    """The sections measured on other data: fonts never seen in training, the user's ETL files (EVAL_DIR)."""
    from bench import ood

    parts = [ood.markdown(report["ood"])] if "ood" in report else []
    etl = ood.etl_dir_markdown(report["targets"])
    return parts + ([etl] if etl else [])


def web_page_text(report) -> str:
    """The wasm target's drawing page: bytes served per encoding, the unsure threshold and what calibrated it, and
    the load times of `python -m bench.webload` when artifacts/reports/webload.json exists."""
    pages = [(t["target"], t["verify"].get("extra_results", {}).get("web")) for t in report["targets"]]
    out = []
    for target, web in pages:
        if not web:
            continue
        b, u = web["transfer_bytes"], web["unsure"]
        out.append(f"`{target}/web/` ({web['files']} files): {b['br'] / 1e6:.2f} MB to transfer with brotli, "
                   f"{b['gz'] / 1e6:.2f} MB with gzip, {b['raw'] / 1e6:.2f} MB uncompressed. Unsure below a top-1 "
                   f"probability of {u['threshold']:.3f}: " + (
                       f"calibrated on {u['data']} ({u['samples']:,} images, top-1 {100 * u['accuracy']:.2f} %): "
                       f"the lowest threshold whose accepted answers reach {100 * u['target_precision']:g} % "
                       f"precision ({fmt(u['calibrated'], 3)}, floor {u['floor']}); there it accepts "
                       f"{100 * u['coverage']:.1f} % of answers at {fmt(100 * (u['precision'] or 0), 2)} % precision."
                       if u.get("data") else u.get("note", "not calibrated") + "."))
    load = report.get("webload")
    if load:
        rows = [(name, visit, r[visit]["transfer_bytes"] / 1e6, r[visit]["ready_ms"] / 1000)
                for name, r in load["results"].items() for visit in ("cold", "repeat")]
        out += ["", f"Load in headless Chromium, network throttled to {load['throttle']} (`python -m bench.webload`, "
                f"median of {len(next(iter(load['results'].values()))['cold']['runs'])} runs, model "
                f"{load['model']}):", "", table(["serving", "visit", "transfer MB", "ready s"], rows)]
    return "\n".join(out)


def markdown(report, plots) -> str:
    m = report["machine"]
    n = ", ".join(f"{v} at {s}×{s}" for s, v in report["test_images"].items())
    parts = [
        "# kanjiedge benchmark report", "",
        f"Dataset `{report['dataset']}`, writer-disjoint test split ({n} images): {data_name(report)}. "
        f"Machine: {m['cpu']}, "
        f"{m['cores']} cores, torch {m['torch']}, onnxruntime {m['onnxruntime']}, CUDA: {m['cuda']}. "
        "Produced by `make bench` (`python -m bench.report`).", "",
        f"## Which target should I ship? Accuracy on {data_name(report)} vs size", "", ship_table(report), "",
        "## Latency per runtime (batch 1, with the fp32 baseline measured in the same process)", "",
        "p50/p95 are medians over 5 alternating rounds; the spread is the min–max of the per-round p50. Peak RSS is "
        "that of the process running the model (Python + runtime + model; Node for onnxruntime-web) during the "
        "batch-1 and batch-64 runs.", "",
        latency_table(report), "",
        f"## What each quantization costs (accuracy on {data_name(report)})", "", quant_table(report), "",
        f"## Trained architectures (PyTorch, accuracy on {data_name(report)})", "", arch_table(report), "",
        *extra_data_sections(report),
        *(["## The wasm target's web page", "", web_page_text(report), ""] if web_page_text(report) else []),
        "## ETL decoder: C vs numpy reference (same file, same run)", "", decoder_text(report), "",
        "## Not run on this machine", "", not_run_table(report), "",
    ]
    if report.get("missing_targets"):
        parts += [f"Targets without a built artifact: {', '.join(report['missing_targets'])}.", ""]
    parts += [f"![{p.stem}]({p.name})" for p in plots]
    return "\n".join(parts) + "\n"


# ---- plots ----------------------------------------------------------------------------------------------------

def _points(report):
    for t in report["targets"]:
        for file in dict.fromkeys(r["file"] for r in t["rows"]):
            r = reference_row(t, file)
            if r is not None:
                yield t["target"], r


def plots(report, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    pts = list(_points(report))
    if not pts:
        return made
    for name, xkey, xlabel in (("accuracy_vs_size", "size_mb", "model size on disk (MB)"),
                               ("accuracy_vs_latency", None, "batch-1 p50 latency, reference runtime, 1 thread (ms)")):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        groups = {}  # points that coincide (same size or latency, same accuracy) share one label
        for target, r in pts:
            x = r[xkey] if xkey else (r.get("latency") or {}).get("p50_ms")
            if x is not None:
                groups.setdefault((round(x, 2), round(r["top1"], 2)), []).append(
                    (x, r["top1"], f"{target} {r['precision']}"))
        for i, (_, members) in enumerate(sorted(groups.items())):
            x, y, labels = members[0][0], members[0][1], [m[2] for m in members]
            ax.scatter(x, y, s=60)
            ax.annotate("\n".join(labels), (x, y), fontsize=7, xytext=(5, 4 - 28 * (i % 2)),
                        textcoords="offset points")  # alternate above/below so neighbours do not overlap
        fp32 = [t["verify"]["fp32_reference"]["accuracy"] * 100 for t in report["targets"]]
        if fp32:
            ax.axhline(fp32[0], color="grey", lw=0.8, ls="--", label="PyTorch fp32")
            ax.legend(fontsize=7, loc="lower right")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"top-1 % on {data_name(report)}", fontsize=8)
        ax.grid(alpha=0.3)
        ax.margins(x=0.15, y=0.3)
        made.append(_save(fig, out / f"{name}.png"))
    made.append(latency_bars(report, out, plt))
    return made


def latency_bars(report, out, plt):
    rows = [(f"{t['target']}\n{r['file'].removesuffix('.onnx')}", r) for t in report["targets"]
            for r in ran(t["rows"]) if r.get("latency")]
    runtimes = list(dict.fromkeys(f"{r['runtime']}{'' if r['threads'] is None else ' ×' + str(r['threads'])}"
                                  for _, r in rows))
    groups = list(dict.fromkeys(g for g, _ in rows))
    fig, ax = plt.subplots(figsize=(max(7, 1.1 * len(groups)), 4.5))
    width = 0.8 / max(1, len(runtimes))
    for i, rt in enumerate(runtimes):
        xs, ys, lo, hi = [], [], [], []
        for g, r in rows:
            key = f"{r['runtime']}{'' if r['threads'] is None else ' ×' + str(r['threads'])}"
            if key == rt:
                lat = r["latency"]
                xs.append(groups.index(g) + i * width)
                ys.append(lat["p50_ms"])
                lo.append(lat["p50_ms"] - lat.get("p50_min_ms", lat["p50_ms"]))
                hi.append(lat.get("p50_max_ms", lat["p50_ms"]) - lat["p50_ms"])
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=rt)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(groups))], groups, fontsize=7)
    ax.set_ylabel("batch-1 p50 latency (ms)")
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, out / "latency_by_target.png")


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
