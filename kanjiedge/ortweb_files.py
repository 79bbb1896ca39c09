"""Where the onnxruntime-web files are, and which of them kanjiedge uses: one list shared by the Node runner that
verifies the wasm target (`kanjiedge.export.ortweb`) and the drawing page (`kanjiedge.webpage`), so the browser
downloads exactly the binary that was verified.

The npm package (1.30) ships four WASM builds; all are "simd-threaded" (with one thread they run single-threaded,
no cross-origin isolation needed). Sizes as installed, brotli -q 11 in brackets (`python -m bench.webload --sizes`):

    ort-wasm-simd-threaded.wasm          14.2 MB (2.30 MB)  plain CPU build: runs int8 QDQ  <- used
    ort-wasm-simd-threaded.jspi.wasm     16.8 MB            + WebGPU via JS promise integration
    ort-wasm-simd-threaded.asyncify.wasm 26.8 MB            + WebGPU via asyncify
    ort-wasm-simd-threaded.jsep.wasm     28.3 MB            + WebGPU/WebNN (JSEP)

The plain build is the smallest that runs the model; no non-threaded or non-SIMD build is published any more.
"""

import os
from pathlib import Path

# The ES-module API (WASM backend only), the Emscripten glue it imports, the WASM binary.
RUNTIME_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
WASM_BUILDS = ("ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.jspi.wasm",
               "ort-wasm-simd-threaded.asyncify.wasm", "ort-wasm-simd-threaded.jsep.wasm")


def find_dist():
    """The onnxruntime-web ``dist`` folder: $KANJIEDGE_ORTWEB_DIST, else node_modules/ above cwd or the package."""
    env = os.environ.get("KANJIEDGE_ORTWEB_DIST")
    if env:
        return Path(env)
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            dist = folder / "node_modules" / "onnxruntime-web" / "dist"
            if dist.is_dir():
                return dist
    return None


def missing_files(dist):
    """The RUNTIME_FILES absent from `dist` (all of them when dist is None)."""
    return [f for f in RUNTIME_FILES if dist is None or not (Path(dist) / f).is_file()]
