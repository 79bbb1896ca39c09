"""onnxruntime-web runtime: runs an ONNX model in onnxruntime-web's WASM backend under Node.

The browser page of the wasm target uses exactly these .wasm binaries, so agreement here is agreement in the
browser. A long-lived Node process (``ortweb_runner.mjs``) loads the model once and answers framed binary requests
on stdin/stdout, so verifying thousands of test images costs one process start, not one per image.

Usage::

    rt = OrtWebRuntime()
    ok, why = rt.available()
    with rt.load("model.onnx", threads=1) as sess:
        logits = sess.run(x)            # float32 [N,1,S,S] -> float32 [N,C]
        sess.latency(x[:1], runs=50)    # {"p50_ms": ..., "p95_ms": ...}, timed inside Node
"""

import collections
import json
import os
import shutil
import struct
import subprocess
import threading
from pathlib import Path

import numpy as np

from kanjiedge.errors import UserError
from kanjiedge.export.base import (Capability, Runtime, RuntimeFailure, Session, ThreadPolicy, register_exporter,
                                   register_runtime)
from kanjiedge.ortweb_files import find_dist, missing_files

NAME = "onnxruntime-web"
RUNNER = Path(__file__).with_name("ortweb_runner.mjs")
CHUNK = 512  # images per request: bounds the memory of one frame (512*64*64*4 B = 8 MiB)


class OrtWebError(RuntimeFailure):
    """The Node process failed to load or run a model; the message includes Node's own error."""


def find_node():
    """Path of the `node` executable ($KANJIEDGE_NODE, else PATH), or None."""
    return os.environ.get("KANJIEDGE_NODE") or shutil.which("node")


def _check_setup():
    """(node, dist) or raise UserError saying what is missing and how to get it."""
    node = find_node()
    if not node:
        raise UserError("onnxruntime-web: `node` not found on PATH (install Node.js >= 18 or set KANJIEDGE_NODE)")
    dist = find_dist()
    if dist is None:
        raise UserError("onnxruntime-web: node_modules/onnxruntime-web not found (run `npm ci` in the project root "
                        "or set KANJIEDGE_ORTWEB_DIST to its dist folder)")
    missing = missing_files(dist)
    if missing:
        raise UserError(f"onnxruntime-web: {dist} lacks {', '.join(missing)} (reinstall with `npm ci`)")
    return node, dist


# ort-web tensor type -> numpy dtype (little-endian, as WASM memory is).
_DTYPES = {"float32": np.dtype("<f4"), "float16": np.dtype("<f2")}


def _input_info(model_path):
    """(numpy dtype, static batch or None) of the model's first input; fp16 graphs may take float16 input."""
    import onnx  # deferred: only needed when a model is loaded

    try:
        model = onnx.load(str(model_path), load_external_data=False)
    except Exception as err:  # protobuf DecodeError and friends
        raise UserError(f"{model_path}: not a readable ONNX file ({type(err).__name__}: {err})") from None
    tensor_type = model.graph.input[0].type.tensor_type
    dtype = _DTYPES["float16"] if tensor_type.elem_type == onnx.TensorProto.FLOAT16 else _DTYPES["float32"]
    batch = tensor_type.shape.dim[0]
    return dtype, (batch.dim_value if batch.HasField("dim_value") else None)


def _encode(header, payload=b""):
    """One frame: uint32 header length, JSON header, uint32 payload length, payload."""
    head = json.dumps(header).encode()
    return struct.pack("<I", len(head)) + head + struct.pack("<I", len(payload)) + payload


