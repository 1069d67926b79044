// Helpers generated decoders/encoders call: fixed-size C strings (char comm[16],
// char filename[256]: NUL-terminated, UTF-8, zero-padded), checked integers and bools, and
// arrays of integers (u8 saddr[4], u64 args[6]), at the end of this file.
//
// readCString is on every event's path (once per string field), so it allocates
// nothing on its common paths (docs/performance.md, "Event path after the runtime work"):
//   - one Buffer over the view's whole ArrayBuffer, remembered for the last
//     ArrayBuffer seen (the ring reader reuses one batch buffer), instead of a
//     Uint8Array per call;
//   - char[16] (comm, TASK_COMM_LEN) goes through a small direct-mapped intern
//     cache keyed by all 16 bytes, read as four u32 and compared in full on a hit,
//     so a hit is exact for every byte sequence and returns the same string;
//   - otherwise Buffer#indexOf finds the NUL (memchr) and Buffer#utf8Slice decodes
//     (the same WHATWG replacement rules as TextDecoder: invalid bytes become U+FFFD).

import { checkBool, checkInt, describeValue, withSubject, type IntTypeName } from "./values.js";

const utf8 = new TextDecoder("utf-8"); // replaces invalid bytes with U+FFFD, never throws
const utf8Encoder = new TextEncoder();

type Bytes = Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };
const hasSlices =
  typeof (Buffer.prototype as Partial<Bytes>).latin1Slice === "function" &&
  typeof (Buffer.prototype as Partial<Bytes>).utf8Slice === "function";

// The last ArrayBuffer a string was read from, and a Buffer over all of it (no copy).
// Holds at most one ArrayBuffer alive after its stream is gone.
let lastBuffer: ArrayBufferLike | undefined;
let lastBytes: Bytes | undefined;

function bytesOf(buffer: ArrayBufferLike): Bytes {
  if (buffer !== lastBuffer || lastBytes === undefined) {
    lastBytes = Buffer.from(buffer as ArrayBuffer) as Bytes;
    lastBuffer = buffer;
  }
  return lastBytes;
}

/** Reads a NUL-terminated string from `size` bytes at `offset` (all of them if there is no NUL). */
export function readCString(view: DataView, offset: number, size: number): string {
  if (size === 16) return readShort16(view, offset);
  return readUntilNul(view, offset, size);
}

/** Reads `count` NUL-terminated strings of `size` bytes each, one after another from `offset` (a list such as argv). */
export function readCStrings(view: DataView, offset: number, size: number, count: number): string[] {
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) out[i] = readCString(view, offset + i * size, size);
  return out;
}

function readUntilNul(view: DataView, offset: number, size: number): string {
  const start = view.byteOffset + offset;
  const end = start + size;
  const bytes = bytesOf(view.buffer);
  // Out of range, resized or detached buffers: the checked slow path (throws RangeError like before).
  if (!hasSlices || offset < 0 || size < 0 || offset + size > view.byteLength || end > bytes.length) return readSlow(view, offset, size);
  // Native memchr and UTF-8 decode: no per-byte JS, which also keeps a cold (not yet
  // optimised) reader fast while a burst fills the ring.
  let nul = bytes.indexOf(0, start);
  if (nul < 0 || nul > end) nul = end;
  return bytes.utf8Slice(start, nul);
}

function readSlow(view: DataView, offset: number, size: number): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, size);
  let end = bytes.indexOf(0);
  if (end < 0) end = size;
  return utf8.decode(bytes.subarray(0, end));
}

// Intern cache for char[16]: SLOTS entries, key = the 16 bytes as four i32. A busy machine's
// few hundred command names (a syscount map keyed by pid and comm) fit: at 256 slots, 500 names
// missed ~90 % of reads (~90 ns each to decode), at 4096 they hit (~14 ns); 96 KiB in all.
const SLOT_BITS = 12;
const SLOTS = 1 << SLOT_BITS;
const internKeys = new Int32Array(SLOTS * 4);
const internValues: Array<string | undefined> = new Array<string | undefined>(SLOTS).fill(undefined);

