"""The wasm target's drawing page: the JS preprocessing port against the C codec (in Node), the emitted folder,
and the page itself in headless Chromium: draw KanjiVG strokes with the mouse -> top-1 is the drawn character, and
the page's preprocessing and probabilities equal the Python/onnxruntime ones on the same canvas; files arrive
brotli-compressed; a drawing made before the model is ready is recognised once it is; below the threshold the page
is unsure; on a 390x844 phone everything is on screen; once loaded, the page works offline.
(Load time under throttling is measured by bench/webload.py, not asserted here.)"""

import gzip
import json
import os
import re
import subprocess

import cv2
import numpy as np
import pytest

from kanjiedge import kanjivg, native
from kanjiedge.errors import UserError
from kanjiedge.webpage import WEB_DIR, emit_webpage, serve, summary
from web_driver import Chromium, find_chromium

# Node side of the JS/C comparison: normalize each job's image with preprocess.js, write the outputs back to back.
NODE_NORMALIZE = r"""
import fs from "node:fs";
import { pathToFileURL } from "node:url";
const [mod, inp, outp, spec] = process.argv.slice(1);
const { normalize, clean } = await import(pathToFileURL(mod).href);
const buf = fs.readFileSync(inp);
const outs = [];
let off = 0;
for (const j of JSON.parse(spec)) {
  const img = new Uint8Array(buf.buffer, buf.byteOffset + off, j.h * j.w);
  off += j.h * j.w;
  const out = j.mode === "clean" ? clean(img, j.h, j.w, j.maxlevel)
                                  : normalize(img, j.h, j.w, j.maxlevel, j.oh, j.ow, j.mode);
  outs.push(Buffer.from(out));
}
fs.writeFileSync(outp, Buffer.concat(outs));
"""


