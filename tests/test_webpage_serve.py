"""What the drawing page is served with: precompressed files (cached by content), the headers of the local server
(Content-Encoding by Accept-Encoding, the type of the uncompressed file, Vary, 304s), and the unsure threshold's
calibration. The page itself in Chromium is tests/test_webpage.py."""

import gzip
import subprocess
import urllib.request

import numpy as np
import pytest

from kanjiedge import confidence, webserve
from kanjiedge.errors import UserError

from test_webpage import centroid_model  # noqa: F401  (the nearest-mean model fixture)

NODE_UNBROTLI = ("const fs = require('fs'), zlib = require('zlib'); "
                 "process.stdout.write(zlib.brotliDecompressSync(fs.readFileSync(0)))")


def unbrotli(data):
    """Brotli-decoded bytes (decoded by Node's zlib)."""
    return subprocess.run(["node", "-e", NODE_UNBROTLI], input=data, check=True, capture_output=True).stdout


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KANJIEDGE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "precompressed"


@pytest.fixture
def site(tmp_path, cache):
    """A folder with a .wasm, a .js and an .html file, precompressed."""
    folder = tmp_path / "site"
    folder.mkdir()
    files = [folder / "a.wasm", folder / "b.js", folder / "index.html"]
    files[0].write_bytes(b"\0asm\1\0\0\0" + bytes(range(256)) * 64)
    files[1].write_text("export const x = 1;\n" * 200)
    files[2].write_text("<!doctype html><title>t</title>" + "<p>hello</p>" * 100)
    webserve.precompress(files, quality=5)
    return folder


def test_precompressed_files_decode_to_the_originals(site, cache):
    for name in ("a.wasm", "b.js", "index.html"):
        raw = (site / name).read_bytes()
        assert gzip.decompress((site / f"{name}.gz").read_bytes()) == raw
        assert unbrotli((site / f"{name}.br").read_bytes()) == raw
        assert (site / f"{name}.br").stat().st_size < len(raw)
    assert len(list(cache.iterdir())) == 6  # one per file and encoding, keyed by content


def test_precompress_reuses_the_cache(site, cache):
    cached = next(p for p in cache.iterdir() if p.suffix == ".br")
    cached.write_bytes(b"marker")  # a cache hit copies this instead of compressing again
    (site / "a.wasm.br").unlink()
    webserve.precompress([site / "a.wasm", site / "b.js", site / "index.html"], quality=5)
    assert b"marker" in [(site / f"{n}.br").read_bytes() for n in ("a.wasm", "b.js", "index.html")]


def _get(url, encoding=None, since=None):
    req = urllib.request.Request(url, headers={k: v for k, v in (("Accept-Encoding", encoding),
                                                                   ("If-Modified-Since", since)) if v})
    try:
        with urllib.request.urlopen(req) as res:
            return res.status, {k.lower(): v for k, v in res.headers.items()}, res.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, b""


@pytest.mark.parametrize("accept,encoding", [("gzip, deflate, br", "br"), ("gzip", "gzip"), (None, None),
                                             ("br;q=0, gzip", "gzip"), ("identity", None)])
def test_server_negotiates_the_encoding(site, accept, encoding):
    log = []
    with webserve.serve(site, log=log) as url:
        status, headers, body = _get(url + "a.wasm", accept)
    assert status == 200 and headers.get("content-encoding") == encoding
    assert headers["content-type"] == "application/wasm"  # the type of a.wasm, also when a.wasm.br is sent
    assert headers["vary"] == "Accept-Encoding" and headers["cache-control"] == "no-cache"
    suffix = {"br": ".br", "gzip": ".gz", None: ""}[encoding]
    assert body == (site / f"a.wasm{suffix}").read_bytes() and int(headers["content-length"]) == len(body)
    assert log == [("/a.wasm", encoding)]


def test_server_index_types_304_and_404(site):
    with webserve.serve(site) as url:
        status, headers, body = _get(url, "br")
        assert (status, headers["content-encoding"]) == (200, "br")
        assert headers["content-type"].startswith("text/html")
        assert unbrotli(body) == (site / "index.html").read_bytes()
        assert _get(url + "b.js", "gzip")[1]["content-type"] == "text/javascript"
        again = _get(url + "b.js", "gzip", since=headers["last-modified"])
        assert again[0] == 304 and again[2] == b""
        assert _get(url + "missing.js", "br")[0] == 404


def test_server_never_sends_a_stale_variant(site):
    import os

    stat = (site / "b.js").stat()
    os.utime(site / "b.js.br", (stat.st_atime, stat.st_mtime - 10))  # b.js rewritten after its .br
    with webserve.serve(site, encodings=("br",)) as url:
        status, headers, body = _get(url + "b.js", "gzip, br")
    assert headers.get("content-encoding") is None and body == (site / "b.js").read_bytes()


def test_server_can_be_limited_to_some_encodings(site):
    with webserve.serve(site, encodings=("gzip",)) as url:
        assert _get(url + "b.js", "br, gzip")[1]["content-encoding"] == "gzip"
    with webserve.serve(site, encodings=()) as url:
        assert "content-encoding" not in _get(url + "b.js", "br, gzip")[1]


