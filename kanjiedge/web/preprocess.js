// Preprocessing for the drawing page: a JavaScript port of the C resize/normalize (csrc/ke_image.c), so a drawn
// character reaches the model exactly as training images did. The algorithm is specified step by step in
// csrc/ke.h ("Resize / normalize algorithm"); every operation below follows that order in IEEE double, which is
// what JS numbers are, so results match kanjiedge.native.normalize (tests/test_webpage.py checks this in Node).
// The cleaning step of the "clean-*" modes (csrc/ke.h "Cleaning algorithm", csrc/ke_clean.c) is integer arithmetic
// only, so its output equals the C code's byte for byte (tests/test_webpage.py checks that too).
// Plain ES module without DOM use: runs in the browser and under Node.

/** Mode names as used in preprocess.json ("normalize" key) and kanjiedge.native.MODES. */
export const MODES = ["none", "bbox", "moment", "clean-bbox", "clean-moment"];

/** The mode a real picture gets for a model trained with `mode` (kanjiedge.preprocess.picture_mode): cleaned. */
export function pictureMode(mode) {
  return mode === "bbox" || mode === "moment" ? `clean-${mode}` : mode;
}

/** Ink threshold t = maxlevel / 8 + 1 (integer division). */
function inkThreshold(maxlevel) {
  return Math.floor(maxlevel / 8) + 1;
}

/** Bounding box [x0, y0, x1, y1) of pixels >= t, or null when there is no ink. */
function inkBBox(img, h, w, t) {
  let x0 = w, y0 = h, x1 = 0, y1 = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (img[y * w + x] < t) continue;
      if (x < x0) x0 = x;
      if (x >= x1) x1 = x + 1;
      if (y < y0) y0 = y;
      y1 = y + 1;
    }
  }
  return x1 > x0 ? [x0, y0, x1, y1] : null;
}

/** Source window {x0, y0, sx, sy} for BBOX mode, or null without ink. */
function bboxWindow(img, h, w, t, oh, ow) {
  const b = inkBBox(img, h, w, t);
  if (!b) return null;
  const sx = (b[2] - b[0]) / ow, sy = (b[3] - b[1]) / oh;
  const s = sx > sy ? sx : sy;
  return toGrid((b[0] + b[2]) / 2.0 - (s * ow) / 2, (b[1] + b[3]) / 2.0 - (s * oh) / 2, s);
}

/** BBOX / MOMENT window with origin and pitch on the 1/256-pixel grid (pitch >= 1/256), as ke.h step 1. */
function toGrid(x0, y0, s) {
  const g = Math.max(Math.floor(s * 256 + 0.5), 1) / 256;
  return { x0: Math.floor(x0 * 256 + 0.5) / 256, y0: Math.floor(y0 * 256 + 0.5) / 256, sx: g, sy: g };
}

/** Moment sums [m, Sx, Sy, Sxx, Syy] of q = v (v >= t) else 0. Integers below 2^53 here, so exact in doubles. */
function momentSums(img, h, w, t) {
  const s = [0, 0, 0, 0, 0];
  for (let y = 0; y < h; y++) {
    let rm = 0, rx = 0, rxx = 0;
    for (let x = 0; x < w; x++) {
      const v = img[y * w + x];
      const q = v >= t ? v : 0;
      rm += q;
      rx += q * x;
      rxx += q * x * x;
    }
    s[0] += rm; s[1] += rx; s[3] += rxx;
    s[2] += rm * y; s[4] += rm * y * y;
  }
  return s;
}

/** Source window for MOMENT mode: centre of mass to the centre, a +-2 sigma square of the larger axis fills it. */
function momentWindow(img, h, w, t, oh, ow) {
  const s = momentSums(img, h, w, t);
  if (s[0] === 0) return null;
  const m = s[0];
  const mx = s[1] / m, my = s[2] / m;
  const vx = s[3] / m - mx * mx, vy = s[4] / m - my * my;
  const v = vx > vy ? vx : vy;
  let side = 4 * Math.sqrt(v > 0 ? v : 0);
  if (side < 1) side = 1;
  const sc = side / (oh < ow ? oh : ow);
  return toGrid(mx + 0.5 - (sc * ow) / 2, my + 0.5 - (sc * oh) / 2, sc);
}

/** Overlap of output pixel k (origin o, pitch) with source pixels 0..n-1: {first, last, wfirst, wlast}. */
function spanOf(o, pitch, k, n) {
  let a = o + k * pitch, b = a + pitch;
  const sp = { first: 0, last: -1, wfirst: 0.0, wlast: 0.0 };
  if (a < 0) a = 0;
  if (b > n) b = n;
  if (b <= a) return sp;
  sp.first = Math.floor(a);
  sp.last = Math.ceil(b) - 1;
  if (sp.last >= n) sp.last = n - 1;
  if (sp.first === sp.last) {
    sp.wfirst = b - a;
  } else {
    sp.wfirst = sp.first + 1 - a;
    sp.wlast = b - sp.last;
  }
  return sp;
}

