/**
 * Numbers and expressions (issue 13): the smallest trigger of each bug class the spec fuzzer
 * found. Literals are exact integers checked against the type they go into; what C leaves
 * undefined (a division by zero, a shift past the width) or clang folds away (a comparison the
 * operand's type decides) is a located diagnostic; what clang's BPF backend cannot compile
 * (signed division) compiles.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { fixtureKernel, frontEnd, located } from "../helpers/compile.js";

const program = (extra: string, rest = "") =>
  `name: t\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n${extra}${rest}`;
const withFilter = (filter: string) => program(`    filter: ${JSON.stringify(filter)}\n    fields: [pid]\n`);
const withMap = (map: string, update: string, params = "") =>
  program(`    update: [${update}]\n`, `maps:\n  m: ${map}\n${params}`);
const keyed = (keyType: string, key: string) => withMap(`{ type: hash, key: ${keyType}, value: u64 }`, `{ map: m, key: ${key}, count: true }`);

/** Each diagnostic as "line:column: message". */
function where(text: string): string[] {
  return located(frontEnd(text).diagnostics).map((l) => l.replace(/^probes\/test\.yaml:/, ""));
}

describe("numbers are exact integers, checked against their type", () => {
  it("a key of 2^64 is refused at the key, printed in digits", () => {
    expect(where(keyed("u64", "18446744073709551616"))).toEqual(["4:29: value: 18446744073709551616 does not fit in 64 bits (-9223372036854775808 to 18446744073709551615)"]);
  });

  it("the largest u64, which YAML alone would read as 2^64, is a key as written", () => {
    const { probe, diagnostics } = frontEnd(keyed("u64", "18446744073709551615"));
    expect(diagnostics).toEqual([]);
    const key = probe!.programs[0]!.updates[0]!.key;
    expect(key.kind === "scalar" && key.expr.kind === "int" && key.expr.value).toBe(18446744073709551615n);
  });

  it("a number in exponent form is refused with its digits, not as 1e+21", () => {
    expect(where(keyed("u64", "1e21"))).toEqual(["4:29: value: 1000000000000000000000 does not fit in 64 bits (-9223372036854775808 to 18446744073709551615)"]);
  });

  it("a key literal outside the key's type names the type's range", () => {
    expect(where(keyed("u32", "4294967296"))).toEqual(["4:29: 4294967296 does not fit in u32 (0 to 4294967295)"]);
    expect(where(keyed("u8", "-1"))).toEqual(["4:29: -1 does not fit in u8 (0 to 255)"]);
    expect(where(keyed("bool", "2"))).toEqual(["4:29: 2 does not fit in bool (0 or 1)"]);
  });

  it("a fraction where an integer goes is refused", () => {
    expect(where(keyed("u64", "1.5"))).toEqual(["4:29: 'programs.0.update.0.key' must be a string, not a number (1.5)"]);
  });

  it("a parameter's default is checked exactly, and shown in digits", () => {
    const param = (type: string, value: string) => withFilter("pid != params.p") + `params:\n  p: { type: ${type}, default: ${value} }\n`;
    expect(where(param("u64", "18446744073709551615"))).toEqual([]);
    expect(where(param("u64", "18446744073709551616"))).toEqual(["7:28: the default 18446744073709551616 does not fit in u64 (0 to 18446744073709551615)"]);
    expect(where(param("i64", "1e21"))).toEqual(["7:28: the default 1000000000000000000000 does not fit in i64 (-9223372036854775808 to 9223372036854775807)"]);
    const digits = `1${"0".repeat(400)}`;
    expect(where(param("u64", digits))).toEqual(["7:28: 'params.p.default' is 10000000000000000000... (a 401-digit number), which no 64-bit integer holds"]);
  });

  it("a ring buffer size is shown in digits", () => {
    const text = program("    fields: [pid]\n    output: r\n", "maps:\n  r: { type: ringbuf, size: 1e30 }\n");
    expect(where(text)).toEqual(["7:29: ring buffer size 1000000000000000000000000000000 is not a power of two from 4 KiB to 2 GiB (the kernel's limit)"]);
  });

  it("lhist bounds beyond what the loader's numbers hold are refused at the bound", () => {
    const text = withMap("{ type: hash, key: u32, value: { lhist: { min: 0, max: 1e21, step: 1e20 } } }", "{ map: m, key: pid, hist: ktime }");
    expect(where(text)).toEqual([
      "6:61: lhist max 1000000000000000000000 does not fit in a JS number (-9007199254740991 to 9007199254740991)",
      "6:73: lhist step 100000000000000000000 does not fit in a JS number (-9007199254740991 to 9007199254740991)",
    ]);
  });

});

