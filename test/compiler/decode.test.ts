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
  - attach: tracepoint/sock/inet_sock_set_state
    event: addrs
    fields:
      - saddr
      - saddr_v6
      - name: halves
        from: saddr_v6
        type: i16[8]
      - sport
  - attach: tracepoint/raw_syscalls/sys_enter
    event: sys
    fields:
      - args
      - name: signed_args
        from: args
        type: i64[2]
      - name: low_words
        from: args
        type: u32[3]
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

  it("arrays: bytes as Uint8Array copies, wider elements as numbers and bigints", async () => {
    const bytes = await hostBytes(`${prelude}
${structBlock(cText, "pg_event_addrs")}
int main(void) {
  struct pg_event_addrs e;
  memset(&e, 0xA5, sizeof e);
  e.pg_type = 3;
  const __u8 lo[4] = { 127, 0, 0, 1 };
  memcpy(e.saddr, lo, 4);
  for (int i = 0; i < 16; i++) e.saddr_v6[i] = (__u8)(0xf0 + i);
  for (int i = 0; i < 8; i++) e.halves[i] = (__s16)(i % 2 ? -1 - i : 1000 * i);
  e.sport = 8080;
  fwrite(&e, sizeof e, 1, stdout);
  return 0;
}`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const ev = decode(view, 0) as { saddr: Uint8Array; saddrV6: Uint8Array };
    expect(ev).toEqual({
      type: "addrs",
      saddr: Uint8Array.of(127, 0, 0, 1),
      saddrV6: Uint8Array.from({ length: 16 }, (_, i) => 0xf0 + i),
      halves: [0, -2, 2000, -4, 4000, -6, 6000, -8],
      sport: 8080,
    });
    // A copy: the record's bytes can be reused (the ring reader reuses its batch buffer).
    new Uint8Array(bytes.buffer).fill(0);
    expect([...ev.saddr]).toEqual([127, 0, 0, 1]);
  });

  it("arrays of 64-bit elements, and a prefix read as other elements", async () => {
    const bytes = await hostBytes(`${prelude}
${structBlock(cText, "pg_event_sys")}
int main(void) {
  struct pg_event_sys e;
  memset(&e, 0xA5, sizeof e);
  e.pg_type = 4;
  for (int i = 0; i < 6; i++) e.args[i] = 0xfffffffffffffff0ull + i;
  e.signed_args[0] = -1;
  e.signed_args[1] = 9223372036854775807ll;
  e.low_words[0] = 1; e.low_words[1] = 4294967295u; e.low_words[2] = 3;
  fwrite(&e, sizeof e, 1, stdout);
  return 0;
}`);
    expect(decode(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0)).toEqual({
      type: "sys",
      args: [0, 1, 2, 3, 4, 5].map((i) => 0xfffffffffffffff0n + BigInt(i)),
      signedArgs: [-1n, 9223372036854775807n],
      lowWords: [1, 4294967295, 3],
    });
  });

  it("an unknown tag is an error, not a wrong object", () => {
    const view = new DataView(new ArrayBuffer(64));
    view.setUint32(0, 9, true);
    expect(() => decode(view, 0)).toThrow(/unknown event type 9/);
  });
});
