// kanjiedge drawing page: loads the recognizer (config.json, model.onnx, onnxruntime-web) and reports progress.
//
// index.html preloads every file, so the downloads are already running when this module starts; here they are
// picked up and counted. onnxruntime-web fetches its .wasm itself and compiles it with
// WebAssembly.instantiateStreaming (the server sends application/wasm), i.e. while it downloads. On a first visit
// the fetch of the .wasm is wrapped to count its bytes for the progress bar; on repeat visits the service worker
// (sw.js) answers from its cache and the plain fetch keeps the browser's compiled-code cache usable.

const MB = 1e6;
// A 68-byte ONNX graph (y = Identity(x)): creating a session from it starts onnxruntime-web's WASM download and
// streaming compilation at once, instead of after model.onnx has arrived (both downloads run side by side).
const WARM_UP_ONNX = "CAg6OgoQCgF4EgF5IghJZGVudGl0eRIEd2FybVoPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEBE=";

/** Byte counters per download: decoded bytes received of the decoded total, and the encoded (transfer) total. */
class Progress {
  constructor(config, onChange) {
    this.files = {};
    for (const name of ["model.onnx", config.runtime.wasm]) {
      this.files[name] = { got: 0, total: config.sizes[name].raw, wire: config.sizes[name].raw };
    }
    this.onChange = onChange;
  }

  /** A response started: its Content-Length is the transfer size when the server compressed it. */
  started(name, res) {
    const f = this.files[name];
    const length = Number(res.headers.get("content-length"));
    if (length > 0) f.wire = length;
  }

  add(name, n) {
    this.files[name].got += n;
    this.onChange(this.summary());
  }

  /** {got, total} in transfer bytes (received decoded bytes scaled by each file's compression), done flag. */
  summary() {
    let got = 0, total = 0, done = true;
    for (const f of Object.values(this.files)) {
      got += (f.wire * Math.min(f.got, f.total)) / f.total;
      total += f.wire;
      done &&= f.got >= f.total;
    }
    return { got, total, done, text: `${(got / MB).toFixed(1)} / ${(total / MB).toFixed(1)} MB` };
  }
}

/** A stream that passes bytes through and counts them. */
function counter(progress, name) {
  return new TransformStream({ transform(chunk, ctl) { progress.add(name, chunk.byteLength); ctl.enqueue(chunk); } });
}

/** fetch `name` and read it whole, counting bytes as they arrive. */
async function fetchCounted(progress, name) {
  const res = await fetch(name);
  if (!res.ok) throw new Error(`${name}: HTTP ${res.status}`);
  progress.started(name, res);
  const counted = new Response(res.body.pipeThrough(counter(progress, name)));
  return new Uint8Array(await counted.arrayBuffer());
}

/** Wrap window.fetch so onnxruntime-web's download of the .wasm is counted; the response keeps its headers
 * (application/wasm), so streaming compilation still works. */
function countWasmFetch(progress, wasm) {
  const plain = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const res = await plain(input, init);
    const url = typeof input === "string" ? input : input.url;
    if (!url.endsWith(wasm) || !res.ok || !res.body) return res;
    progress.started(wasm, res);
    return new Response(res.body.pipeThrough(counter(progress, wasm)),
                        { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return () => { window.fetch = plain; };
}

export async function fetchJson(name) {
  const res = await fetch(name);
  if (!res.ok) throw new Error(`${name}: HTTP ${res.status}`);
  return res.json();
}

/**
 * Load onnxruntime-web and the model; report {state: "downloading"|"compiling", text, fraction} via onStatus.
 * Returns {ort, session, modelBytes}.
 */
export async function loadRecognizer(config, onStatus) {
  let compiling = false;
  const progress = new Progress(config, (p) => {
    if (!compiling) onStatus({ state: "downloading", text: `Downloading ${p.text}`, fraction: p.got / p.total });
    if (p.done && !compiling) {
      compiling = true;
      onStatus({ state: "compiling", text: "Compiling…", fraction: 1 });
    }
  });
  onStatus({ state: "downloading", text: `Downloading ${progress.summary().text}`, fraction: 0 });
  const cached = Boolean(navigator.serviceWorker?.controller);
  const restore = cached ? () => {} : countWasmFetch(progress, config.runtime.wasm);
  try {
    const ort = await import("./ort.wasm.min.mjs");
    ort.env.wasm.wasmPaths = new URL("./", import.meta.url).href;
    ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which a plain static server lacks
    const warm = Uint8Array.from(atob(WARM_UP_ONNX), (c) => c.charCodeAt(0));
    const [runtime, modelBytes] = await Promise.all([
      ort.InferenceSession.create(warm, { executionProviders: ["wasm"] }), fetchCounted(progress, "model.onnx")]);
    await runtime.release();
    if (cached) progress.add(config.runtime.wasm, config.sizes[config.runtime.wasm].raw);
    const session = await ort.InferenceSession.create(modelBytes, { executionProviders: ["wasm"] });
    return { ort, session, modelBytes };
  } finally {
    restore();
  }
}

/** Register the service worker once the page is ready (so its precache revalidates what is already downloaded
 * instead of competing with the first download). Offline and repeat visits then load from its cache. */
export function registerServiceWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return Promise.resolve(null);
  return navigator.serviceWorker.register("sw.js").catch((err) => {
    console.warn(`service worker not registered: ${err.message ?? err}`);
    return null;
  });
}
