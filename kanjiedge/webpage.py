"""The wasm target's drawing page: writes a self-contained static folder (index.html + JS + model + the
onnxruntime-web files, each also precompressed as .br and .gz) where a person draws a character and sees the top-5
candidates, computed in the browser.

    kanjiedge webpage artifacts/edge/wasm/model.onnx --out artifacts/edge/wasm/web [--data DATASET] [--serve]

Labels and preprocessing come from the ONNX file's `kanjiedge.labels` / `kanjiedge.preprocess` metadata unless
given. With --data the "unsure" threshold is calibrated on the dataset's validation split (kanjiedge.confidence);
`kanjiedge edge wasm` always does. Everything the page needs at start is in config.json. The folder works offline
from any static server (README.md in it says how to serve the precompressed files); `--serve` runs
kanjiedge.webserve, which does.
"""

import argparse
import hashlib
import json
import shutil
import threading
from pathlib import Path

from kanjiedge import confidence, native, ortweb_files, outputs, webserve
from kanjiedge.atomic import atomic_path, write_json, write_text
from kanjiedge.errors import UserError

WEB_DIR = Path(__file__).with_name("web")
# normalize modes: the C codec's, which web/preprocess.js reproduces exactly (tests/test_webpage.py)
PAGE_MODES = tuple(native.MODES)
PAGE_FILES = ("index.html", "app.js", "loader.js", "preprocess.js", "style.css", "README.md")
SW_FILE = "sw.js"  # a template: VERSION and ASSETS are filled in
serve = webserve.serve  # kept here: the page and its server are used together (tests, bench)


def _metadata(model_onnx):
    """The ONNX file's metadata_props as a dict (raises UserError naming the file if it is not ONNX)."""
    import onnx

    try:
        model = onnx.load(str(model_onnx), load_external_data=False)
    except Exception as err:  # protobuf DecodeError and friends
        raise UserError(f"{model_onnx}: not a readable ONNX file ({type(err).__name__}: {err})") from None
    return {p.key: p.value for p in model.metadata_props}


def _labels_and_preprocess(model_onnx, labels, preprocess):
    """Fill labels / preprocess from the model's metadata where not given; check they are usable."""
    meta = _metadata(model_onnx) if labels is None or preprocess is None else {}
    if labels is None:
        labels = json.loads(meta.get("kanjiedge.labels", "null") or "null")
    if preprocess is None:
        preprocess = json.loads(meta.get("kanjiedge.preprocess", "null") or "null")
    if not labels:
        raise UserError(f"{model_onnx}: no class labels given and no kanjiedge.labels metadata in the model")
    if not preprocess or "size" not in preprocess:
        raise UserError(f"{model_onnx}: no preprocessing given and no kanjiedge.preprocess metadata in the model")
    if preprocess.get("ink", "high") != "high" or preprocess.get("normalize", "moment") not in PAGE_MODES:
        raise UserError(f"{model_onnx}: the page cannot reproduce preprocessing {preprocess}")
    return list(labels), dict(preprocess)


def _copy(src, dst):
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    return dst


def _unsure(model_onnx, labels, preprocess, data, threshold):
    """The page's "unsure" setting: a given threshold, one calibrated on `data`'s validation split, or the default."""
    if threshold is not None:
        if not 0 <= threshold <= 1:
            raise UserError(f"unsure threshold {threshold}: must be a probability between 0 and 1")
        return {**confidence.uncalibrated(threshold), "note": "set by the caller (--threshold), not calibrated"}
    if data is None:
        return confidence.uncalibrated()
    if isinstance(data, (str, Path)):
        from kanjiedge.dataset import load

        data = load(data)
    return confidence.calibrate_on_dataset(model_onnx, data, labels, int(preprocess["size"]))


def _sizes(files):
    """{name: {"raw", "br", "gz"}} bytes of each file and its precompressed versions (raw only if none)."""
    out = {}
    for f in files:
        out[f.name] = {"raw": f.stat().st_size}
        for encoding, ext in webserve.ENCODINGS.items():
            variant = f.with_name(f.name + ext)
            if variant.is_file():
                out[f.name]["br" if encoding == "br" else "gz"] = variant.stat().st_size
    return out


def _service_worker(out, files):
    """Write sw.js with the page's version (hash of its files) and the list of files it caches."""
    digest = hashlib.sha256()
    for f in sorted(files):
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    assets = ["./"] + sorted(f.name for f in files if f.name != "README.md")
    text = (WEB_DIR / SW_FILE).read_text(encoding="utf-8")
    text = text.replace("__VERSION__", digest.hexdigest()[:16]).replace("__ASSETS__", json.dumps(assets))
    write_text(out / SW_FILE, text)
    return out / SW_FILE


