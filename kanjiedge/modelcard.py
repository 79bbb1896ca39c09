"""model-card.md for a trained model folder: data, splits, metrics, size, intended use and limits, written from
best.pt and metrics.jsonl (so it describes exactly what was saved). The training engine writes it last: its
presence marks a finished training run (the Makefile's target for `make train`)."""

import json
from pathlib import Path

import torch

from kanjiedge import atomic, dataname

_LIMITS = """\
- Trained on {data_kind}; accuracy on real handwriting (other writers, scanners, pens) will be lower than the
  numbers above until it is trained or fine-tuned on real ETL data (`make train ETL_DIR=...`).
- Knows only the {n} classes listed in the checkpoint; anything else is mapped to the nearest known class.
- Expects one centred character, ink high, normalised like the training data (`preprocess` above); a photo or a
  multi-character line must be segmented and normalised first (`kanjiedge predict` does this for one character).
"""


def _pct(v) -> str:
    return f"{100 * v:.2f} %" if isinstance(v, (int, float)) else "n/a"


def _metric_rows(metrics: dict, ds: dict) -> list[str]:
    """Metrics table; every row names its data (dataname: "synthetic writers (val split of ...)", ...)."""
    def data(split):
        return dataname.of_dataset(ds.get("path") or ds.get("name", "?"), split)

    rows = ["| split | data | top-1 | top-5 | n |", "|---|---|---|---|---|"]
    rows.append(f"| val (best epoch) | {data('val')} | {_pct(metrics.get('val_top1'))} | "
                f"{_pct(metrics.get('val_top5'))} | |")
    for part in ("test", "test_seen", "test_unseen"):
        if f"{part}_top1" in metrics:
            rows.append(f"| {part.replace('_', ' ')} | {data('test')} | {_pct(metrics[f'{part}_top1'])} | "
                        f"{_pct(metrics.get(f'{part}_top5'))} | {metrics.get(f'{part}_n', '')} |")
    return rows


def _dataset_lines(ck: dict) -> list[str]:
    ds = ck.get("dataset", {})
    lines = [f"- dataset: `{ds.get('name', '?')}` ({ds.get('path', '')}), manifest sha256 "
             f"`{ds.get('manifest_sha256', '?')[:16]}…`"]
    splits_path = Path(ds.get("path", "")) / "splits.json"
    if splits_path.is_file():
        splits = json.loads(splits_path.read_text(encoding="utf-8"))
        counts = {k: len(splits.get(k, [])) for k in ("train", "val", "test")}
        lines.append(f"- writer-disjoint splits: {counts['train']} / {counts['val']} / {counts['test']} writers "
                     f"(train / val / test); samples: {splits.get('counts', {})}")
    if ck.get("holdout"):
        chars = "".join(ck["classes"][i] for i in ck["holdout"])
        lines.append(f"- zero-shot run: {len(ck['holdout'])} classes never seen in training: {chars}")
    return lines


def render(ck: dict, history: list[dict]) -> str:
    """Markdown text of the card for checkpoint dict `ck` and the metrics.jsonl rows `history`."""
    args = ck.get("train_args", {})
    n_epochs = sum(1 for r in history if "epoch" in r)
    secs = sum(r.get("epoch_s", 0) for r in history)
    real = not dataname.is_synthetic(ck.get("dataset", {}).get("name", ""))
    lines = [f"# Model card: `{ck['arch']}` handwritten Japanese character recognizer", "",
             "## Model", f"- architecture: `{ck['arch']}` {ck.get('arch_kwargs') or ''}",
             f"- parameters: {ck.get('params', 0):,} (float32 weights {4 * ck.get('params', 0) / 1e6:.2f} MB)",
             f"- input: float32 [N,1,{ck['image_size']},{ck['image_size']}]; output: logits [N,{len(ck['classes'])}]",
             f"- preprocess: `{json.dumps(ck.get('preprocess', {}))}`", "", "## Data", *_dataset_lines(ck), "",
             "## Training", f"- {n_epochs} epochs run (best epoch {ck.get('tracker', {}).get('best_epoch', '?')}), "
             f"{secs / 60:.1f} min of training time",
             f"- options: `{json.dumps({k: v for k, v in args.items() if v not in (None, False, 0, '')})}`", "",
             "## Metrics", *_metric_rows(ck.get("metrics", {}), ck.get("dataset", {})), "",
             f"Accuracy on {dataname.FONTS_OOD} and on real ETL files: `python -m bench.ood --model <this folder>`, "
             "`kanjiedge evaluate --etl-dir DIR` (and the bench report).", "", "## Intended use",
             "Recognising one isolated handwritten Japanese character (kanji / kana of the training set) on edge "
             "devices: `kanjiedge predict`, `kanjiedge evaluate`, `kanjiedge edge TARGET` for deployment.", "",
             "## Limits",
             _LIMITS.format(data_kind="real ETL data" if real else "synthetic handwriting rendered from KanjiVG "
                            "strokes (kanjiedge.synth), not real scans", n=len(ck["classes"]))]
    return "\n".join(lines) + "\n"


def write_model_card(out, args=None) -> Path:
    """Write `out/model-card.md` from `out/best.pt` and `out/metrics.jsonl`; returns its path."""
    out = Path(out)
    ck = torch.load(out / "best.pt", map_location="cpu", weights_only=True)
    ck.pop("model", None)
    mpath = out / "metrics.jsonl"
    history = [json.loads(ln) for ln in mpath.read_text().splitlines() if ln.strip()] if mpath.exists() else []
    atomic.write_text(out / "model-card.md", render(ck, history))
    return out / "model-card.md"