def test_accepted_parses_quality_values():
    assert webserve.accepted("gzip, deflate, br") == {"gzip", "deflate", "br"}
    assert webserve.accepted("br;q=0, gzip;q=0.5, *;q=0") == {"gzip"}
    assert webserve.accepted(None) == set()


# ---------------------------------------------------------------- the unsure threshold


def test_calibrate_picks_the_lowest_threshold_reaching_the_target():
    # 10 answers by falling confidence; the 4th and 8th are wrong
    p = np.array([0.99, 0.97, 0.95, 0.93, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6])
    ok = np.array([1, 1, 1, 0, 1, 1, 1, 0, 1, 1], bool)
    # precision of the k most confident: 1, 1, 1, .75, .8, .833, .857, .75, .778, .8
    got = confidence.calibrate(p, ok, target=0.85, floor=0.0)
    assert got["threshold"] == 0.8 and got["calibrated"] == 0.8
    assert got["coverage"] == 0.7 and got["precision"] == pytest.approx(6 / 7, abs=1e-6)
    assert confidence.calibrate(p, ok, target=1.0, floor=0.0)["threshold"] == 0.95
    assert confidence.calibrate(p, ok, target=0.5, floor=0.0)["threshold"] == 0.6  # everything accepted
    floored = confidence.calibrate(p, ok, target=0.5, floor=0.65)
    assert floored["threshold"] == 0.65 and floored["calibrated"] == 0.6


def test_calibrate_never_reaching_the_target_is_never_sure():
    got = confidence.calibrate([0.9, 0.8], [False, True], target=0.99)
    assert got["threshold"] == 1.0 and got["precision"] is None and got["coverage"] == 0.0


def test_calibrate_rejects_mismatched_input():
    with pytest.raises(ValueError, match="equal-length"):
        confidence.calibrate([0.5, 0.6], [True])


def test_calibrate_on_dataset_uses_the_validation_split(centroid_model, tiny_dataset):
    from kanjiedge import dataset

    model, classes = centroid_model
    data = dataset.load(tiny_dataset)
    got = confidence.calibrate_on_dataset(model, data, [c["char"] for c in classes], 64)
    assert got["split"] == "val" and got["samples"] == len(data.split_indices("val"))
    assert got["data"].startswith("synthetic writers (val split of")
    assert 0.5 <= got["threshold"] <= 1.0
    # a model whose labels are all shifted by one is never right: no threshold reaches the target
    wrong = confidence.calibrate_on_dataset(model, data, [c["char"] for c in classes[1:] + classes[:1]], 64)
    assert wrong["accuracy"] == 0.0 and wrong["threshold"] == 1.0


def test_calibrate_on_an_empty_split(centroid_model, tiny_dataset):
    from kanjiedge import dataset

    data = dataset.load(tiny_dataset)
    data.split_indices = lambda name: np.zeros(0, np.int64)
    with pytest.raises(UserError, match="val split is empty"):
        confidence.calibrate_on_dataset(centroid_model[0], data, [], 64)


def test_report_says_what_the_page_weighs_and_what_calibrated_it():
    from bench.render import web_page_text

    unsure = confidence.calibrate([0.99, 0.9, 0.6, 0.4], [True, True, False, True], target=0.99)
    unsure.update(data="synthetic writers (val split of x)", split="val")
    web = {"transfer_bytes": {"raw": 15_700_000, "gz": 5_000_000, "br": 3_600_000}, "files": 11, "unsure": unsure}
    load = {"throttle": "20 Mbit/s, 40 ms", "model": "m.onnx", "results": {"brotli": {
        "cold": {"transfer_bytes": 3.6e6, "ready_ms": 2900, "runs": [{}, {}, {}]},
        "repeat": {"transfer_bytes": 0, "ready_ms": 900, "runs": [{}, {}, {}]}}}}
    text = web_page_text({"targets": [{"target": "wasm", "verify": {"extra_results": {"web": web}}}],
                          "webload": load})
    assert "3.60 MB to transfer with brotli" in text and "5.00 MB with gzip" in text
    assert "probability of 0.900" in text and "synthetic writers (val split of x)" in text
    assert "| brotli | cold | 3.60 | 2.90 |" in text and "median of 3 runs" in text
    assert web_page_text({"targets": [{"target": "rpi", "verify": {}}]}) == ""


def test_bench_counts_the_cpu_of_a_whole_process_tree():
    import os
    import sys

    from bench.webload import cpu_seconds

    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\ninput()"
    child = subprocess.Popen([sys.executable, "-c", burn], stdin=subprocess.PIPE)
    try:
        import time

        time.sleep(0.1)
        before = cpu_seconds(os.getpid())
        deadline = time.monotonic() + 20
        while cpu_seconds(child.pid) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cpu_seconds(child.pid) >= 0.3  # the child's own work
        assert cpu_seconds(os.getpid()) - before >= 0.2  # and it is counted in its parent's tree
    finally:
        child.communicate(b"\n")