class OrtWebSession(Session):
    """A model loaded in a Node onnxruntime-web process. Use as a context manager or call close()."""

    def __init__(self, node, dist, model_path, threads):
        self.model_path = str(model_path)
        self._in_dtype, self._static_batch = _input_info(model_path)
        self._stderr = collections.deque(maxlen=40)
        self._proc = subprocess.Popen([node, str(RUNNER), str(dist), self.model_path, str(threads)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)
        self._drain.start()
        ready, _ = self._recv()
        self.input_name, self.output_name = ready["inputs"][0], ready["outputs"][0]

    def _read_stderr(self):
        # Drained on a thread so a chatty Node process can never block on a full stderr pipe.
        for line in self._proc.stderr:
            self._stderr.append(line.decode("utf-8", "replace").rstrip())

    def _fail(self, what):
        tail = " | ".join(list(self._stderr)[-5:])
        raise OrtWebError(f"{self.model_path}: onnxruntime-web {what}" + (f" (node stderr: {tail})" if tail else ""))

    def _read_exact(self, n):
        data = self._proc.stdout.read(n) if n else b""
        if len(data) != n:
            self._proc.wait(timeout=5)
            self._fail(f"process exited unexpectedly (code {self._proc.returncode})")
        return data

    def _recv(self):
        """Read one reply frame -> (header dict, payload bytes); raises OrtWebError on {"ok": false}."""
        (hlen,) = struct.unpack("<I", self._read_exact(4))
        header = json.loads(self._read_exact(hlen))
        (plen,) = struct.unpack("<I", self._read_exact(4))
        payload = self._read_exact(plen)
        if not header.get("ok"):
            self._fail(f"error: {header.get('error')}")
        return header, payload

    def _request(self, header, payload=b""):
        if self._proc is None or self._proc.poll() is not None:
            self._fail("session is closed")
        try:
            self._proc.stdin.write(_encode(header, payload))
            self._proc.stdin.flush()
        except BrokenPipeError:
            self._fail("process closed its input")
        return self._recv()

    def _run_chunk(self, x):
        if self._static_batch and len(x) != self._static_batch:
            # Static-batch graph: zero-pad the request to exactly `batch` images and drop the padding's logits.
            pad = np.zeros((self._static_batch - len(x), *x.shape[1:]), x.dtype)
            return self._run_chunk(np.concatenate([x, pad]))[:len(x)]
        x = np.ascontiguousarray(x, dtype=self._in_dtype)
        header, payload = self._request({"cmd": "run", "shape": list(x.shape), "dtype": self._in_dtype.name},
                                        x.tobytes())
        out = np.frombuffer(payload, dtype=_DTYPES.get(header["dtype"], "<f4"))
        return out.astype(np.float32).reshape(header["shape"])

    def run(self, x):
        """Logits for a batch.

        Args:
            x: float32 array [N,1,S,S] (ink high, scaled to 0..1).

        Returns:
            float32 array [N,C].
        """
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"expected input [N,1,S,S], got shape {x.shape}")
        step = self._static_batch or CHUNK
        return np.concatenate([self._run_chunk(x[i:i + step]) for i in range(0, len(x), step)])

    def times_ms(self, x1, runs, warmup):
        """Per-run milliseconds timed inside Node (no IPC in the numbers); `latency()` summarises them."""
        x1 = np.ascontiguousarray(x1, dtype=self._in_dtype)
        header, _ = self._request({"cmd": "bench", "shape": list(x1.shape), "dtype": self._in_dtype.name,
                                   "runs": runs, "warmup": warmup}, x1.tobytes())
        return list(header["ms"])

    def close(self):
        """Ask Node to exit; kill it if it does not within a few seconds."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None:
                proc.stdin.write(_encode({"cmd": "quit"}))
                proc.stdin.close()
                proc.wait(timeout=5)
        except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing useful left to do
            pass


@register_runtime(NAME)
class OrtWebRuntime(Runtime):
    """onnxruntime-web (WASM execution provider) under Node."""

    capability = Capability(precisions=("fp32", "fp16", "int8"), quant_formats=("QDQ", "QOperator"),
                            quant_methods=("static", "dynamic"), max_opset=21, custom_domains=True,
                            note="onnxruntime-web WASM backend under Node")
    threads = ThreadPolicy(fixed=1, bench=(1,))  # one WASM thread: what a page without cross-origin isolation gets
    snippet = '''// browser / Node: npm install onnxruntime-web
import * as ort from "onnxruntime-web";
const session = await ort.InferenceSession.create("model.onnx", {executionProviders: ["wasm"]});
const x = new ort.Tensor("float32", pixels /* Float32Array S*S, ink=1 */, [1, 1, S, S]);
const {logits} = await session.run({image: x});'''

    def available(self):
        """(True, "") when node and the npm package are present, else (False, reason)."""
        try:
            node, dist = _check_setup()
        except UserError as err:
            return False, str(err)
        return True, f"{node}, {dist}"

    def load(self, model_path, threads=None):
        """Start a Node process serving `model_path` with `threads` WASM threads (default 1)."""
        node, dist = _check_setup()
        if not Path(model_path).is_file():
            raise UserError(f"{model_path}: no such model file")
        return OrtWebSession(node, dist, Path(model_path).resolve(), threads or 1)


@register_exporter("web")
def web_page(ctx):
    """Target extra "web": the drawing page for the shipped model.onnx in `<artifact>/web/` (kanjiedge.webpage).

    Labels and preprocessing are read from the model's metadata, so the page sees exactly what was verified.
    """
    from kanjiedge.webpage import emit_webpage, summary

    model = ctx.files[ctx.profile.precisions[0]]
    ctx.log(f"web page for {model.name} -> {ctx.out / 'web'}")
    files = emit_webpage(model, out_dir=ctx.out / "web", data=ctx.data)
    ctx.results["web"] = summary(ctx.out / "web")  # transfer sizes and the calibrated threshold, for the report
    return files