def _scribbles(seed=0):
    """Grey stroke images of several frame sizes and level ranges (4-bit, 8-bit, 1-bit), plus an empty one."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(6):
        h, w = ((127, 128), (200, 150), (63, 64))[k % 3]
        maxlevel = (15, 255, 1)[k % 3]
        img = np.zeros((h, w), np.uint8)
        for _ in range(4):
            pts = (rng.random((4, 2)) * [w * 0.8, h * 0.8] + [w * 0.1, h * 0.1]).astype(np.int32)
            cv2.polylines(img, [pts], False, maxlevel, int(rng.integers(1, 6)), cv2.LINE_AA)
        out.append((img, maxlevel))
    return out + [(np.zeros((50, 60), np.uint8), 255)]


def _dirty(seed=0):
    """What the cleaning step acts on: grey noisy paper, faint ink, fragments at the frame edges, specks, plus the
    degenerate frames (1x1, all ink, all paper)."""
    rng = np.random.default_rng(seed)
    out = []
    for k, (img, maxlevel) in enumerate(_scribbles(seed)[:6]):
        h, w = img.shape
        grey = (img.astype(np.int32) * (k + 2) // 8 + rng.normal(maxlevel * 0.08, maxlevel * 0.04, img.shape)
                .round().clip(0, None).astype(np.int32) * (k % 2))
        grey[:, : 1 + k] += maxlevel // 2  # a fragment along the left edge
        grey[rng.integers(0, h, 5), rng.integers(0, w, 5)] = maxlevel  # specks
        out.append((grey.clip(0, maxlevel).astype(np.uint8), maxlevel))
    return out + [(np.full((1, 1), 9, np.uint8), 15), (np.full((20, 30), 255, np.uint8), 255),
                  (np.zeros((50, 60), np.uint8), 255)]


def _js_normalize(jobs, images, tmp_path):
    (tmp_path / "in.bin").write_bytes(b"".join(img.tobytes() for img in images))
    subprocess.run(["node", "--input-type=module", "-e", NODE_NORMALIZE, str(WEB_DIR / "preprocess.js"),
                    str(tmp_path / "in.bin"), str(tmp_path / "out.bin"), json.dumps(jobs)], check=True)
    data, outs = (tmp_path / "out.bin").read_bytes(), []
    for j in jobs:
        n = j["oh"] * j["ow"]
        outs.append(np.frombuffer(data[:n], np.uint8).reshape(j["oh"], j["ow"]))
        data = data[n:]
    return outs


def test_js_normalize_matches_c(tmp_path):
    jobs, images = [], []
    for img, maxlevel in _scribbles():
        for mode in ("none", "bbox", "moment"):
            for oh, ow in ((64, 64), (32, 48)):
                jobs.append({"h": img.shape[0], "w": img.shape[1], "maxlevel": maxlevel, "oh": oh, "ow": ow,
                             "mode": mode})
                images.append(img)
    for job, img, js in zip(jobs, images, _js_normalize(jobs, images, tmp_path)):
        c = native.normalize(img, (job["oh"], job["ow"]), job["mode"], max_level=job["maxlevel"])
        # same IEEE double operations in the same order: equal, level for level
        np.testing.assert_array_equal(js, c, err_msg=str(job))
    assert any(js.any() for js in _js_normalize(jobs[:6], images[:6], tmp_path))  # not trivially empty


def test_js_clean_is_bit_exact_with_c(tmp_path):
    """The cleaning step is integer arithmetic: the JS port gives the C bytes exactly, and so does the whole
    cleaned normalization (window and resampling of the same cleaned image)."""
    jobs, images = [], []
    for img, maxlevel in _dirty() + _scribbles(1):
        job = {"h": img.shape[0], "w": img.shape[1], "maxlevel": maxlevel, "oh": 0, "ow": 0}
        jobs += [{**job, "mode": "clean", "oh": img.shape[0], "ow": img.shape[1]},
                 {**job, "mode": "clean-moment", "oh": 64, "ow": 64}, {**job, "mode": "clean-bbox", "oh": 32, "ow": 48}]
        images += [img] * 3
    outs = _js_normalize(jobs, images, tmp_path)
    for job, img, js in zip(jobs, images, outs):
        if job["mode"] == "clean":
            c = native.clean(img, max_level=job["maxlevel"])
        else:
            c = native.normalize(img, (job["oh"], job["ow"]), job["mode"], max_level=job["maxlevel"])
        np.testing.assert_array_equal(js, c, err_msg=str(job))
    cleaned = [js for job, js in zip(jobs, outs) if job["mode"] == "clean"]
    assert sum(bool(c.any()) for c in cleaned) >= 6  # most frames keep a character
    assert any((c != img).any() and c.any() for c, img in zip(cleaned, images[::3]))  # and cleaning changed them


# ---------------------------------------------------------------- a model that knows the drawn characters


def _centroid_onnx(dataset_dir, path, scale=5.0):
    """Nearest-class-mean classifier fitted on the dataset's train split, as an ONNX Flatten+Gemm graph with the
    kanjiedge metadata (logits = scale (2 x.m_c - |m_c|^2): the same argmax as nearest mean; a small scale makes a
    hesitant model)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from kanjiedge import dataset

    ds = dataset.load(dataset_dir)
    idx = ds.split_indices("train")
    x = np.asarray(ds.images[idx], np.float32).reshape(len(idx), -1) / 255
    means = np.stack([x[ds.labels[idx] == c].mean(0) for c in range(len(ds.classes))])
    w, b = (2 * scale * means).astype(np.float32), (-scale * (means * means).sum(1)).astype(np.float32)
    size = ds.images.shape[1]
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"]), helper.make_node("Gemm", ["flat", "W", "b"], ["logits"],
                                                                            transB=1)],
        "centroid", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", len(ds.classes)])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    meta = {"kanjiedge.labels": json.dumps([c["char"] for c in ds.classes], ensure_ascii=False),
            "kanjiedge.preprocess": json.dumps({"size": size, "normalize": "moment", "scale": 1 / 255, "ink": "high"})}
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, path)
    return path, ds.classes


@pytest.fixture(scope="module")
def centroid_model(tiny_dataset, tmp_path_factory):
    return _centroid_onnx(tiny_dataset, tmp_path_factory.mktemp("web") / "model.onnx")


