// Helpers generated decoders/encoders call for fixed-size C strings
// (char comm[16], char filename[256]): NUL-terminated, UTF-8, zero-padded.
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

// Intern cache for char[16]: SLOTS entries, key = the 16 bytes as four i32.
const SLOTS = 256;
const internKeys = new Int32Array(SLOTS * 4);
const internValues: Array<string | undefined> = new Array<string | undefined>(SLOTS).fill(undefined);

function readShort16(view: DataView, offset: number): string {
  // DataView getters check bounds (RangeError), as the Uint8Array constructor did.
  const a = view.getInt32(offset, true);
  const b = view.getInt32(offset + 4, true);
  const c = view.getInt32(offset + 8, true);
  const d = view.getInt32(offset + 12, true);
  const slot = (Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b) ^ d, 0x27d4eb2f) >>> 24) & (SLOTS - 1);
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

/**
 * Writes `value` as UTF-8 into `size` bytes at `offset`, NUL-terminated and
 * zero-padded; throws RangeError when it does not fit (with its NUL).
 */
export function writeCString(view: DataView, offset: number, size: number, value: string): void {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, size);
  const { read, written } = utf8Encoder.encodeInto(value, bytes);
  if (read !== value.length || written >= size) {
    throw new RangeError(`string of ${utf8Encoder.encode(value).length} UTF-8 bytes does not fit in char[${size}] with its NUL`);
  }
  bytes.fill(0, written);
}

/** Zeroes `size` bytes at `offset`: encoders call it first so struct padding never carries stale bytes into a map key. */
export function zeroBytes(view: DataView, offset: number, size: number): void {
  new Uint8Array(view.buffer, view.byteOffset + offset, size).fill(0);
}
