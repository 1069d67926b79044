// A hand-modified copy of a generated loader, to measure proposed decoder changes before the
// compiler and runtime owners apply them. Derived from the real generated file at bench time, so it
// only differs in the decoding of fixed-size strings:
//   - char[N] fields with N <= 16 (comm) go through a 256-entry direct-mapped intern cache keyed by
//     the field's bytes (a hit returns the same string: no scan, no allocation);
//   - longer strings: one scan for NUL / bytes >= 0x80 over a Uint8Array made once per batch, then
//     Buffer latin1Slice (pure ASCII) or utf8Slice (same result as TextDecoder), instead of
//     readCString's per-call Uint8Array and char-by-char string building.
//   node bench/prototype.mjs GENERATED_LOADER.mjs OUT.mjs
import { readFileSync, writeFileSync } from "node:fs";

const helpers = `
// ---- bench prototype: proposed string decoding (see bench/prototype.mjs) ----
let pgBuf = Buffer.alloc(0);
let pgBufSrc = null;
function pgBytes(view) {
  if (pgBufSrc !== view.buffer) { pgBufSrc = view.buffer; pgBuf = Buffer.from(view.buffer); }
  return pgBuf;
}
function pgString(view, offset, size) {
  const b = pgBytes(view);
  const start = view.byteOffset + offset, lim = start + size;
  let high = 0, i = start;
  for (; i < lim; i++) { const c = b[i]; if (c === 0) break; high |= c; }
  return high & 0x80 ? b.utf8Slice(start, i) : b.latin1Slice(start, i);
}
const PG_SLOTS = 256;
const pgKeys = new Int32Array(PG_SLOTS * 4);
const pgVals = new Array(PG_SLOTS).fill(undefined);
function pgShortString(view, offset, size) {
  if (size !== 16) return pgString(view, offset, size);
  const a = view.getInt32(offset, true), b = view.getInt32(offset + 4, true), c = view.getInt32(offset + 8, true), d = view.getInt32(offset + 12, true);
  const slot = (Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b) ^ d, 0x27d4eb2f) >>> 24) & (PG_SLOTS - 1);
  const k = slot * 4;
  const hit = pgVals[slot];
  if (hit !== undefined && pgKeys[k] === a && pgKeys[k + 1] === b && pgKeys[k + 2] === c && pgKeys[k + 3] === d) return hit;
  const s = pgString(view, offset, size);
  pgKeys[k] = a; pgKeys[k + 1] = b; pgKeys[k + 2] = c; pgKeys[k + 3] = d;
  pgVals[slot] = s;
  return s;
}
`;

export function patchLoader(text) {
  const patched = text.replace(/readCString\(view, ([^,]+), (\d+)\)/g, (_m, off, size) =>
    Number(size) <= 16 ? `pgShortString(view, ${off}, ${size})` : `pgString(view, ${off}, ${size})`,
  );
  return patched + helpers;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  const [from, to] = process.argv.slice(2);
  if (from && to) writeFileSync(to, patchLoader(readFileSync(from, "utf8")));
}
