import { describe, expect, it } from "vitest";

import { readCString, writeCString } from "../../src/runtime/index.js";

describe("C strings", () => {
  const buf = new ArrayBuffer(64);
  const view = new DataView(buf, 8); // non-zero byteOffset on purpose

  it("round-trips ASCII and UTF-8, zero-padding the rest", () => {
    writeCString(view, 4, 16, "bash");
    expect(readCString(view, 4, 16)).toBe("bash");
    expect(new Uint8Array(buf, 8 + 4 + 4, 12).every((b) => b === 0)).toBe(true);
    writeCString(view, 0, 32, "héllo/ü");
    expect(readCString(view, 0, 32)).toBe("héllo/ü");
  });

  it("reads all bytes when there is no NUL, and refuses strings that do not fit", () => {
    new Uint8Array(buf, 8, 4).set([0x61, 0x62, 0x63, 0x64]);
    expect(readCString(view, 0, 4)).toBe("abcd");
    expect(() => writeCString(view, 0, 4, "abcd")).toThrow(RangeError);
  });
});

describe("zeroBytes", () => {
  it("clears exactly the given range relative to the view", async () => {
    const { zeroBytes } = await import("../../src/runtime/index.js");
    const buf = new Uint8Array(16).fill(0xff);
    zeroBytes(new DataView(buf.buffer, 4), 2, 3);
    expect([...buf]).toEqual([...Array(6).fill(0xff), 0, 0, 0, ...Array(7).fill(0xff)]);
  });
});

describe("readCString fast paths (cached Buffer, char[16] intern cache, latin1/utf8 slices)", () => {
  const td = new TextDecoder();
  /** The reference semantics: bytes up to the first NUL (or all), decoded by TextDecoder. */
  const reference = (bytes: Uint8Array): string => {
    const end = bytes.indexOf(0);
    return td.decode(end < 0 ? bytes : bytes.subarray(0, end));
  };
  // deterministic pseudo-random bytes
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) & 0xff;

  it("matches TextDecoder for random bytes, ASCII, invalid UTF-8 and NUL-less fields, for char[16] and longer", () => {
    for (const size of [16, 15, 17, 64, 256]) {
      const n = 600;
      const buf = new ArrayBuffer(8 + n * size);
      const view = new DataView(buf, 8);
      const u8 = new Uint8Array(buf, 8);
      for (let i = 0; i < n; i++) {
        const field = u8.subarray(i * size, (i + 1) * size);
        const kind = i % 4;
        for (let j = 0; j < size; j++) {
          const r = rnd();
          // 0: random bytes; 1: ASCII with a NUL somewhere; 2: no NUL at all (fills the field); 3: UTF-8 text
          field[j] = kind === 0 ? r : kind === 2 ? 0x20 + (r % 0x5f) | (r & 0x80) : kind === 1 ? 0x21 + (r % 0x5e) : 0;
        }
        if (kind === 1) field[rnd() % size] = 0;
        if (kind === 3) new TextEncoder().encodeInto("é/ü€😀x".repeat(40).slice(0, rnd() % size), field);
      }
      for (let pass = 0; pass < 2; pass++) {
        // twice: the second pass reads char[16] through the intern cache
        for (let i = 0; i < n; i++) {
          expect(readCString(view, i * size, size)).toBe(reference(u8.subarray(i * size, (i + 1) * size)));
        }
      }
    }
  });

  it("never returns a cached string for different bytes (colliding slots, one byte apart)", () => {
    // 16384 comms in a 4096-slot cache: every slot is shared; neighbours differ in one byte only
    const n = 16384;
    const buf = new ArrayBuffer(n * 16);
    const u8 = new Uint8Array(buf);
    const view = new DataView(buf);
    for (let i = 0; i < n; i++) {
      new TextEncoder().encodeInto(`comm-${i.toString(16).padStart(4, "0")}`, u8.subarray(i * 16, i * 16 + 15));
      if (i % 7 === 0) u8.fill(0x61, i * 16, i * 16 + 16); // all 16 bytes, no NUL
      if (i % 11 === 0) u8[i * 16 + 15] = 0x80 | i; // a byte after the NUL differs: same string, other key
    }
    for (let round = 0; round < 3; round++) {
      for (let i = round; i < n; i += 1 + round) {
        expect(readCString(view, i * 16, 16)).toBe(reference(u8.subarray(i * 16, i * 16 + 16)));
      }
    }
  });

  it("sees new bytes written into the same buffer, and alternates between buffers", () => {
    const a = new ArrayBuffer(64);
    const b = new ArrayBuffer(64);
    const va = new DataView(a);
    const vb = new DataView(b, 16);
    for (let i = 0; i < 50; i++) {
      writeCString(va, 0, 16, `a${i}`);
      writeCString(va, 16, 40, `/tmp/a${i}`);
      writeCString(vb, 0, 16, `b${i}`);
      writeCString(vb, 16, 32, `/tmp/ß${i}`);
      expect(readCString(va, 0, 16)).toBe(`a${i}`);
      expect(readCString(vb, 0, 16)).toBe(`b${i}`);
      expect(readCString(va, 16, 40)).toBe(`/tmp/a${i}`);
      expect(readCString(vb, 16, 32)).toBe(`/tmp/ß${i}`);
    }
  });

  it("reads relative to the view.s byteOffset, and throws RangeError past the ArrayBuffer (as before)", () => {
    const buf = new ArrayBuffer(64);
    new Uint8Array(buf).fill(0x41);
    const view = new DataView(buf, 8, 32); // bytes 8..39
    expect(readCString(view, 0, 32)).toBe("A".repeat(32)); // no NUL: the whole field, not beyond the view
    expect(readCString(view, 16, 16)).toBe("A".repeat(16));
    expect(() => readCString(view, 20, 16)).toThrow(RangeError);
    expect(() => readCString(view, 50, 64)).toThrow(RangeError); // past the ArrayBuffer
    expect(readCString(view, 4, 0)).toBe("");
  });

  it("works on SharedArrayBuffer-backed views", () => {
    const sab = new SharedArrayBuffer(32);
    const view = new DataView(sab);
    new Uint8Array(sab).set(new TextEncoder().encode("shared ü"));
    expect(readCString(view, 0, 16)).toBe("shared ü");
    expect(readCString(view, 0, 32)).toBe("shared ü");
  });
});

