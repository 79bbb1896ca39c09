"""Web page load benchmark: how many bytes the drawing page transfers and how long until the model is ready, in
headless Chromium with its network throttled (CDP Network.emulateNetworkConditions).

    python -m bench.webload --model artifacts/edge/wasm/model.onnx [--mbit 20 --latency 40 --runs 3]

Builds the page for MODEL (kanjiedge.webpage, precompressed files cached in ~/.cache/kanjiedge), serves it with
kanjiedge.webserve and loads it cold (fresh browser profile) once per run for each way of serving it (brotli, the
default; gzip; no compression), each followed by a repeat visit in the same profile (the service worker's cache).
"ready" = ms from navigation start until onnxruntime-web has created the session (window.kanjiedge.timings, the
moment the page says Ready); "downloaded" = until the page had consumed the last byte of model and runtime;
transfer = encoded bytes over the wire (Network.loadingFinished); browser CPU s = user+system CPU of all Chromium
processes during the load (what the load costs, independent of other load on the machine); network delivered =
encoded bytes / time to the last byte (resource timing): what the throttled network really gave. It also lists
each onnxruntime-web WASM build's size raw, gzip -9 and (for the one the page uses) brotli -q 11. Writes
artifacts/reports/webload.json and prints a Markdown table. Targets (issue 12): <= 4 MB transferred, ready <= 3 s
at 20 Mbit/s / 40 ms.
"""

import argparse
import gzip
import json
import os
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


def cpu_seconds(root_pid):
    """User + system CPU seconds used so far by a process and all its descendants (Chromium's browser, GPU,
    network and renderer processes), from /proc: the work a load costs, whatever else the machine is doing."""
    ticks, children = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        pid = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(pid)
        ticks[pid] = int(fields[11]) + int(fields[12])
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


def _transferred(page):
    """Encoded bytes received by the tab so far, and the number of requests that finished."""
    done = page.events("Network.loadingFinished")
    return sum(e["encodedDataLength"] for e in done), len(done)


def load_once(browser, url, throttle, repeat=False):
    """One navigation in a new tab; returns {ready_ms, downloaded_ms, transfer_bytes, requests}."""
    page = browser.new_page(1100, 800)
    if throttle:
        page.throttle(*throttle)
    cpu0 = cpu_seconds(browser.proc.pid)
    page.goto(url, wait=False)
    page.wait_for("window.kanjiedge", timeout=60)
    page.evaluate("window.kanjiedge.ready")
    cpu = cpu_seconds(browser.proc.pid) - cpu0  # includes the polling above: a few ms
    timings = page.evaluate("window.kanjiedge.timings")
    transfer, requests = _transferred(page)
    # all bytes of the document and its resources over the span from navigation to the last byte
    net = page.evaluate("(() => { const es = [...performance.getEntriesByType('navigation'), "
                        "...performance.getEntriesByType('resource')]; return [es.reduce((a, e) => a + "
                        "e.encodedBodySize, 0), Math.max(...es.map(e => e.responseEnd))]; })()")
    if not repeat:  # let the service worker install (after ready), so the next visit can use it
        page.evaluate("window.kanjiedge.serviceWorker")
        page.wait_for("navigator.serviceWorker.controller !== null", timeout=60)
    page.send("Page.close")
    # kbit/ms = Mbit/s; None on a repeat visit (the bodies come from the service worker, not the network)
    rate = net[0] * 8 / net[1] / 1e3 if transfer > 1e5 else None
    return {"ready_ms": timings["ready"], "downloaded_ms": timings.get("downloaded"), "transfer_bytes": transfer,
            "requests": requests, "cpu_s": round(cpu, 2), "network_mbit_s": rate and round(rate, 1),
            "load_avg_1min": os.getloadavg()[0]}


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
    keys = ("ready_ms", "downloaded_ms", "transfer_bytes", "requests", "cpu_s", "network_mbit_s", "load_avg_1min")
    return {**{k: _median(rows, k) for k in keys}, "runs": rows}


def table(results, throttle_text):
    lines = [f"| serving | visit | transfer MB | downloaded s | ready s ({throttle_text}) | browser CPU s "
             "| network delivered Mbit/s | requests | load avg |", "|---|---|---|---|---|---|---|---|---|"]
    for name, res in results.items():
        for visit in ("cold", "repeat"):
            r = res[visit]
            down = f"{r['downloaded_ms'] / 1000:.2f}" if r["downloaded_ms"] is not None else "–"
            rate = f"{r['network_mbit_s']:.1f}" if r["network_mbit_s"] else "–"
            lines.append(f"| {name} | {visit} | {r['transfer_bytes'] / 1e6:.2f} | {down} | {r['ready_ms'] / 1000:.2f} "
                         f"| {r['cpu_s']:.2f} | {rate} | {r['requests']:.0f} | {r['load_avg_1min']:.1f} |")
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
