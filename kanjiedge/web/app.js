// kanjiedge drawing page: pointer strokes on a canvas -> preprocessing identical to training (preprocess.js) ->
// onnxruntime-web (WASM backend, loaded by loader.js) -> top-5 candidates with probabilities, after every stroke.
//
// Files next to this one (written by kanjiedge.webpage.emit_webpage): model.onnx, config.json ({labels, preprocess,
// unsure: {threshold, what it was calibrated on}, runtime, sizes}), the onnxruntime-web files, sw.js.
// The pad works from the first moment: strokes drawn while the recognizer loads are kept and recognised once it is
// ready. Below the calibrated threshold the page says it is unsure and highlights no candidate.
// For automated tests the page exposes window.kanjiedge: {ready (Promise), version (drawing changes so far),
// result ({version, top: [{char, prob}], unsure, pixels, ms}), timings ({config, ready} ms since navigation)}:
// a result is current when result.version === version.

import { fetchJson, loadRecognizer, registerServiceWorker } from "./loader.js";
import { canvasToInput } from "./preprocess.js";

const TOP_K = 5;
const LIVE_MS = 150; // while a stroke is being drawn, recognise at most this often

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d", { willReadFrequently: true });
const state = { strokes: [], current: null, session: null, ort: null, labels: [], pre: null, threshold: 0,
                busy: false, again: false, lastLive: 0, status: null };
const api = (window.kanjiedge = { version: 0, result: null, ready: null, timings: {} });
// Pen: 1/32 of the pad, about the synthetic writers' pen (3-5.6 of KanjiVG's 109 units) for a glyph filling ~80 %.
Object.assign(ctx, { lineWidth: pad.width / 32, lineCap: "round", lineJoin: "round", strokeStyle: "#111" });

// ---------------------------------------------------------------- drawing

function drawStroke(points) {
  ctx.beginPath();
  ctx.moveTo(points[0][0], points[0][1]);
  // a dot (tap) still leaves ink: lineTo the same point draws a round cap
  for (const [x, y] of points.length > 1 ? points.slice(1) : points) ctx.lineTo(x, y);
  ctx.stroke();
}

function redraw() {
  ctx.clearRect(0, 0, pad.width, pad.height);
  for (const s of state.strokes) drawStroke(s);
  if (state.current) drawStroke(state.current);
  const n = state.strokes.length;
  document.getElementById("strokes").textContent = `${n} stroke${n === 1 ? "" : "s"}`;
  document.getElementById("hint").classList.toggle("hidden", n > 0 || state.current !== null);
}

/** Pointer position in canvas pixels (the canvas is CSS-scaled). */
function canvasPoint(ev) {
  const r = pad.getBoundingClientRect();
  return [((ev.clientX - r.left) * pad.width) / r.width, ((ev.clientY - r.top) * pad.height) / r.height];
}

function onDown(ev) {
  if (ev.button !== 0 && ev.pointerType === "mouse") return;
  pad.setPointerCapture(ev.pointerId);
  state.current = [canvasPoint(ev)];
  redraw();
}

function onMove(ev) {
  if (!state.current) return;
  const from = state.current.length - 1;
  for (const e of ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev]) state.current.push(canvasPoint(e));
  drawStroke(state.current.slice(from)); // only the new segment: redrawing everything per move is slow on phones
  if (performance.now() - state.lastLive > LIVE_MS) {
    state.lastLive = performance.now();
    changed();
  }
}

function onUp() {
  if (!state.current) return;
  state.strokes.push(state.current);
  state.current = null;
  redraw();
  changed();
}

function clearPad() {
  state.strokes = [];
  state.current = null;
  redraw();
  changed();
}

function undo() {
  state.strokes.pop();
  redraw();
  changed();
}

// ---------------------------------------------------------------- recognition

function softmax(logits) {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

function topK(probs, k) {
  const idx = probs.map((p, i) => i).sort((a, b) => probs[b] - probs[a]).slice(0, k);
  return idx.map((i) => ({ index: i, char: state.labels[i], prob: probs[i] }));
}

/** The drawing changed: recognise now, or right after the run in flight (runs never overlap). */
function changed() {
  api.version += 1;
  if (!state.session && state.status) setStatus(...state.status);
  if (state.busy) state.again = true;
  else recognise();
}

async function recognise() {
  if (!state.session) return;
  state.busy = true;
  do {
    state.again = false;
    await recogniseOnce(api.version);
  } while (state.again);
  state.busy = false;
}

async function recogniseOnce(version) {
  const hasInk = state.strokes.length > 0 || state.current !== null;
  const { pixels, input } = canvasToInput(ctx.getImageData(0, 0, pad.width, pad.height).data, pad.width,
                                          pad.height, state.pre);
  showSeen(pixels);
  let top = [], ms = 0;
  if (hasInk) {
    const size = state.pre.size;
    const t0 = performance.now();
    const out = await state.session.run({ [state.session.inputNames[0]]:
                                          new state.ort.Tensor("float32", input, [1, 1, size, size]) });
    ms = performance.now() - t0;
    top = topK(softmax(out[state.session.outputNames[0]].data), TOP_K);
  }
  const unsure = top.length > 0 && top[0].prob < state.threshold;
  api.result = { version, top: top.map(({ char, prob }) => ({ char, prob })), unsure, pixels: Array.from(pixels), ms };
  showCandidates(top, unsure);
  setStatus("ready", hasInk ? `Recognised in ${ms.toFixed(1)} ms` : "Ready");
}

// ---------------------------------------------------------------- output

function showCandidates(top, unsure) {
  const list = document.getElementById("candidates");
  list.replaceChildren();
  list.classList.toggle("unsure", unsure);
  document.getElementById("verdict").textContent = unsure ? "not sure: is it one of these?" : "";
  if (top.length === 0) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "Candidates appear here as you draw.";
    list.append(li);
    return;
  }
  top.forEach(({ char, prob }, rank) => list.append(candidateItem(char, prob, rank === 0 && !unsure)));
}