@pytest.fixture(scope="module", autouse=True)
def compress_cache(tmp_path_factory):
    """Precompressed files cached in a temporary folder, not in ~/.cache."""
    old = os.environ.get("KANJIEDGE_CACHE")
    os.environ["KANJIEDGE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    os.environ.pop("KANJIEDGE_CACHE") if old is None else os.environ.__setitem__("KANJIEDGE_CACHE", old)


def emit(model, out, **kw):
    """The page as tests use it: brotli quality 5 (seconds, not a minute, for the 14 MB runtime)."""
    return emit_webpage(model, out_dir=out, brotli_quality=5, **kw)


@pytest.fixture(scope="module")
def page_dir(centroid_model, tiny_dataset, tmp_path_factory):
    """The page for the nearest-mean model, its threshold calibrated on the tiny dataset's validation split."""
    out = tmp_path_factory.mktemp("page") / "web"
    emit(centroid_model[0], out, data=tiny_dataset)
    return out


def test_emit_webpage_is_self_contained(centroid_model, page_dir):
    model, classes = centroid_model
    config = json.loads((page_dir / "config.json").read_text())
    assert config["labels"] == [c["char"] for c in classes] and config["preprocess"]["normalize"] == "moment"
    for name in ("index.html", "app.js", "loader.js", "preprocess.js", "sw.js", "config.json", "model.onnx",
                 "ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"):
        raw = (page_dir / name).read_bytes()
        assert raw and gzip.decompress((page_dir / f"{name}.gz").read_bytes()) == raw, name
        assert (page_dir / f"{name}.br").stat().st_size < len(raw), name
    assert (page_dir / "model.onnx").read_bytes() == model.read_bytes()
    html = (page_dir / "index.html").read_text()
    assert "http://" not in html and "https://" not in html  # works offline: nothing fetched from elsewhere
    for link in re.findall(r'<link rel="(?:module)?preload" href="([^"]+)"', html):
        assert (page_dir / link).is_file(), link  # every preload names a file of the page


def test_page_config_says_what_the_threshold_was_calibrated_on(page_dir):
    unsure = json.loads((page_dir / "config.json").read_text())["unsure"]
    assert unsure["split"] == "val" and unsure["data"].startswith("synthetic writers (val split of tiny")
    assert 0.5 <= unsure["threshold"] <= 1 and unsure["samples"] > 0
    info = summary(page_dir)
    assert info["unsure"] == unsure and info["transfer_bytes"]["br"] < info["transfer_bytes"]["gz"] \
        < info["transfer_bytes"]["raw"]


def test_service_worker_lists_the_page_files(page_dir):
    sw = (page_dir / "sw.js").read_text()
    assets = json.loads(re.search(r"const ASSETS = (\[.*\]);", sw).group(1))
    assert "__VERSION__" not in sw and assets[0] == "./"
    assert all((page_dir / a).is_file() for a in assets[1:]) and "model.onnx" in assets and "config.json" in assets


def test_a_rebuilt_page_gets_a_new_service_worker(centroid_model, page_dir, tmp_path):
    version = re.compile(r'const VERSION = "([0-9a-f]+)"')
    emit(centroid_model[0], tmp_path / "same", data=None, threshold=0.7)
    emit(centroid_model[0], tmp_path / "other", data=None, threshold=0.8)
    versions = [version.search((d / "sw.js").read_text()).group(1) for d in (page_dir, tmp_path / "same",
                                                                             tmp_path / "other")]
    assert len(set(versions)) == 3  # a different threshold is a different config.json, so a new cache


def test_emit_webpage_needs_labels(tmp_path):
    from tiny_onnx import tiny_models

    with pytest.raises(UserError, match=r"fp32\.onnx: no class labels given"):
        emit_webpage(tiny_models()["fp32"], out_dir=tmp_path)


def test_emit_webpage_rejects_a_threshold_that_is_no_probability(centroid_model, tmp_path):
    with pytest.raises(UserError, match="must be a probability"):
        emit(centroid_model[0], tmp_path, threshold=1.5)


# ---------------------------------------------------------------- the page in headless Chromium

RESULT_READY = ("(() => { const k = window.kanjiedge; return k && k.result && k.result.version === k.version "
                "? k.result : null; })()")


def _strokes_on_pad(page, char):
    """KanjiVG strokes of `char` mapped into the pad (glyph box = central 80 %), in viewport CSS pixels."""
    x0, y0, side = page.evaluate("(() => { const r = document.getElementById('pad').getBoundingClientRect(); "
                                 "return [r.x, r.y, r.width]; })()")
    scale = 0.8 * side / kanjivg.BOX
    return [[(x0 + 0.1 * side + px * scale, y0 + 0.1 * side + py * scale) for px, py in s]
            for s in kanjivg.load(char).strokes]


def _python_view(page, model):
    """The pad's pixels read from the browser, preprocessed by the C codec and classified by onnxruntime."""
    import onnxruntime as ort

    rgba = np.array(page.evaluate("Array.from(document.getElementById('pad').getContext('2d')"
                                  ".getImageData(0, 0, 256, 256).data)"), np.int64).reshape(256, 256, 4)
    lum = (77 * rgba[..., 0] + 150 * rgba[..., 1] + 29 * rgba[..., 2]) >> 8  # as inkFromRGBA
    ink = np.floor((255 - lum) * rgba[..., 3] / 255 + 0.5).astype(np.uint8)
    pixels = native.normalize(ink, 64, "clean-moment")  # the page cleans a moment-trained model's input
    logits = ort.InferenceSession(str(model)).run(None, {"image": pixels[None, None].astype(np.float32) / 255})[0]
    probs = np.exp(logits[0] - logits[0].max())
    return pixels, probs / probs.sum()


@pytest.fixture(scope="module")
def browser():
    if not find_chromium():
        pytest.skip("chromium not installed (`make test` installs it: apt-get install chromium)")
    with Chromium() as chromium:
        yield chromium


STATE = "document.getElementById('status').dataset.state"
WINNERS = "document.querySelectorAll('#candidates li.top').length"


def _check_verdict(page, result, threshold):
    """The page is unsure exactly when top-1 < threshold, and then highlights no candidate and says so."""
    assert result["unsure"] == (result["top"][0]["prob"] < threshold)
    assert page.evaluate(WINNERS) == (0 if result["unsure"] else 1)
    verdict = page.evaluate("document.getElementById('verdict').textContent")
    assert ("not sure" in verdict) == result["unsure"]


@pytest.mark.slow
def test_page_recognises_drawn_characters(browser, centroid_model, page_dir, tmp_path):
    model, classes = centroid_model
    labels = [c["char"] for c in classes]
    threshold = json.loads((page_dir / "config.json").read_text())["unsure"]["threshold"]
    by_strokes = sorted(classes, key=lambda c: (c["strokes"], c["char"]))
    chars = [by_strokes[-1]["char"], by_strokes[0]["char"]]  # the most and the fewest strokes
    with serve(page_dir) as url:
        page = browser.new_page(1100, 800)
        page.goto(url)
        page.evaluate("window.kanjiedge.ready")
        assert page.evaluate(STATE) == "ready"
        for char in chars:
            page.click("#clear")
            page.draw(_strokes_on_pad(page, char))
            result = page.wait_for(RESULT_READY)
            dom = page.evaluate("Array.from(document.querySelectorAll('#candidates li'), li => li.dataset.char)")
            assert dom == [t["char"] for t in result["top"]] and len(dom) == 5
            assert dom[0] == char, f"drew {char}, page says {dom}"
            _check_verdict(page, result, threshold)
            pixels, probs = _python_view(page, model)
            # the browser's preprocessing equals the C codec's on the same canvas, level for level
            np.testing.assert_array_equal(np.reshape(result["pixels"], (64, 64)), pixels)
            want = [labels[i] for i in np.argsort(-probs, kind="stable")[:5]]
            assert dom[:1] == want[:1]
            np.testing.assert_allclose([t["prob"] for t in result["top"]], np.sort(probs)[::-1][:5], atol=1e-4)
        page.screenshot(os.environ.get("KANJIEDGE_SCREENSHOT", str(tmp_path / "page.png")))
        page.click("#clear")
        page.wait_for(RESULT_READY)
        assert page.evaluate("document.querySelectorAll('#candidates li[data-char]').length") == 0
        responses = page.responses()
    for name in ("ort-wasm-simd-threaded.wasm", "model.onnx", "app.js", "config.json", ""):
        headers = responses[url + name]["headers"]
        assert headers["content-encoding"] == "br" and headers["vary"] == "Accept-Encoding", name
    assert responses[url + "ort-wasm-simd-threaded.wasm"]["headers"]["content-type"] == "application/wasm"


@pytest.mark.slow
def test_drawing_before_ready_is_recognised_once_ready(browser, centroid_model, page_dir):
    char = centroid_model[1][0]["char"]
    with serve(page_dir) as url:
        page = browser.new_page(1100, 800)
        page.hold("*model.onnx")  # the model cannot arrive until the drawing is done
        page.goto(url, wait=False)
        page.wait_for("window.kanjiedge && document.getElementById('pad') !== null")
        page.draw(_strokes_on_pad(page, char))
        assert page.evaluate(STATE) in ("starting", "downloading")
        assert page.evaluate("window.kanjiedge.result") is None
        assert "drawing kept" in page.evaluate("document.getElementById('status').textContent")
        page.release()
        result = page.wait_for(RESULT_READY)
        assert result["top"][0]["char"] == char and page.evaluate(STATE) == "ready"


@pytest.mark.slow
def test_unsure_page_names_no_winner(browser, centroid_model, tiny_dataset, tmp_path):
    hesitant, classes = _centroid_onnx(tiny_dataset, tmp_path / "hesitant.onnx", scale=0.003)
    emit(hesitant, tmp_path / "web")  # no data: the uncalibrated default threshold, 0.5
    char = classes[0]["char"]
    with serve(tmp_path / "web") as url:
        page = browser.new_page(1100, 800)
        page.goto(url)
        page.evaluate("window.kanjiedge.ready")
        page.draw(_strokes_on_pad(page, char))
        result = page.wait_for(RESULT_READY)
        assert result["unsure"] and len(result["top"]) == 5 and result["top"][0]["char"] == char
        _check_verdict(page, result, 0.5)
        assert page.evaluate("document.querySelectorAll('#candidates li[data-char]').length") == 5


IN_VIEW = """(() => { const out = {};
  for (const [name, sel] of Object.entries(%s)) {
    out[name] = Array.from(document.querySelectorAll(sel), (el) => { const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth
        && r.bottom <= innerHeight; });
  }
  return out; })()"""


@pytest.mark.slow
def test_phone_layout_fits_the_screen(browser, centroid_model, page_dir, tmp_path):
    parts = {"pad": "#pad", "candidates": "#candidates li", "text box": "#composed", "copy": "#copy",
             "status": "#status", "undo": "#undo", "clear": "#clear"}
    with serve(page_dir) as url:
        page = browser.new_page(390, 844, mobile=True)
        page.goto(url)
        page.evaluate("window.kanjiedge.ready")
        page.draw(_strokes_on_pad(page, centroid_model[1][0]["char"]))
        page.wait_for(RESULT_READY)
        seen = page.evaluate(IN_VIEW % json.dumps(parts))
        page.screenshot(str(tmp_path / "phone.png"))
        assert page.evaluate("[innerWidth, innerHeight]") == [390, 844]
        assert page.evaluate("document.scrollingElement.scrollHeight") <= 844  # nothing below the fold
    assert len(seen["candidates"]) == 5
    assert all(all(flags) and flags for flags in seen.values()), seen


@pytest.mark.slow
def test_page_works_offline_once_loaded(browser, centroid_model, page_dir):
    char = centroid_model[1][0]["char"]
    page = browser.new_page(1100, 800)
    with serve(page_dir) as url:
        page.goto(url)
        page.evaluate("window.kanjiedge.ready.then(() => window.kanjiedge.serviceWorker)")
        page.wait_for("navigator.serviceWorker.controller !== null")
    page.reload()  # the server is gone: everything must come from the service worker's cache
    page.evaluate("window.kanjiedge.ready")
    page.draw(_strokes_on_pad(page, char))
    assert page.wait_for(RESULT_READY)["top"][0]["char"] == char
    wasm = [r for u, r in page.responses().items() if u.endswith(".wasm")]
    assert wasm and all(r["fromServiceWorker"] for r in wasm[-1:])


def test_page_accepts_every_mode_the_js_port_reproduces():
    """The page builder, the JS port and the Python preprocessing table name the same normalize modes, so a model
    trained on a cleaned dataset (the default) gets a page."""
    import re

    from kanjiedge import preprocess, webpage

    js = (webpage.WEB_DIR / "preprocess.js").read_text(encoding="utf-8")
    js_modes = re.search(r"export const MODES = \[(.*?)\];", js).group(1)
    assert set(webpage.PAGE_MODES) == set(re.findall(r'"([\w-]+)"', js_modes)) == set(preprocess.MODES)