/** Weighted sum of one source row over a column span, left to right (ke.h step 2b). */
function spanSum(img, rowStart, sp) {
  if (sp.last < sp.first) return 0.0;
  let r = 0.0 + sp.wfirst * img[rowStart + sp.first];
  if (sp.last === sp.first) return r;
  for (let x = sp.first + 1; x < sp.last; x++) r += img[rowStart + x];
  return r + sp.wlast * img[rowStart + sp.last];
}

/** Round half up and clamp to a byte, as C's (int)(v + 0.5) then clamp. */
function toByte(v) {
  const q = Math.trunc(v + 0.5);
  return q < 0 ? 0 : q > 255 ? 255 : q;
}

/** Area-resample the source window into out[oh*ow] (ke.h step 2). */
function resample(img, h, w, maxlevel, win, oh, ow, out) {
  const cols = [];
  for (let j = 0; j < ow; j++) cols.push(spanOf(win.x0, win.sx, j, w));
  const scale = 255.0 / (win.sx * win.sy * maxlevel);
  const acc = new Float64Array(ow);
  for (let i = 0; i < oh; i++) {
    const rs = spanOf(win.y0, win.sy, i, h);
    acc.fill(0.0);
    for (let y = rs.first; y <= rs.last; y++) {
      const wy = y === rs.first ? rs.wfirst : y === rs.last ? rs.wlast : 1.0;
      for (let j = 0; j < ow; j++) acc[j] += wy * spanSum(img, y * w, cols[j]);
    }
    for (let j = 0; j < ow; j++) out[i * ow + j] = toByte(acc[j] * scale);
  }
}

// ------------------------------------------------------------------------------------------------ cleaning

/** C1-C2: paper level P (median) and ink floor T (P + max(2.5x mean deviation below P, rounded up; t)). */
function paperAndFloor(img, maxlevel) {
  const n = img.length;
  const hist = new Float64Array(256);
  for (let i = 0; i < n; i++) hist[img[i]]++;
  let p = 0, cum = 0;
  while (2 * (cum + hist[p]) < n) cum += hist[p++];
  let dev = 0, below = 0;
  for (let v = 0; v <= p; v++) { dev += (p - v) * hist[v]; below += hist[v]; }
  const noise = Math.floor((5 * dev + 2 * below - 1) / (2 * below));
  const t = inkThreshold(maxlevel);
  return { paper: p, floor: Math.min(256, p + Math.max(noise, t)) };
}

/** C3: R = I - P (I = 90th percentile of the ink levels) and the stretch table level -> 0..maxlevel. */
function stretchTable(inkHist, inkCount, lv, maxlevel) {
  let hi = lv.floor, acc = 0;
  while (10 * (acc + inkHist[hi]) < 9 * inkCount) acc += inkHist[hi++];
  const r = hi - lv.paper;
  const lut = new Uint8Array(256);
  for (let v = lv.floor; v < 256; v++) {
    lut[v] = Math.min(maxlevel, Math.floor(((v - lv.paper) * maxlevel + Math.floor(r / 2)) / r));
  }
  return { r, lut };
}

function findRoot(parent, k) {
  while (parent[k] !== k) {
    parent[k] = parent[parent[k]];
    k = parent[k];
  }
  return k;
}

/** C4: runs of ink per row joined into 8-connected components (union-find, the smaller run index is the root). */
function labelRuns(img, h, w, lv) {
  const runs = { y: [], x0: [], x1: [], sum: [], edge: [], parent: [] };
  const band = 1 + Math.floor(Math.min(h, w) / 64);
  const inkHist = new Float64Array(256);
  let prevStart = 0, prevEnd = 0;
  for (let y = 0; y < h; y++) {
    const rowStart = runs.x0.length;
    let pa = prevStart;
    for (let x = 0; x < w; ) {
      if (img[y * w + x] < lv.floor) { x++; continue; }
      const x0 = x;
      let sum = 0;
      for (; x < w && img[y * w + x] >= lv.floor; x++) { sum += img[y * w + x] - lv.paper; inkHist[img[y * w + x]]++; }
      const k = runs.x0.length;
      runs.y.push(y); runs.x0.push(x0); runs.x1.push(x); runs.sum.push(sum); runs.parent.push(k);
      runs.edge.push(y < band || y >= h - band || x0 < band || x > w - band);
      while (pa < prevEnd && runs.x1[pa] < x0) pa++;
      for (let j = pa; j < prevEnd && runs.x0[j] <= x; j++) {
        const a = findRoot(runs.parent, j), b = findRoot(runs.parent, k);
        if (a < b) runs.parent[b] = a;
        else if (b < a) runs.parent[a] = b;
      }
    }
    prevStart = rowStart;
    prevEnd = runs.x0.length;
  }
  return { runs, inkHist };
}

