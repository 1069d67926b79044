/**
 * Decoders against bytes laid out by a C compiler: the generated event structs are compiled
 * into a host program that fills them and prints their bytes, and the generated TS decodes them.
 */
import { execa } from "execa";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { fixtureKernel } from "../helpers/compile.js";

const out = "test/.out/decode";

const spec = `name: roundtrip
programs:
  - attach: kprobe/some_function
    event: wide
    fields:
      - pid
      - comm
      - ktime
      - { name: small, from: arg0, type: u8 }
      - { name: short_signed, from: arg1, type: i16 }
      - { name: word, from: arg2, type: u32 }
      - { name: big_signed, from: arg3, type: i64 }
      - { name: yes, from: arg4, type: bool }
      - { name: path, from: arg4, type: user_string, size: 24 }
      - { name: ts, from: ktime, as: number }
      - { name: offset_signed, from: arg3, type: i64, as: number }
  - attach: kretprobe/some_function
    event: done
    fields:
      - { name: ret, from: retval, type: i8 }
      - { name: tiny_unsigned, from: retval, type: u16 }
`;

/** The struct declaration and its asserts, cut out of the generated C. */
function structBlock(c: string, name: string): string {
  const start = c.indexOf(`struct ${name} {`);
  const end = c.indexOf("\n\n", start);
  return c.slice(start, end === -1 ? undefined : end);
}

let decode: (view: DataView, offset: number) => Record<string, unknown>;
let cText: string;

async function hostBytes(program: string): Promise<Uint8Array> {
  const dir = join(out, "host");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "fill.c"), program);
  await execa("cc", ["-std=gnu11", "-Wall", "-Werror", "-o", join(dir, "fill"), join(dir, "fill.c")]);
  const { stdout } = await execa(join(dir, "fill"), { encoding: "buffer" });
  return new Uint8Array(stdout);
}

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "roundtrip.yaml"), spec);
  const [result] = await buildSpecs([join(out, "roundtrip.yaml")], { outDir: out, kernel: fixtureKernel });
  expect(result!.diagnostics).toEqual([]);
  cText = readFileSync(join(out, "roundtrip.bpf.c"), "utf8");
  const mod = await import(/* @vite-ignore */ `${process.cwd()}/${out}/roundtrip.ts`);
  decode = mod.decodeRoundtripEvent;
});

const prelude = `#include <linux/types.h>\n#include <stdio.h>\n#include <string.h>\n`;

describe("generated decoders read what C wrote", () => {
  it("every integer width, signedness, bool and strings", async () => {
    const bytes = await hostBytes(`${prelude}
${structBlock(cText, "pg_event_wide")}
int main(void) {
  struct pg_event_wide e;
  memset(&e, 0xA5, sizeof e); /* garbage everywhere a field does not write */
  e.pg_type = 1;
  e.pid = 4000000001u;
  strcpy(e.comm, "fifteen-chars!!");
  e.ktime = 18446744073709551614ull;
  e.small = 200;
  e.short_signed = -30000;
  e.word = 0xdeadbeef;
  e.big_signed = -4611686018427387904ll;
  e.yes = 1;
  strcpy(e.path, "/tmp/\\303\\274n\\303\\257code");
  e.ts = 9007199254740991ull; /* 2^53 - 1: the largest exact */
  e.offset_signed = -4503599627370497ll; /* -(2^52 + 1) */
  fwrite(&e, sizeof e, 1, stdout);
  return 0;
}`);
    expect(decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0)).toEqual({
      type: "wide",
      pid: 4000000001,
      comm: "fifteen-chars!!",
      ktime: 18446744073709551614n,
      small: 200,
      shortSigned: -30000,
      word: 0xdeadbeef,
      bigSigned: -4611686018427387904n,
      yes: true,
      path: "/tmp/ünïcode",
      ts: 9007199254740991,
      offsetSigned: -4503599627370497,
    });
  });

  it("a string that fills its array has no NUL and is read to the end", async () => {
    const bytes = await hostBytes(`${prelude}
${structBlock(cText, "pg_event_wide")}
int main(void) {
  struct pg_event_wide e;
  memset(&e, 0, sizeof e);
  e.pg_type = 1;
  memcpy(e.comm, "sixteen-chars!!!", 16);
  fwrite(&e, sizeof e, 1, stdout);
  return 0;
}`);
    expect(decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0).comm).toBe("sixteen-chars!!!");
  });

  it("the tag selects the event type, at an offset inside a batch", async () => {
    const bytes = await hostBytes(`${prelude}
${structBlock(cText, "pg_event_done")}
int main(void) {
  struct pg_event_done e;
  memset(&e, 0xA5, sizeof e);
  e.pg_type = 2;
  e.ret = -5;
  e.tiny_unsigned = 65535;
  fwrite("12345678", 8, 1, stdout);
  fwrite(&e, sizeof e, 1, stdout);
  return 0;
}`);
    expect(decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 8)).toEqual({ type: "done", ret: -5, tinyUnsigned: 65535 });
  });

  it("an unknown tag is an error, not a wrong object", () => {
    const view = new DataView(new ArrayBuffer(64));
    view.setUint32(0, 9, true);
    expect(() => decode(view, 0)).toThrow(/unknown event type 9/);
  });
});
