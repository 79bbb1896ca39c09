"""The wasm target's drawing page: writes a self-contained static folder (index.html + JS + model + the
onnxruntime-web files) where a person draws a character and sees the top-5 candidates, computed in the browser.

    kanjiedge webpage artifacts/edge/wasm/model.onnx --out artifacts/edge/wasm/web [--serve]

Labels and preprocessing come from the ONNX file's `kanjiedge.labels` / `kanjiedge.preprocess` metadata unless
given. The folder works offline from any static server (`python -m http.server -d DIR`); `serve()` is a small
local server used by `--serve` and by the Chromium test.
"""

import argparse
import contextlib
import functools
import http.server
import json
import shutil
import threading
from pathlib import Path

from kanjiedge import outputs
from kanjiedge.atomic import atomic_path, write_json
from kanjiedge.errors import UserError

WEB_DIR = Path(__file__).with_name("web")
PAGE_FILES = ("index.html", "app.js", "preprocess.js", "style.css")
# onnxruntime-web files the page loads: the ES-module API, the WASM glue it imports, the WASM binary.
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
MIME = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
        ".onnx": "application/octet-stream", ".json": "application/json", ".css": "text/css"}


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
    if preprocess.get("ink", "high") != "high" or preprocess.get("normalize", "moment") not in ("none", "bbox",
                                                                                                 "moment"):
        raise UserError(f"{model_onnx}: the page cannot reproduce preprocessing {preprocess}")
    return list(labels), dict(preprocess)


def _copy(src, dst):
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    return dst


def emit_webpage(model_onnx, labels=None, preprocess=None, out_dir="web"):
    """Write the drawing page for `model_onnx` into `out_dir`.

    Args:
        model_onnx: ONNX classifier, input float32 [N,1,S,S] (ink high), output logits [N,C].
        labels: list of C characters (index = class); None: the model's `kanjiedge.labels` metadata.
        preprocess: {"size", "normalize", "scale", "ink"} as in checkpoints; None: `kanjiedge.preprocess` metadata.
        out_dir: folder to create or update.

    Returns:
        list[Path] of the files written.

    Raises:
        UserError: missing model, labels, preprocessing, or onnxruntime-web files.
    """
    from kanjiedge.export.ortweb import find_dist

    model_onnx, out = Path(model_onnx), Path(out_dir)
    if not model_onnx.is_file():
        raise UserError(f"{model_onnx}: no such model file")
    labels, preprocess = _labels_and_preprocess(model_onnx, labels, preprocess)
    dist = find_dist()
    if dist is None or not all((dist / f).is_file() for f in ORT_FILES):
        raise UserError(f"onnxruntime-web files {', '.join(ORT_FILES)} not found (run `npm ci` in the project root "
                        "or set KANJIEDGE_ORTWEB_DIST)")
    out.mkdir(parents=True, exist_ok=True)
    written = [_copy(WEB_DIR / f, out / f) for f in PAGE_FILES]
    written += [_copy(dist / f, out / f) for f in ORT_FILES]
    written.append(_copy(model_onnx, out / "model.onnx"))
    write_json(out / "labels.json", labels)
    write_json(out / "preprocess.json", preprocess)
    return written + [out / "labels.json", out / "preprocess.json"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the MIME types module scripts and WASM streaming need; no request log on stderr."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME}

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder, host="127.0.0.1", port=0):
    """Serve `folder` over HTTP on a background thread; yields the base URL ("http://127.0.0.1:PORT/").

    port=0 picks a free port.
    """
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def cli(argv):
    """`kanjiedge webpage MODEL --out DIR [--serve]`."""
    ap = argparse.ArgumentParser(prog="kanjiedge webpage", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, help="ONNX model with kanjiedge.labels / kanjiedge.preprocess metadata")
    ap.add_argument("--out", type=Path, required=True, help="folder to write the page into")
    ap.add_argument("--labels", type=Path, help="labels.json (list of characters) instead of the model's metadata")
    ap.add_argument("--preprocess", type=Path, help="preprocess.json instead of the model's metadata")
    ap.add_argument("--serve", action="store_true", help="then serve the folder on 127.0.0.1 until Ctrl+C")
    ap.add_argument("--port", type=int, default=8000, help="port for --serve (default 8000)")
    args = ap.parse_args(argv)
    labels = json.loads(args.labels.read_text(encoding="utf-8")) if args.labels else None
    pre = json.loads(args.preprocess.read_text(encoding="utf-8")) if args.preprocess else None
    with outputs.staged(args.out, "webpage", [args.model, args.labels, args.preprocess]) as tmp:
        files = emit_webpage(args.model, labels, pre, tmp)
    print(f"wrote {len(files)} files to {args.out}")
    if args.serve:
        with serve(args.out, port=args.port) as url:
            print(f"serving {url}  (Ctrl+C to stop)")
            threading.Event().wait()
    return 0