def emit_webpage(model_onnx, labels=None, preprocess=None, out_dir="web", data=None, threshold=None,
                 brotli_quality=webserve.BROTLI_QUALITY):
    """Write the drawing page for `model_onnx` into `out_dir`.

    Args:
        model_onnx: ONNX classifier, input float32 [N,1,S,S] (ink high), output logits [N,C].
        labels: list of C characters (index = class); None: the model's `kanjiedge.labels` metadata.
        preprocess: {"size", "normalize", "scale", "ink"} as in checkpoints; None: `kanjiedge.preprocess` metadata.
        out_dir: folder to create or update (files this function does not write are left alone).
        data: dataset (folder or kanjiedge.dataset.Dataset) whose validation split calibrates the unsure threshold.
        threshold: a fixed unsure threshold instead (top-1 probability below it: the page says it is unsure).
        brotli_quality: 0-11; lower only to save time in tests (the cache makes rebuilds fast anyway).

    Returns:
        list[Path] of the files written (with their .br / .gz versions).

    Raises:
        UserError: missing model, labels, preprocessing, onnxruntime-web files or Node (for brotli).
    """
    model_onnx, out = Path(model_onnx), Path(out_dir)
    if not model_onnx.is_file():
        raise UserError(f"{model_onnx}: no such model file")
    labels, preprocess = _labels_and_preprocess(model_onnx, labels, preprocess)
    dist = ortweb_files.find_dist()
    if ortweb_files.missing_files(dist):
        raise UserError(f"onnxruntime-web files {', '.join(ortweb_files.missing_files(dist))} not found (run "
                        "`npm ci` in the project root or set KANJIEDGE_ORTWEB_DIST)")
    unsure = _unsure(model_onnx, labels, preprocess, data, threshold)
    out.mkdir(parents=True, exist_ok=True)
    files = [_copy(WEB_DIR / f, out / f) for f in PAGE_FILES]
    files += [_copy(dist / f, out / f) for f in ortweb_files.RUNTIME_FILES]
    files.append(_copy(model_onnx, out / "model.onnx"))
    heavy = webserve.precompress(files, brotli_quality)
    config = {"labels": labels, "preprocess": preprocess, "unsure": unsure,
              "runtime": {"wasm": ortweb_files.RUNTIME_FILES[2], "files": list(ortweb_files.RUNTIME_FILES)},
              "sizes": _sizes([f for f in files if f.suffix in (".wasm", ".onnx")])}
    write_json(out / "config.json", config)
    files.append(out / "config.json")
    files.append(_service_worker(out, files))
    small = webserve.precompress(files[-2:], brotli_quality)
    return files + heavy + small


def summary(out_dir):
    """What the report says about a written page: bytes to transfer per encoding and the unsure threshold."""
    out = Path(out_dir)
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    names = [*PAGE_FILES[:-1], *ortweb_files.RUNTIME_FILES, "model.onnx", "config.json", SW_FILE]  # not README
    sizes = _sizes([out / n for n in names])
    transfer = {enc: sum(s.get(enc, s["raw"]) for s in sizes.values()) for enc in ("raw", "gz", "br")}
    return {"transfer_bytes": transfer, "files": len(names), "unsure": config["unsure"]}


def cli(argv):
    """`kanjiedge webpage MODEL --out DIR [--data DATASET | --threshold P] [--serve]`."""
    ap = argparse.ArgumentParser(prog="kanjiedge webpage", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, help="ONNX model with kanjiedge.labels / kanjiedge.preprocess metadata")
    ap.add_argument("--out", type=Path, required=True, help="folder to write the page into")
    ap.add_argument("--labels", type=Path, help="labels.json (list of characters) instead of the model's metadata")
    ap.add_argument("--preprocess", type=Path, help="preprocess.json instead of the model's metadata")
    how = ap.add_mutually_exclusive_group()
    how.add_argument("--data", type=Path, help="dataset folder: calibrate the unsure threshold on its val split")
    how.add_argument("--threshold", type=float, help="fixed unsure threshold (top-1 probability)")
    ap.add_argument("--serve", action="store_true", help="then serve the folder on 127.0.0.1 until Ctrl+C")
    ap.add_argument("--port", type=int, default=8000, help="port for --serve (default 8000)")
    args = ap.parse_args(argv)
    labels = json.loads(args.labels.read_text(encoding="utf-8")) if args.labels else None
    pre = json.loads(args.preprocess.read_text(encoding="utf-8")) if args.preprocess else None
    with outputs.staged(args.out, "webpage", [args.model, args.labels, args.preprocess, args.data]) as tmp:
        files = emit_webpage(args.model, labels, pre, tmp, data=args.data, threshold=args.threshold)
    info = summary(args.out)
    print(f"wrote {len(files)} files to {args.out}; transfer {info['transfer_bytes']['br'] / 1e6:.2f} MB (brotli), "
          f"{info['transfer_bytes']['gz'] / 1e6:.2f} MB (gzip); unsure below top-1 {info['unsure']['threshold']}")
    if args.serve:
        with webserve.serve(args.out, port=args.port) as url:
            print(f"serving {url}  (Ctrl+C to stop)")
            threading.Event().wait()
    return 0
