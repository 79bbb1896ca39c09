// onnxruntime-web (WASM backend) inference server for kanjiedge.export.ortweb, run under Node.
//
// Usage: node ortweb_runner.mjs <onnxruntime-web dist dir> <model.onnx> [numThreads]
//
// Loads the model once with the "wasm" execution provider (the same .wasm binaries a browser downloads, taken from
// the given dist folder), then answers framed requests on stdin until EOF or {"cmd": "quit"}.
// Frame (both directions): uint32 LE header length, UTF-8 JSON header, uint32 LE payload length, payload bytes.
//   ready    (sent once)   {"ok": true, "inputs": [...], "outputs": [...]}            no payload
//   run      {"cmd": "run", "shape": [N,1,S,S], "dtype": "float32"|"float16"} + LE input
//            -> {"ok": true, "shape": [N,C], "dtype": output type, "ms": wall ms of session.run} + LE logits
//   bench    {"cmd": "bench", "shape": [1,1,S,S], "runs": R, "warmup": W} + float32 LE input
//            -> {"ok": true, "ms": [R per-run wall ms]}   (timed here, so IPC cost is not counted)
//   quit     {"cmd": "quit"} -> process exits 0
// Any failure answers {"ok": false, "error": "..."} and the server keeps serving (a load failure exits 1).
// stdout carries only frames: console.log is redirected to stderr so library chatter cannot corrupt the stream.

import { pathToFileURL } from "node:url";
import path from "node:path";
import fs from "node:fs";

console.log = console.error;
console.info = console.error;

/** Encode one frame: header object + optional payload bytes. */
function frame(header, payload = new Uint8Array(0)) {
  const head = Buffer.from(JSON.stringify(header), "utf8");
  const out = Buffer.alloc(8 + head.length + payload.byteLength);
  out.writeUInt32LE(head.length, 0);
  head.copy(out, 4);
  out.writeUInt32LE(payload.byteLength, 4 + head.length);
  Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).copy(out, 8 + head.length);
  return out;
}

/** Write a frame and wait until it is flushed (keeps replies ordered and bounded in memory). */
function send(header, payload) {
  return new Promise((resolve) => {
    if (process.stdout.write(frame(header, payload))) resolve();
    else process.stdout.once("drain", resolve);
  });
}

/** Incremental frame parser: feed chunks, get complete {header, payload} frames. */
class FrameReader {
  constructor() {
    this.buf = Buffer.alloc(0);
  }

  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  next() {
    if (this.buf.length < 4) return null;
    const hlen = this.buf.readUInt32LE(0);
    if (this.buf.length < 8 + hlen) return null;
    const plen = this.buf.readUInt32LE(4 + hlen);
    const total = 8 + hlen + plen;
    if (this.buf.length < total) return null;
    const header = JSON.parse(this.buf.subarray(4, 4 + hlen).toString("utf8"));
    // Copy the payload so it is 4-byte aligned for Float32Array.
    const payload = new Uint8Array(this.buf.subarray(8 + hlen, total));
    this.buf = this.buf.subarray(total);
    return { header, payload };
  }
}

// Input element types the runner accepts: ort type -> typed-array constructor (float16 travels as raw uint16 bits).
const ARRAYS = { float32: Float32Array, float16: Uint16Array };

/** Input tensor from a request payload (header.dtype, default float32), checking it matches the declared shape. */
function inputTensor(ort, header, payload) {
  const shape = header.shape;
  const dtype = header.dtype ?? "float32";
  const Arr = ARRAYS[dtype];
  if (!Arr) throw new Error(`unsupported input dtype ${dtype}`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (!Array.isArray(shape) || payload.byteLength !== count * Arr.BYTES_PER_ELEMENT) {
    throw new Error(`payload of ${payload.byteLength} bytes does not match ${dtype} shape ${JSON.stringify(shape)}`);
  }
  return new ort.Tensor(dtype, new Arr(payload.buffer, payload.byteOffset, count), shape);
}

async function handleRun(ort, session, header, payload) {
  const feeds = { [session.inputNames[0]]: inputTensor(ort, header, payload) };
  const t0 = performance.now();
  const out = await session.run(feeds);
  const ms = performance.now() - t0;
  const logits = out[session.outputNames[0]];
  const data = logits.data.slice(); // copy: the output may be a view into WASM memory
  await send({ ok: true, shape: logits.dims, dtype: logits.type, ms }, new Uint8Array(data.buffer));
}

async function handleBench(ort, session, header, payload) {
  const feeds = { [session.inputNames[0]]: inputTensor(ort, header, payload) };
  for (let i = 0; i < (header.warmup ?? 5); i++) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < header.runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    ms.push(performance.now() - t0);
  }
  await send({ ok: true, ms });
}

/** Load onnxruntime-web from its dist folder and create the WASM session. */
async function loadSession(distDir, modelPath, threads) {
  const ort = await import(pathToFileURL(path.join(distDir, "ort.wasm.min.mjs")).href);
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = pathToFileURL(distDir + path.sep).href;
  ort.env.logLevel = "error";
  const model = new Uint8Array(fs.readFileSync(modelPath));
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  return { ort, session };
}

async function serve(ort, session) {
  const reader = new FrameReader();
  for await (const chunk of process.stdin) {
    reader.push(chunk);
    for (let f = reader.next(); f; f = reader.next()) {
      const cmd = f.header.cmd;
      if (cmd === "quit") return;
      try {
        if (cmd === "run") await handleRun(ort, session, f.header, f.payload);
        else if (cmd === "bench") await handleBench(ort, session, f.header, f.payload);
        else throw new Error(`unknown command ${JSON.stringify(cmd)}`);
      } catch (err) {
        await send({ ok: false, error: String(err?.message ?? err) });
      }
    }
  }
}

async function main() {
  const [distDir, modelPath, threadsArg] = process.argv.slice(2);
  let loaded;
  try {
    loaded = await loadSession(distDir, modelPath, Number(threadsArg ?? 1));
  } catch (err) {
    await send({ ok: false, error: `cannot load the model: ${String(err?.message ?? err)}` });
    process.exit(1);
  }
  const { ort, session } = loaded;
  await send({ ok: true, inputs: session.inputNames, outputs: session.outputNames });
  await serve(ort, session);
  await session.release();
  process.exit(0);
}

main();