function readShort16(view: DataView, offset: number): string {
  // DataView getters check bounds (RangeError), as the Uint8Array constructor did.
  const a = view.getInt32(offset, true);
  const b = view.getInt32(offset + 4, true);
  const c = view.getInt32(offset + 8, true);
  const d = view.getInt32(offset + 12, true);
  const slot = (Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b) ^ d, 0x27d4eb2f) >>> (32 - SLOT_BITS));
  const k = slot << 2;
  const hit = internValues[slot];
  if (hit !== undefined && internKeys[k] === a && internKeys[k + 1] === b && internKeys[k + 2] === c && internKeys[k + 3] === d) {
    return hit;
  }
  const s = readUntilNul(view, offset, 16);
  internKeys[k] = a;
  internKeys[k + 1] = b;
  internKeys[k + 2] = c;
  internKeys[k + 3] = d;
  internValues[slot] = s;
  return s;
}

/** For tests: forget the cached Buffer and the interned strings. */
export function resetStringCaches(): void {
  lastBuffer = lastBytes = undefined;
  internKeys.fill(0);
  internValues.fill(undefined);
}

// Encoders: what generated map codecs call to write a JS value into C bytes. Each checks the
// value first (see values.ts), so a key that does not fit is refused instead of wrapping;
// `member` names the struct member being written, for the message.

/**
 * Writes `value` as UTF-8 into `size` bytes at `offset`, NUL-terminated and zero-padded;
 * throws TypeError when it is not a string, RangeError when it does not fit (with its NUL).
 */
export function writeCString(view: DataView, offset: number, size: number, value: unknown, member?: string): void {
  const expected = `a string of at most ${size - 1} UTF-8 bytes`;
  if (typeof value !== "string") throw memberError(member, value, new TypeError(`must be ${expected}, got ${describeValue(value)}`));
  const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, size);
  const { read, written } = utf8Encoder.encodeInto(value, bytes);
  if (read !== value.length || written >= size) {
    throw memberError(member, value, new RangeError(`must be ${expected}, got ${utf8Encoder.encode(value).length} bytes`));
  }
  bytes.fill(0, written);
}

const INT_WRITERS: Record<IntTypeName, (view: DataView, offset: number, value: number | bigint) => void> = {
  u8: (view, offset, v) => view.setUint8(offset, Number(v)),
  i8: (view, offset, v) => view.setInt8(offset, Number(v)),
  u16: (view, offset, v) => view.setUint16(offset, Number(v), true),
  i16: (view, offset, v) => view.setInt16(offset, Number(v), true),
  u32: (view, offset, v) => view.setUint32(offset, Number(v), true),
  i32: (view, offset, v) => view.setInt32(offset, Number(v), true),
  u64: (view, offset, v) => view.setBigUint64(offset, BigInt(v), true),
  i64: (view, offset, v) => view.setBigInt64(offset, BigInt(v), true),
};

/** Writes an integer of C type `type` (little-endian); throws when `value` is not one. */
export function writeInt(view: DataView, offset: number, type: IntTypeName, value: unknown, member?: string): void {
  let v: number | bigint;
  try {
    v = checkInt(value, type);
  } catch (err) {
    throw memberError(member, value, err);
  }
  INT_WRITERS[type](view, offset, v);
}

/** Writes a C bool (one byte, 0 or 1); throws when `value` is not a boolean. */
export function writeBool(view: DataView, offset: number, value: unknown, member?: string): void {
  try {
    view.setUint8(offset, checkBool(value) ? 1 : 0);
  } catch (err) {
    throw memberError(member, value, err);
  }
}

/**
 * Starts encoding a struct: checks `value` is an object (its members are checked as they are
 * written) and zeroes `size` bytes at `offset`, so padding never carries stale bytes into a key.
 */
export function beginStruct(view: DataView, offset: number, size: number, value: unknown, members: readonly string[]): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`must be an object with members ${members.join(", ")}, got ${describeValue(value)}`);
  }
  zeroBytes(view, offset, size);
}