describe("arrays", async () => {
  const { readBigInts, readBytes, readInts, writeBigInts, writeInts } = await import("../../src/runtime/index.js");
  const buf = new ArrayBuffer(64);
  const view = new DataView(buf, 8); // non-zero byteOffset on purpose

  it("round-trip bytes, narrow and 64-bit integers at the view's offsets", () => {
    writeInts(view, 0, 4, 1, false, Uint8Array.of(127, 0, 0, 1));
    writeInts(view, 4, 3, 2, true, [-1, 32767, -32768]);
    writeInts(view, 12, 2, 4, false, [4294967295, 7]);
    writeBigInts(view, 24, 2, true, [-2n, 9223372036854775807n]);
    expect(readBytes(view, 0, 4)).toEqual(Uint8Array.of(127, 0, 0, 1));
    expect(readInts(view, 4, 3, 2, true)).toEqual([-1, 32767, -32768]);
    expect(readInts(view, 12, 2, 4, false)).toEqual([4294967295, 7]);
    expect(readBigInts(view, 24, 2, true)).toEqual([-2n, 9223372036854775807n]);
    expect(readBigInts(view, 24, 1, false)).toEqual([2n ** 64n - 2n]);
  });

  it("readBytes copies: later writes to the record do not change it", () => {
    writeInts(view, 0, 2, 1, false, [1, 2]);
    const bytes = readBytes(view, 0, 2);
    writeInts(view, 0, 2, 1, false, [9, 9]);
    expect([...bytes]).toEqual([1, 2]);
    expect(bytes.buffer).not.toBe(buf);
  });

  it("refuses a wrong length, an element out of range, and bytes outside the record", () => {
    expect(() => writeInts(view, 0, 4, 1, false, [1, 2, 3])).toThrow(/expected 4 elements for u8\[4\], got 3/);
    expect(() => writeInts(view, 0, 1, 1, false, [256])).toThrow(/is not a u8/);
    expect(() => writeInts(view, 0, 1, 2, true, [1.5])).toThrow(/is not a i16/);
    expect(() => writeBigInts(view, 0, 1, false, [-1n])).toThrow(/is not a u64/);
    expect(() => readBytes(view, 50, 8)).toThrow(RangeError);
  });
});
