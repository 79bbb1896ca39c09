"""Precompressed static files and the small server that serves them the way the drawing page needs.

* `precompress(folder)` writes `F.br` (brotli, quality 11, 16 MiB window) and `F.gz` (gzip -9) next to every
  compressible file F. Brotli comes from Node's zlib (Node is already a requirement of the wasm target; Python's
  standard library has no brotli). Compressing the 14 MB onnxruntime-web binary at quality 11 takes ~50 CPU-s, so
  results are cached in ~/.cache/kanjiedge/precompressed/ ($KANJIEDGE_CACHE overrides) under the sha256 of the
  input and the settings: a rebuild with unchanged files copies them back in milliseconds.
* `serve(folder)` / `kanjiedge webpage --serve`: a `http.server` subclass that answers a request for F with F.br or
  F.gz when the browser accepts that encoding, with `Content-Encoding`, the type of F (application/wasm, so
  `WebAssembly.instantiateStreaming` compiles while downloading), `Vary: Accept-Encoding` (so caches keep the
  encodings apart) and `Cache-Control: no-cache` + Last-Modified (the browser revalidates with one cheap 304 and
  the service worker keeps its own copy for offline use).
"""

import contextlib
import email.utils
import functools
import gzip
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from kanjiedge.atomic import atomic_path
from kanjiedge.errors import UserError

MIME = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
        ".onnx": "application/octet-stream", ".json": "application/json", ".css": "text/css",
        ".html": "text/html; charset=utf-8", ".md": "text/markdown; charset=utf-8"}
COMPRESSIBLE = (".html", ".js", ".mjs", ".css", ".json", ".wasm", ".onnx")
ENCODINGS = {"br": ".br", "gzip": ".gz"}  # preference order when the browser accepts both
BROTLI_QUALITY = 11
BROTLI_LGWIN = 24  # 16 MiB window: the whole WASM binary is one window (-0.2 MB against the 4 MiB default)
# Node's zlib brotli: argv = quality, lgwin, input, output.
NODE_BROTLI = r"""
import fs from "node:fs"; import zlib from "node:zlib";
const [q, w, src, dst] = process.argv.slice(1);
const b = fs.readFileSync(src), C = zlib.constants;
fs.writeFileSync(dst, zlib.brotliCompressSync(b, { params: { [C.BROTLI_PARAM_QUALITY]: +q,
  [C.BROTLI_PARAM_LGWIN]: +w, [C.BROTLI_PARAM_SIZE_HINT]: b.length } }));
"""


def cache_dir():
    """Folder of cached compressed files: $KANJIEDGE_CACHE/precompressed, else ~/.cache/kanjiedge/precompressed."""
    root = os.environ.get("KANJIEDGE_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"),
                                                     "kanjiedge")
    return Path(root) / "precompressed"


def _brotli(src, dst, quality):
    node = os.environ.get("KANJIEDGE_NODE") or shutil.which("node")
    if not node:
        raise UserError(f"{src}: brotli needs Node.js (`node` not on PATH; set KANJIEDGE_NODE)")
    with atomic_path(dst) as tmp:
        subprocess.run([node, "--input-type=module", "-e", NODE_BROTLI, str(quality), str(BROTLI_LGWIN), str(src),
                        str(tmp)], check=True, stdout=subprocess.DEVNULL)


def _gzip(src, dst):
    with atomic_path(dst) as tmp:
        # mtime=0 and no file name: the same input always gives the same bytes (cacheable, reproducible)
        Path(tmp).write_bytes(gzip.compress(Path(src).read_bytes(), compresslevel=9, mtime=0))


def _compressed(src, encoding, quality):
    """Path of the cached `encoding` version of `src`, compressing it first if it is not cached yet."""
    digest = hashlib.sha256(Path(src).read_bytes()).hexdigest()
    key = f"{digest}-br{quality}w{BROTLI_LGWIN}.br" if encoding == "br" else f"{digest}-gz9.gz"
    cached = cache_dir() / key
    if not cached.is_file():
        cached.parent.mkdir(parents=True, exist_ok=True)
        _brotli(src, cached, quality) if encoding == "br" else _gzip(src, cached)
    return cached


def precompress(files, quality=BROTLI_QUALITY):
    """Write F.br and F.gz next to each compressible file F of `files`; returns the paths written."""
    written = []
    for src in map(Path, files):
        if src.suffix not in COMPRESSIBLE:
            continue
        for encoding, ext in ENCODINGS.items():
            dst = src.with_name(src.name + ext)
            with atomic_path(dst) as tmp:
                shutil.copyfile(_compressed(src, encoding, quality), tmp)
            written.append(dst)
    return written


def accepted(header):
    """Encodings the Accept-Encoding header allows (q=0 excluded), e.g. "gzip, deflate, br" -> {"gzip", ...}."""
    out = set()
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        if not name.strip():
            continue
        q = params.strip()[2:] if params.strip().startswith("q=") else "1"
        try:
            if float(q) > 0:
                out.add(name.strip().lower())
        except ValueError:
            continue
    return out


def _not_modified(since, mtime):
    """True when an If-Modified-Since header is at or after the file's modification time (whole seconds)."""
    if not since:
        return False
    try:
        return email.utils.parsedate_to_datetime(since).timestamp() >= int(mtime)
    except (TypeError, ValueError):
        return False


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, precompressed variants chosen by Accept-Encoding; no request log on stderr.

    `encodings`: the encodings this server may use (a bench compares br / gzip / none); `log`: a list that gets
    one (path, encoding) entry per file served, or None.
    """

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME}
    encodings = tuple(ENCODINGS)
    log = None

    def _variant(self, path):
        """(path to send, Content-Encoding or None) for the file at `path`."""
        wanted = accepted(self.headers.get("Accept-Encoding"))
        for encoding in self.encodings:
            candidate = path + ENCODINGS[encoding]
            # a variant older than its file is stale (the file was rewritten without it): never serve that
            fresh = os.path.isfile(candidate) and os.stat(candidate).st_mtime >= os.stat(path).st_mtime
            if encoding in wanted and fresh:
                return candidate, encoding
        return path, None

    def send_head(self):
        path = self.translate_path(self.path)
        if os.path.isdir(path) and self.path.split("?")[0].endswith("/"):
            path = os.path.join(path, "index.html")
        if not os.path.isfile(path) or self.headers.get("Range"):
            return super().send_head()  # directory redirects, 404s and ranges: the plain handler
        sent, encoding = self._variant(path)
        if self.log is not None:
            self.log.append((self.path.split("?")[0], encoding))
        f = open(sent, "rb")
        stat = os.fstat(f.fileno())
        fresh = _not_modified(self.headers.get("If-Modified-Since"), stat.st_mtime)
        self.send_response(304 if fresh else 200)
        self.send_header("Content-Type", self.guess_type(path))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Last-Modified", self.date_time_string(stat.st_mtime))
        if fresh:
            self.end_headers()
            f.close()
            return None
        self.send_header("Content-Length", str(stat.st_size))
        self.end_headers()
        return f

    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    """A browser that leaves (tab closed, navigation) mid-download is no error worth a traceback on stderr."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serve(folder, host="127.0.0.1", port=0, encodings=tuple(ENCODINGS), log=None):
    """Serve `folder` over HTTP on a background thread; yields the base URL ("http://127.0.0.1:PORT/").

    port=0 picks a free port; `encodings` and `log` as in Handler.
    """
    handler_cls = type("BoundHandler", (Handler,), {"encodings": tuple(encodings), "log": log})
    handler = functools.partial(handler_cls, directory=str(folder))
    server = _Server((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