/** C5: which components go (specks; edge fragments unless they are most of the ink). Returns drop per root. */
function dropped(runs, speck) {
  const n = runs.x0.length, csum = new Float64Array(n), cedge = new Uint8Array(n), drop = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const r = (runs.parent[k] = findRoot(runs.parent, k));
    csum[r] += runs.sum[k];
    if (runs.edge[k]) cedge[r] = 1;
  }
  let total = 0, big = -1, frag = 0, specks = 0;
  for (let k = 0; k < n; k++) {
    if (runs.parent[k] !== k) continue;
    total += csum[k];
    if (big < 0 || csum[k] > csum[big]) big = k;
  }
  for (let k = 0; k < n; k++) {
    if (runs.parent[k] !== k || k === big) continue;
    if (csum[k] < speck) { drop[k] = 1; specks += csum[k]; }
    else if (cedge[k] && 4 * csum[k] < total) { drop[k] = 2; frag += csum[k]; }
  }
  if (2 * frag > total - specks) for (let k = 0; k < n; k++) if (drop[k] === 2) drop[k] = 0;
  return drop;
}

/**
 * The cleaning step (csrc/ke.h C1-C6, like kanjiedge.native.clean): paper level and noise removed, faint ink
 * stretched, edge fragments of neighbouring characters and specks dropped.
 * @param {Uint8Array} img  h*w levels, 0 = paper, maxlevel = full ink.
 * @returns {Uint8Array} h*w levels 0..maxlevel, the kept ink only.
 */
export function clean(img, h, w, maxlevel) {
  const out = new Uint8Array(h * w);
  const lv = paperAndFloor(img, maxlevel);
  if (lv.floor > 255) return out;
  const { runs, inkHist } = labelRuns(img, h, w, lv);
  const n = runs.x0.length;
  if (n === 0) return out;
  let inkCount = 0;
  for (let v = lv.floor; v < 256; v++) inkCount += inkHist[v];
  const { r, lut } = stretchTable(inkHist, inkCount, lv, maxlevel);
  const drop = dropped(runs, r * Math.max(1, Math.floor((h * w) / 1024)));
  for (let k = 0; k < n; k++) {
    if (drop[runs.parent[k]]) continue;
    const row = runs.y[k] * w;
    for (let x = runs.x0[k]; x < runs.x1[k]; x++) out[row + x] = lut[img[row + x]];
  }
  return out;
}

/**
 * Resize/normalize a grey image like kanjiedge.native.normalize / ke_normalize.
 * @param {Uint8Array} img  h*w levels, 0 = paper, maxlevel = full ink.
 * @param {number} h @param {number} w @param {number} maxlevel  1..255
 * @param {number} oh @param {number} ow  output size
 * @param {string} mode  "none" | "bbox" | "moment" | "clean-bbox" | "clean-moment"
 * @returns {Uint8Array} oh*ow, 0 = paper, 255 = full ink (all zero when there is no ink).
 */
export function normalize(img, h, w, maxlevel, oh, ow, mode) {
  if (!MODES.includes(mode)) throw new Error(`unknown normalize mode ${mode}`);
  if (img.length !== h * w) throw new Error(`image has ${img.length} pixels, expected ${h}x${w}`);
  if (mode.startsWith("clean-")) {
    img = clean(img, h, w, maxlevel);
    mode = mode.slice(6);
  }
  const t = inkThreshold(maxlevel);
  let win = { x0: 0.0, y0: 0.0, sx: w / ow, sy: h / oh };
  if (mode === "bbox") win = bboxWindow(img, h, w, t, oh, ow);
  else if (mode === "moment") win = momentWindow(img, h, w, t, oh, ow);
  const out = new Uint8Array(oh * ow);
  if (win) resample(img, h, w, maxlevel, win, oh, ow, out);
  return out;
}

/**
 * Ink levels (0 = paper, 255 = ink) from canvas RGBA pixels of dark ink on a white (or transparent) background.
 * @param {Uint8ClampedArray} rgba  4*w*h bytes from getImageData.
 * @returns {Uint8Array} w*h
 */
export function inkFromRGBA(rgba) {
  const n = rgba.length / 4;
  const ink = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    // composite over white, then darkness of the luminance (integer weights summing to 256)
    const a = rgba[4 * k + 3];
    const lum = (77 * rgba[4 * k] + 150 * rgba[4 * k + 1] + 29 * rgba[4 * k + 2]) >> 8;
    ink[k] = Math.round(((255 - lum) * a) / 255);
  }
  return ink;
}

/**
 * Model input from a canvas: ink levels -> normalize -> float32 [1,1,S,S] data scaled like training.
 * @param {Uint8ClampedArray} rgba @param {number} w @param {number} h
 * @param {{size: number, normalize: string, scale: number}} pre  contents of preprocess.json
 * @returns {{pixels: Uint8Array, input: Float32Array}}
 */
export function canvasToInput(rgba, w, h, pre) {
  const mode = pictureMode(pre.normalize ?? "moment");
  const pixels = normalize(inkFromRGBA(rgba), h, w, 255, pre.size, pre.size, mode);
  const scale = pre.scale ?? 1 / 255;
  const input = new Float32Array(pixels.length);
  for (let k = 0; k < pixels.length; k++) input[k] = pixels[k] * scale;
  return { pixels, input };
}