describe("what C leaves undefined is a diagnostic at its place", () => {
  it.each([
    ["pid / 0 == 0", "4:20: filter: division by zero"],
    ["args.flags % 0 != 7", "4:27: filter: remainder by zero"],
    ["args.flags % (1 - 1) != 7", "4:28: filter: remainder by zero"],
    ["(1 << 64) != 7", "4:20: filter: a shift by 64: values are 64-bit, so a shift count goes from 0 to 63"],
    ["(ktime >> 65) != 7", "4:24: filter: a shift by 65: values are 64-bit, so a shift count goes from 0 to 63"],
    ["(pid << (0 - 1)) != 7", "4:23: filter: a shift by 18446744073709551615: values are 64-bit, so a shift count goes from 0 to 63"],
  ])("%s", (filter, message) => {
    expect(where(withFilter(filter))).toEqual([message]);
  });

  it("a division by zero in an update's value is refused at the divisor", () => {
    expect(where(withMap("{ type: hash, key: u32, value: u64 }", "{ map: m, key: pid, sum: 'args.flags % 0' }"))).toEqual(["4:53: sum: remainder by zero"]);
  });
});

describe("conditions that are always false are refused", () => {
  it("a comparison the operand's type decides", () => {
    expect(where(withFilter("pid == 5000000000"))).toEqual(["4:14: filter: this comparison is always false: pid is u32, from 0 to 4294967295"]);
    expect(where(withFilter("(pid >> 32) == 7"))).toEqual(["4:15: this filter is always false: the program would never emit an event or update a map"]);
    expect(where(withFilter("(pid >> 31) == 7"))).toEqual(["4:15: filter: this comparison is always false: the value is always from 0 to 1"]);
    expect(where(withFilter("uid >= 0 && pid == 1"))).toEqual(["4:14: filter: this comparison is always true: uid is u32, from 0 to 4294967295"]);
  });

  it("a filter that is a constant false", () => {
    expect(where(withFilter("1 == 2"))).toEqual(["4:14: this filter is always false: the program would never emit an event or update a map"]);
    expect(where(withFilter("0"))).toEqual(["4:14: this filter is always false: the program would never emit an event or update a map"]);
  });

  it("an update's 'if' that is a constant false", () => {
    expect(where(withMap("{ type: hash, key: u32, value: u64 }", "{ map: m, key: pid, count: true, if: '2 < 1' }"))).toEqual(["4:52: this 'if' is always false: the update would never happen"]);
  });

  it("conditions that depend on the values are kept", () => {
    for (const filter of ["pid == 1", "args.dfd < 0 || pid != 0", "(args.flags & 0x40) != 0", "pid < 4294967295", "-1 < args.dfd"]) {
      expect(where(withFilter(filter)), filter).toEqual([]);
    }
  });
});

describe("expressions clang used to reject compile", () => {
  const out = "test/.out/fuzz-numbers";
  const build = async (name: string, text: string) => {
    mkdirSync(out, { recursive: true });
    writeFileSync(`${out}/${name}.yaml`, text);
    const [r] = await buildSpecs([`${out}/${name}.yaml`], { outDir: out, kernel: fixtureKernel });
    return { diagnostics: located(r!.diagnostics), c: () => readFileSync(`${out}/t.bpf.c`, "utf8") };
  };

  it.each([
    ["an integer filter", "filter: pid"],
    ["a negated integer filter", "filter: \"!ktime\""],
    ["a negative literal filter", "filter: \"-pid\""],
    ["an integer 'if'", "update: [{ map: m, key: pid, count: true, if: ktime }]"],
    ["an integer 'if' from a parameter", "update: [{ map: m, key: pid, count: true, if: params.s }]"],
  ])("%s means != 0", async (_, line) => {
    const text = program(`    ${line}\n    fields: [pid]\n`, "maps:\n  m: { type: hash, key: u32, value: u64 }\nparams:\n  s: { type: i32 }\n");
    expect((await build("cond", text)).diagnostics).toEqual([]);
  });

  it.each([
    ["signed division by a parameter", "pid / params.d > 1"],
    ["signed remainder by a parameter", "args.dfd % params.d != 7"],
    ["signed division by a constant", "args.dfd / 3 != 7"],
    ["signed division of two fields", "(args.flags / args.dfd) != 7"],
    ["unsigned division by a value", "(pid / args.mode) != 7"],
    ["a shift by a value", "(ktime >> args.mode) != 7"],
    ["the smallest i64", "ktime != -9223372036854775808"],
  ])("%s", async (_, filter) => {
    const text = withFilter(filter) + "params:\n  d: { type: i32, default: 3 }\n";
    const built = await build("div", text);
    expect(built.diagnostics).toEqual([]);
    expect(built.c()).not.toMatch(/[^_]\/ \(?__s64\)|% \(?__s64\)/);
  });

  it("a linear histogram of a signed value", async () => {
    const text = withMap("{ type: hash, key: u32, value: { lhist: { min: 0, max: 10, step: 3 } } }", "{ map: m, key: pid, hist: args.dfd }");
    expect((await build("lhist", text)).diagnostics).toEqual([]);
  });
});
