/**
 * Field codecs used by generated decoders. Strings are the hot spot of decoding: most are short
 * ASCII (comm, paths), so those are built with String.fromCharCode over the bytes instead of a
 * TextDecoder call, which costs more than the whole record's other fields.
 */

const utf8 = new TextDecoder("utf-8", { fatal: false });
const encoder = new TextEncoder();

/** Reads a NUL-terminated string from a char[size] at `offset`. */
export function readCString(view: DataView, offset: number, size: number): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, size);
  let end = 0;
  let ascii = true;
  while (end < size) {
    const b = bytes[end]!;
    if (b === 0) break;
    if (b > 0x7f) ascii = false;
    end++;
  }
  if (!ascii) return utf8.decode(bytes.subarray(0, end));
  if (end <= 64) {
    let s = "";
    for (let i = 0; i < end; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  }
  return String.fromCharCode.apply(null, bytes.subarray(0, end) as unknown as number[]);
}

/** Writes `value` as a NUL-terminated string into char[size] at `offset`, zero-filling the rest. */
export function writeCString(view: DataView, offset: number, size: number, value: string): void {
  const encoded = encoder.encode(value);
  if (encoded.length > size - 1) {
    throw new RangeError(`a string of ${encoded.length} bytes does not fit in char[${size}] (at most ${size - 1} bytes and a NUL)`);
  }
  const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, size);
  bytes.set(encoded);
  bytes.fill(0, encoded.length);
}

/** Zeroes `size` bytes at `offset` (struct padding must be zero in hash keys). */
export function zeroBytes(view: DataView, offset: number, size: number): void {
  new Uint8Array(view.buffer, view.byteOffset + offset, size).fill(0);
}
