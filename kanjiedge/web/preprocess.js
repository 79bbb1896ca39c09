// Preprocessing for the drawing page: a JavaScript port of the C resize/normalize (csrc/ke_image.c), so a drawn
// character reaches the model exactly as training images did. The algorithm is specified step by step in
// csrc/ke.h ("Resize / normalize algorithm"); every operation below follows that order in IEEE double, which is
// what JS numbers are, so results match kanjiedge.native.normalize (tests/test_webpage.py checks this in Node).
// Plain ES module without DOM use: runs in the browser and under Node.

/** Mode names as used in preprocess.json ("normalize" key) and kanjiedge.native.MODES. */
export const MODES = ["none", "bbox", "moment"];

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

/**
 * Resize/normalize a grey image like kanjiedge.native.normalize / ke_normalize.
 * @param {Uint8Array} img  h*w levels, 0 = paper, maxlevel = full ink.
 * @param {number} h @param {number} w @param {number} maxlevel  1..255
 * @param {number} oh @param {number} ow  output size
 * @param {string} mode  "none" | "bbox" | "moment"
 * @returns {Uint8Array} oh*ow, 0 = paper, 255 = full ink (all zero when there is no ink).
 */
export function normalize(img, h, w, maxlevel, oh, ow, mode) {
  if (!MODES.includes(mode)) throw new Error(`unknown normalize mode ${mode}`);
  if (img.length !== h * w) throw new Error(`image has ${img.length} pixels, expected ${h}x${w}`);
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
  const pixels = normalize(inkFromRGBA(rgba), h, w, 255, pre.size, pre.size, pre.normalize ?? "moment");
  const scale = pre.scale ?? 1 / 255;
  const input = new Float32Array(pixels.length);
  for (let k = 0; k < pixels.length; k++) input[k] = pixels[k] * scale;
  return { pixels, input };
}