function candidateItem(char, prob, winner) {
  const li = document.createElement("li");
  li.dataset.char = char;
  li.dataset.prob = prob.toFixed(6);
  li.className = winner ? "top" : "";
  li.title = `U+${char.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
  const glyph = Object.assign(document.createElement("span"), { className: "glyph", textContent: char });
  const bar = Object.assign(document.createElement("span"), { className: "bar" });
  const fill = document.createElement("span");
  fill.style.width = `${(100 * prob).toFixed(1)}%`;
  bar.append(fill);
  const pct = Object.assign(document.createElement("span"), { className: "prob",
                                                            textContent: `${(100 * prob).toFixed(1)}%` });
  li.append(glyph, bar, pct);
  li.addEventListener("click", () => pick(char));
  return li;
}

/** Append a chosen candidate to the text box and start the next character. */
function pick(char) {
  document.getElementById("composed").value += char;
  clearPad();
}

/** Show the normalized model input (ink high -> white on black, like the training images). */
function showSeen(pixels) {
  const seen = document.getElementById("seen");
  const size = state.pre.size;
  if (seen.width !== size) seen.width = seen.height = size;
  const img = new ImageData(size, size);
  for (let k = 0; k < pixels.length; k++) img.data.set([pixels[k], pixels[k], pixels[k], 255], 4 * k);
  seen.getContext("2d").putImageData(img, 0, 0);
}

/** Show the loading / ready state next to the pad; while loading, also say that a drawing is kept. */
function setStatus(kind, text, fraction = 1) {
  state.status = [kind, text, fraction];
  const el = document.getElementById("status");
  el.dataset.state = kind;
  const loading = kind === "starting" || kind === "downloading" || kind === "compiling";
  el.textContent = text + (loading && state.strokes.length ? " · drawing kept" : "");
  const bar = document.getElementById("progress");
  bar.value = fraction;
  bar.hidden = kind === "ready";
}

// ---------------------------------------------------------------- start-up

async function loadModel() {
  const config = await fetchJson("config.json");
  api.timings.config = Math.round(performance.now()); // ms since navigation start
  Object.assign(state, { labels: config.labels, pre: config.preprocess, threshold: config.unsure.threshold });
  const { ort, session, modelBytes } = await loadRecognizer(config, ({ state: kind, text, fraction }) => {
    if (kind === "compiling") api.timings.downloaded = Math.round(performance.now());
    setStatus(kind, text, fraction);
  });
  Object.assign(state, { ort, session });
  api.timings.ready = Math.round(performance.now());
  const kib = (modelBytes.byteLength / 1024).toFixed(0);
  document.getElementById("model-info").textContent =
    `${config.labels.length} characters · model ${kib} KiB · onnxruntime-web ${ort.env.versions?.web ?? ""} (WASM)` +
    ` · unsure below ${(100 * state.threshold).toFixed(0)} % top-1`;
}

function bindUi() {
  pad.addEventListener("pointerdown", onDown);
  pad.addEventListener("pointermove", onMove);
  pad.addEventListener("pointerup", onUp);
  pad.addEventListener("pointercancel", onUp);
  document.getElementById("clear").addEventListener("click", clearPad);
  document.getElementById("undo").addEventListener("click", undo);
  document.getElementById("copy").addEventListener("click", () =>
    navigator.clipboard?.writeText(document.getElementById("composed").value));
  window.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") clearPad();
    if (ev.key === "z" && (ev.ctrlKey || ev.metaKey) && ev.target.tagName !== "INPUT") undo();
  });
}

async function main() {
  redraw();
  showCandidates([], false);
  bindUi();
  try {
    await loadModel();
  } catch (err) {
    setStatus("error", `Could not load the model: ${err.message ?? err}`);
    throw err;
  }
  await recognise();
  api.serviceWorker = registerServiceWorker();
}

api.ready = main();