/** A checker's error about a struct member: "member 'uid' must be ...", or "... is missing". */
function memberError(member: string | undefined, value: unknown, err: unknown): unknown {
  if (member === undefined || !(err instanceof Error)) return err;
  if (value === undefined) return new TypeError(`member '${member}' is missing: it ${err.message.replace(/, got undefined$/, "")}`);
  return withSubject(`member '${member}'`, err);
}

/** Zeroes `size` bytes at `offset`: encoders call it first so struct padding never carries stale bytes into a map key. */
export function zeroBytes(view: DataView, offset: number, size: number): void {
  new Uint8Array(view.buffer, view.byteOffset + offset, size).fill(0);
}

// Arrays (u8 saddr[4], unsigned long args[6]) are copied out of the record: the ring reader
// reuses its batch buffer, so a view into it would change under the caller.

/** Copies `length` bytes at `offset` (a u8[N] field) into a new Uint8Array. */
export function readBytes(view: DataView, offset: number, length: number): Uint8Array {
  if (offset < 0 || offset + length > view.byteLength) throw new RangeError(`u8[${length}] at offset ${offset} is outside the ${view.byteLength}-byte record`);
  return new Uint8Array(view.buffer, view.byteOffset + offset, length).slice();
}

/** Reads `length` little-endian integers of 1, 2 or 4 bytes (u16[8], i32[4]...). */
export function readInts(view: DataView, offset: number, length: number, size: 1 | 2 | 4, signed: boolean): number[] {
  const out = new Array<number>(length);
  for (let i = 0, at = offset; i < length; i++, at += size) {
    out[i] = size === 1 ? (signed ? view.getInt8(at) : view.getUint8(at))
      : size === 2 ? (signed ? view.getInt16(at, true) : view.getUint16(at, true))
      : signed ? view.getInt32(at, true) : view.getUint32(at, true);
  }
  return out;
}

/** Reads `length` little-endian 64-bit integers (u64[6]) as bigints, like every 64-bit field. */
export function readBigInts(view: DataView, offset: number, length: number, signed: boolean): bigint[] {
  const out = new Array<bigint>(length);
  for (let i = 0; i < length; i++) out[i] = signed ? view.getBigInt64(offset + i * 8, true) : view.getBigUint64(offset + i * 8, true);
  return out;
}

/** Writes exactly `length` integers of 1, 2 or 4 bytes (a Uint8Array for u8[N]); RangeError on a wrong length or value. */
export function writeInts(view: DataView, offset: number, length: number, size: 1 | 2 | 4, signed: boolean, values: ArrayLike<number>): void {
  checkLength(values, length, `${signed ? "i" : "u"}${size * 8}`);
  const bits = size * 8;
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  for (let i = 0, at = offset; i < length; i++, at += size) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`element ${i} (${v}) is not a ${signed ? "i" : "u"}${bits}`);
    if (size === 1) view.setUint8(at, v & 0xff);
    else if (size === 2) view.setUint16(at, v & 0xffff, true);
    else view.setUint32(at, v >>> 0, true);
  }
}

/** Writes exactly `length` 64-bit integers; RangeError on a wrong length or value. */
export function writeBigInts(view: DataView, offset: number, length: number, signed: boolean, values: ArrayLike<bigint>): void {
  checkLength(values, length, signed ? "i64" : "u64");
  for (let i = 0; i < length; i++) {
    const v = values[i]!;
    if (signed ? BigInt.asIntN(64, v) !== v : BigInt.asUintN(64, v) !== v) throw new RangeError(`element ${i} (${v}) is not a ${signed ? "i" : "u"}64`);
    view.setBigUint64(offset + i * 8, BigInt.asUintN(64, v), true);
  }
}

function checkLength(values: ArrayLike<unknown>, length: number, element: string): void {
  if (values.length !== length) throw new RangeError(`expected ${length} elements for ${element}[${length}], got ${values.length}`);
}
