// Helpers generated decoders/encoders call for fixed-size C strings
// (char comm[16], char filename[256]): NUL-terminated, UTF-8, zero-padded.

const utf8 = new TextDecoder("utf-8"); // replaces invalid bytes with U+FFFD, never throws
const utf8Encoder = new TextEncoder();

/** Reads a NUL-terminated string from `size` bytes at `offset` (all of them if there is no NUL). */
export function readCString(view: DataView, offset: number, size: number): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, size);
  let end = bytes.indexOf(0);
  if (end < 0) end = size;
  // Short ASCII (comm, most paths) is cheaper to build by hand than through TextDecoder.
  if (end <= 64) {
    let s = "";
    for (let i = 0; i < end; i++) {
      const c = bytes[i];
      if (c >= 0x80) return utf8.decode(bytes.subarray(0, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(bytes.subarray(0, end));
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
