"""Web page load benchmark: how many bytes the drawing page transfers and how long until the model is ready, in
headless Chromium with its network throttled (CDP Network.emulateNetworkConditions).

    python -m bench.webload --model artifacts/edge/wasm/model.onnx [--mbit 20 --latency 40 --runs 3]

Builds the page for MODEL (kanjiedge.webpage, precompressed files cached in ~/.cache/kanjiedge), serves it with
kanjiedge.webserve and loads it cold (fresh browser profile) once per run for each way of serving it: no
compression, gzip, brotli (the default), then brotli again on a repeat visit (same profile: the service worker's
cache). "ready" = ms from navigation start until onnxruntime-web has created the session (window.kanjiedge.timings,
the moment the page says Ready); "downloaded" = until the last byte of the model and runtime arrived; transfer =
encoded bytes over the wire (Network.loadingFinished). It also lists each onnxruntime-web WASM build's size raw,
gzip -9 and (for the one the page uses) brotli -q 11. Writes artifacts/reports/webload.json and prints a Markdown
table. Targets (issue 12): <= 4 MB transferred, ready <= 3 s at 20 Mbit/s / 40 ms.
"""

import argparse
import gzip
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the DevTools driver the page tests use

from web_driver import Chromium, find_chromium  # noqa: E402

from kanjiedge import ortweb_files, webpage, webserve  # noqa: E402

REPORT = ROOT / "artifacts" / "reports" / "webload.json"
SERVINGS = {"none": (), "gzip": ("gzip",), "brotli": ("br",)}
TARGETS = {"transfer_mb": 4.0, "ready_s": 3.0}


def build_sizes(dist):
    """{build: {"raw", "gz", "br"?}} for every onnxruntime-web WASM build (brotli only for the one used: slow)."""
    out = {}
    for name in ortweb_files.WASM_BUILDS:
        path = Path(dist) / name
        if path.is_file():
            raw = path.read_bytes()
            out[name] = {"raw": len(raw), "gz": len(gzip.compress(raw, 9, mtime=0))}
    used = ortweb_files.RUNTIME_FILES[2]
    out[used]["br"] = webserve._compressed(Path(dist) / used, "br", webserve.BROTLI_QUALITY).stat().st_size
    return out


def _transferred(page):
    """Encoded bytes received by the tab so far, and the number of requests that finished."""
    done = page.events("Network.loadingFinished")
    return sum(e["encodedDataLength"] for e in done), len(done)


def load_once(browser, url, throttle, repeat=False):
    """One navigation in a new tab; returns {ready_ms, downloaded_ms, transfer_bytes, requests}."""
    page = browser.new_page(1100, 800)
    if throttle:
        page.throttle(*throttle)
    page.goto(url, wait=False)
    page.wait_for("window.kanjiedge", timeout=60)
    page.evaluate("window.kanjiedge.ready")
    timings = page.evaluate("window.kanjiedge.timings")
    if not repeat:  # let the service worker install (after ready), so the next visit can use it
        page.evaluate("window.kanjiedge.serviceWorker")
        page.wait_for("navigator.serviceWorker.controller !== null", timeout=60)
    transfer, requests = _transferred(page)
    page.send("Page.close")
    return {"ready_ms": timings["ready"], "downloaded_ms": timings.get("downloaded"), "transfer_bytes": transfer,
            "requests": requests}


def scenario(folder, encodings, throttle, runs):
    """Cold loads (fresh profile each) and, for each, one repeat visit in the same profile."""
    cold, warm = [], []
    with webserve.serve(folder, encodings=encodings) as url:
        for _ in range(runs):
            with Chromium(timeout=120) as browser:
                cold.append(load_once(browser, url, throttle))
                warm.append(load_once(browser, url, throttle, repeat=True))
    return cold, warm


def _median(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def summarize(rows):
    return {"ready_ms": _median(rows, "ready_ms"), "downloaded_ms": _median(rows, "downloaded_ms"),
            "transfer_bytes": _median(rows, "transfer_bytes"), "requests": _median(rows, "requests"), "runs": rows}


def table(results, throttle_text):
    lines = [f"| serving | visit | transfer MB | downloaded s | ready s ({throttle_text}) | requests |",
             "|---|---|---|---|---|---|"]
    for name, res in results.items():
        for visit in ("cold", "repeat"):
            r = res[visit]
            down = f"{r['downloaded_ms'] / 1000:.2f}" if r["downloaded_ms"] is not None else "–"
            lines.append(f"| {name} | {visit} | {r['transfer_bytes'] / 1e6:.2f} | {down} | {r['ready_ms'] / 1000:.2f} "
                         f"| {r['requests']:.0f} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=ROOT / "artifacts" / "edge" / "wasm" / "model.onnx")
    ap.add_argument("--data", type=Path, help="dataset folder to calibrate the unsure threshold (optional)")
    ap.add_argument("--mbit", type=float, default=20.0, help="download and upload Mbit/s (0: no throttling)")
    ap.add_argument("--latency", type=float, default=40.0, help="ms added to every request")
    ap.add_argument("--runs", type=int, default=3, help="cold loads per serving (median reported)")
    ap.add_argument("--servings", default="brotli,gzip,none", help="comma list of: " + ", ".join(SERVINGS))
    ap.add_argument("--out", type=Path, default=REPORT)
    args = ap.parse_args(argv)
    if not find_chromium():
        sys.exit("bench.webload: chromium not found (apt-get install chromium)")
    if not args.model.is_file():
        sys.exit(f"bench.webload: {args.model}: no such model (run `make edge TARGET=wasm` or pass --model)")
    throttle = (args.mbit * 1e6 / 8, args.latency) if args.mbit > 0 else None
    throttle_text = f"{args.mbit:g} Mbit/s, {args.latency:g} ms" if throttle else "no throttling"
    with tempfile.TemporaryDirectory(prefix="ke-webload-") as tmp:
        folder = Path(tmp) / "web"
        webpage.emit_webpage(args.model, out_dir=folder, data=args.data)
        page = webpage.summary(folder)
        results = {}
        for name in args.servings.split(","):
            cold, warm = scenario(folder, SERVINGS[name], throttle, args.runs)
            results[name] = {"cold": summarize(cold), "repeat": summarize(warm)}
            print(f"{name}: cold ready {results[name]['cold']['ready_ms']} ms", file=sys.stderr)
    report = {"model": str(args.model), "model_bytes": args.model.stat().st_size, "throttle": throttle_text,
              "chromium": find_chromium(), "page": page, "wasm_builds": build_sizes(ortweb_files.find_dist()),
              "results": results, "targets": TARGETS}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(table(results, throttle_text))
    print("\n| WASM build | raw MB | gzip MB | brotli MB |\n|---|---|---|---|")
    for name, s in report["wasm_builds"].items():
        br = f"{s['br'] / 1e6:.2f}" if "br" in s else "–"
        print(f"| {name} | {s['raw'] / 1e6:.2f} | {s['gz'] / 1e6:.2f} | {br} |")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
