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
