// Decoding micro-benchmark: the runtime's readCString and getBigUint64 against alternatives, over a
// batch of real-looking 64-byte records (comm "workload", 16 bytes) and 284-byte opensnoop records
// (a 40-byte path in char[256]). Each case decodes every record of the batch many times; the time
// per call is the median of 7 rounds.  node bench/decode.mjs [--json]
import { readCString } from "../dist/src/runtime/codecs.js";

const N = 4096;
const REC = 288; // 284 padded to 8
const buf = new ArrayBuffer(N * REC);
const view = new DataView(buf);
const u8 = new Uint8Array(buf);
const nodeBuf = Buffer.from(buf);
const enc = new TextEncoder();
for (let i = 0; i < N; i++) {
  const at = i * REC;
  view.setBigUint64(at, 1_000_000_000_000n + BigInt(i) * 997n, true);
  enc.encodeInto("workload", u8.subarray(at + 12, at + 28));
  enc.encodeInto(`/usr/lib/x86_64-linux-gnu/libc.so.6.${i % 100}`.slice(0, 40), u8.subarray(at + 28, at + 284));
}
const utf8 = new TextDecoder();

// Alternatives: each takes (view, offset, size) -> string
function textDecoderCString(v, offset, size) {
  const bytes = new Uint8Array(v.buffer, v.byteOffset + offset, size);
  let end = bytes.indexOf(0);
  if (end < 0) end = size;
  return utf8.decode(bytes.subarray(0, end));
}
function latin1CString(_v, offset, size) {
  // Buffer over the same memory, created once per batch (here: once)
  let end = nodeBuf.indexOf(0, offset);
  if (end < 0 || end > offset + size) end = offset + size;
  return nodeBuf.latin1Slice(offset, end);
}
function utf8SliceCString(_v, offset, size) {
  let end = nodeBuf.indexOf(0, offset);
  if (end < 0 || end > offset + size) end = offset + size;
  return nodeBuf.utf8Slice(offset, end);
}
function asciiLoopCString(_v, offset, size) {
  // scan once over the shared Uint8Array (no view allocation), fall back to TextDecoder for non-ASCII
  let s = "";
  const lim = offset + size;
  for (let i = offset; i < lim; i++) {
    const c = u8[i];
    if (c === 0) return s;
    if (c >= 0x80) return textDecoderCString(view, offset, size);
    s += String.fromCharCode(c);
  }
  return s;
}

// A fresh copy of the timing loop per case, so each case's call site stays monomorphic.
const loopSource = `return function run(fn, N, REC, reps) {
  let sink = 0;
  for (let k = 0; k < reps; k++) for (let i = 0; i < N; i++) sink += fn(i * REC);
  return sink;
}`;
function scanSliceCString(_v, offset, size) {
  // one scan over the batch's bytes for NUL and any byte >= 0x80, then a native slice:
  // latin1Slice is exact for pure ASCII, utf8Slice (same replacement rules as TextDecoder) otherwise
  const lim = offset + size;
  let high = 0;
  let i = offset;
  for (; i < lim; i++) {
    const c = u8[i];
    if (c === 0) break;
    high |= c;
  }
  return high & 0x80 ? nodeBuf.utf8Slice(offset, i) : nodeBuf.latin1Slice(offset, i);
}

// Interning for short fixed-size strings (comm): a 256-entry direct-mapped cache keyed by the
// field's 16 bytes read as four u32. A hit returns the same string with no allocation.
const CACHE = 256;
const cacheKeys = new Uint32Array(CACHE * 4);
const cacheVals = new Array(CACHE).fill(undefined);
function internedComm(v, offset) {
  const a = v.getUint32(offset, true), b = v.getUint32(offset + 4, true), c = v.getUint32(offset + 8, true), d = v.getUint32(offset + 12, true);
  const slot = (Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b) ^ d, 0x27d4eb2f) >>> 24) & (CACHE - 1);
  const k = slot * 4;
  const hit = cacheVals[slot];
  if (hit !== undefined && cacheKeys[k] === a && cacheKeys[k + 1] === b && cacheKeys[k + 2] === c && cacheKeys[k + 3] === d) return hit;
  const s = scanSliceCString(v, offset, 16);
  cacheKeys[k] = a; cacheKeys[k + 1] = b; cacheKeys[k + 2] = c; cacheKeys[k + 3] = d;
  cacheVals[slot] = s;
  return s;
}

function bench(fn) {
  const loop = new Function(loopSource)();
  const rounds = [];
  const reps = 40;
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    const sink = loop(fn, N, REC, reps);
    const ns = Number(process.hrtime.bigint() - t0) / (reps * N);
    if (sink === 42) console.log(""); // keep sink alive
    rounds.push(ns);
  }
  rounds.sort((a, b) => a - b);
  return rounds[3];
}

const rows = [];
const add = (name, ns, refName, refNs, note) => rows.push({ name, ns, refName, refNs, note });

for (const [field, off, size] of [["comm16", 12, 16], ["filename256", 28, 256]]) {
  const ref = bench((o) => readCString(view, o + off, size).length);
  add(`${field}.readCString`, ref, "readCString", ref, field === "comm16" ? "current runtime: the intern cache" : "current runtime: indexOf (memchr) + utf8Slice");
  add(`${field}.TextDecoder`, bench((o) => textDecoderCString(view, o + off, size).length), "readCString", ref);
  add(`${field}.buffer_latin1Slice`, bench((o) => latin1CString(view, o + off, size).length), "readCString", ref, "not UTF-8: bytes >= 0x80 differ");
  add(`${field}.buffer_utf8Slice`, bench((o) => utf8SliceCString(view, o + off, size).length), "readCString", ref, "what readCString does for long strings, without its bounds checks");
  add(`${field}.scan_then_latin1_or_utf8Slice`, bench((o) => scanSliceCString(view, o + off, size).length), "readCString", ref, "exact UTF-8 semantics; the previous runtime (a JS byte loop)");
  add(`${field}.ascii_loop_no_view`, bench((o) => asciiLoopCString(view, o + off, size).length), "readCString", ref);
}
{
  const ref = rows.find((r) => r.name === "comm16.readCString").ns;
  add("comm16.interned_cache", bench((o) => internedComm(view, o + 12).length), "readCString", ref, "hit path (comm repeats), called directly");
}
const big = bench((o) => Number(view.getBigUint64(o, true) & 1n));
add("u64.getBigUint64", big, "getBigUint64", big, "current: a BigInt per u64 field (exact)");
add("u64.two_getUint32_to_number", bench((o) => (view.getUint32(o + 4, true) * 4294967296 + view.getUint32(o, true)) & 1), "getBigUint64", big, "exact only below 2^53");
add("u64.getFloat64_bits_skip", bench((o) => (view.getUint32(o, true) & 1)), "getBigUint64", big, "lower bound: one u32 read");

if (process.argv.includes("--json")) process.stdout.write(JSON.stringify(rows) + "\n");
else for (const r of rows) console.log(`${r.name.padEnd(36)} ${r.ns.toFixed(1).padStart(8)} ns  ${(r.ns / r.refNs).toFixed(2)}x ${r.refName}${r.note ? `  # ${r.note}` : ""}`);
