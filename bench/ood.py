"""Out-of-distribution check: accuracy on glyphs of Debian fonts never used in training.

    python -m bench.ood --model artifacts/models/cnn [--model artifacts/edge/rpi/model.onnx ...] [--json]

The faces are kanjiedge.fonts' OOD split (their glyph designs are in no training face; the fonts reserved for
independent checks are never opened). Each face writes the model's characters as genuine ETL records laid out
like real ones (kanjiedge.fontwriter, `plain`: measured size, position, stroke width and levels, no writer
distortion): ETL9G records for kanji and hiragana, ETL6 / ETL1 (M-type) records for katakana, digits, capitals
and symbols. They are read back by the same decoder and normalizer as any ETL file (`kanjiedge evaluate`), and
scored with a per-script breakdown, the cross-script look-alike errors in their own column, and the most confused
pairs. `make bench` adds the result to bench.md as its own section (`measure`, `markdown`).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from kanjiedge import breakdown, charsets, dataname, fonts, fontwriter
from kanjiedge.errors import UserError

FORMATS = ("etl9g", "etl6", "etl1")  # first format whose set holds a character writes it


def write_set(classes, out, seed: int = 0) -> list[str]:
    """OOD ETL files for the characters in `classes` under `out`; returns the names of the faces used.

    Raises:
        UserError: no OOD face installed, or none of `classes` is in a format's character set.
    """
    faces = fonts.require(fonts.ood_fonts(), "out-of-distribution (never trained on)")
    todo, out = set(classes), Path(out)
    for fmt in FORMATS:
        cs = charsets.charset(fontwriter.synth.get_format(fmt).charset)
        chars = "".join(dict.fromkeys(c for c in cs.chars if c in todo))
        if chars:
            fontwriter.write(fmt, faces, out / fmt, seed, chars, plain=True, jobs=None)
            todo -= set(chars)
    if todo == set(classes):
        raise UserError("none of the model's characters is in an ETL character set the font writers cover")
    return [f.name for f in faces]


def evaluate(model, etl_dir) -> dict:
    """top-1/top-5 of one model (.onnx, .pt or model folder) on an OOD folder, with the per-script breakdown."""
    from kanjiedge.evaluate import Predictor, read_etl_dir, score

    pred = Predictor(model)
    images, labels = read_etl_dir(etl_dir, pred)
    res = score(pred, images, labels, progress=False)
    return {"top1": res["top1"], "top5": res["top5"], "n": res["n"], "skipped_unknown": res["skipped_unknown"],
            **res["breakdown"]}


def measure(models: list, work) -> dict:
    """The OOD section of the report for [(label, model path)]; {"ran": False, "why"} when it cannot run."""
    from kanjiedge.evaluate import Predictor

    rows, sets = [], {}  # OOD files are written once per distinct class list
    try:
        for label, path in models:
            classes = tuple(Predictor(path).classes)
            if classes not in sets:
                folder = Path(work) / f"ood{len(sets)}"
                sets[classes] = (folder, write_set(classes, folder))
            rows.append({"model": label, "path": str(path), **evaluate(path, sets[classes][0])})
    except UserError as e:
        return {"ran": False, "data": dataname.FONTS_OOD, "why": str(e)}
    faces = sorted({f for _, names in sets.values() for f in names})
    return {"ran": bool(rows), "data": dataname.FONTS_OOD, "faces": faces, "rows": rows,
            **({} if rows else {"why": "no trained model or built target"})}


def models_of(models_dir: Path, edge_dir: Path, targets: list) -> list:
    """[(label, path)]: every trained architecture's best.pt, then each built target's model.onnx."""
    out = [(f"{b.parent.name} (PyTorch)", b) for b in sorted(Path(models_dir).glob("*/best.pt"))]
    return out + [(f"{t} model.onnx", Path(edge_dir) / t / "model.onnx") for t in targets
                  if (Path(edge_dir) / t / "model.onnx").exists()]


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.2f}"


def markdown(ood: dict) -> str:
    """bench.md section: one row per model, per-script columns, look-alike column, the first model's confusions."""
    head = f"## Out-of-distribution check: {dataname.FONTS_OOD}\n\n"
    if not ood.get("ran"):
        return head + f"Not run: {ood.get('why')}.\n"
    lines = [f"Glyphs of {len(ood['faces'])} Debian font faces never used in training ({', '.join(ood['faces'])}), "
             "laid out like real ETL records and read through the same decoder. Per-script columns are top-1 %. "
             "Cross-script look-alikes (へ/ヘ, カ/力, エ/工, ロ/口, ニ/二, ハ/八, タ/夕, ...) are counted in their own "
             "column; the last column forgives them.", "",
             "| model | data | top-1 % | top-5 % | n | " + " | ".join(breakdown.SCRIPTS) +
             " | cross-script look-alike errors | top-1 forgiving look-alikes % |",
             "|" + "---|" * (7 + len(breakdown.SCRIPTS))]
    for r in ood["rows"]:
        cells = [_pct(r["scripts"][s]["top1"]) if s in r["scripts"] else "–" for s in breakdown.SCRIPTS]
        lines.append(f"| {r['model']} | {dataname.FONTS_OOD} | {_pct(r['top1'])} | {_pct(r['top5'])} | {r['n']:,} | "
                     + " | ".join(cells) + f" | {r['lookalike_errors']} | {_pct(r['top1_lookalike_forgiven'])} |")
    first = ood["rows"][0]
    if first["confused"]:
        lines += ["", f"Most confused ({first['model']}, true->predicted count): "
                  + breakdown.confused_text(first["confused"]) + "."]
    return head + "\n".join(lines) + "\n"


def etl_dir_markdown(targets: list) -> str:
    """bench.md section for the user's ETL files (EVAL_DIR): each target's model.onnx, named by the folder."""
    rows = [t for t in targets if "etl_dir" in t]
    if not rows:
        return ""
    name = dataname.of_etl_dir(rows[0]["etl_dir"]["path"])
    lines = [f"## Accuracy on {name} (EVAL_DIR)", "", "| target | data | top-1 % | top-5 % | n | "
             + " | ".join(breakdown.SCRIPTS) + " | cross-script look-alike errors |", "|" + "---|" * 10]
    for t in rows:
        e = t["etl_dir"]
        if "error" in e:
            lines.append(f"| {t['target']} | {name} | {e['error']} |" + " |" * 7)
            continue
        cells = [_pct(e.get("scripts", {}).get(s, {}).get("top1")) for s in breakdown.SCRIPTS]
        lines.append(f"| {t['target']} | {name} | {_pct(e['top1'])} | {_pct(e['top5'])} | {e['n']:,} | "
                     + " | ".join(cells) + f" | {e.get('lookalike_errors', '–')} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ood", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", required=True, help="model folder, .pt or .onnx (repeatable)")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of markdown")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kanjiedge-ood-") as work:
        res = measure([(m, m) for m in args.model], work)
    print(json.dumps(res, ensure_ascii=False) if args.json else markdown(res))
    return 0 if res.get("ran") else 1


if __name__ == "__main__":
    sys.exit(main())
