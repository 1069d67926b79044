/**
 * The smallest trigger of each bug class the spec fuzzer (test/fuzz) found: every one is now a
 * located diagnostic before clang, where it used to crash, fail in clang or fail in the verifier.
 */
import { describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { fixtureKernel, frontEnd, located } from "../helpers/compile.js";

const program = (extra: string) => `name: t\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n${extra}`;
const withFilter = (filter: string) => program(`    filter: ${JSON.stringify(filter)}\n    fields: [pid]\n`);

describe("fuzzer regressions: the front end", () => {
  it("a YAML alias bomb is refused at its first alias, without expanding it", () => {
    const bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 12; i++) bomb.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(", ")}]`);
    const { diagnostics } = frontEnd(`${bomb.join("\n")}\n${program("    fields: [pid]\n")}`);
    expect(located(diagnostics)).toEqual([expect.stringMatching(/^probes\/test\.yaml:2:10: the YAML aliases of this spec expand to too many copies/)]);
  });

  it.each([
    ["a filter nested 20,000 deep", `${"(".repeat(20000)}pid${")".repeat(20000)} == 1`],
    ["a 20,000-term sum", `${Array.from({ length: 20000 }, () => "pid").join(" + ")} == 1`],
    ["300 nested '!'", `${"!".repeat(300)}pid`],
    ["65 nested '-'", `${"-".repeat(65)}pid == 1`],
  ])("%s is refused with the nesting limit, at the filter", (_, filter) => {
    const { diagnostics } = frontEnd(withFilter(filter));
    expect(diagnostics.map((d) => [d.code, d.message, d.span?.line])).toEqual([["filter-syntax", "filter: this expression nests more than 64 levels deep", 4]]);
  });

  it("an expression 60 deep still compiles into a filter", () => {
    expect(frontEnd(withFilter(`${"(".repeat(30)}pid${")".repeat(30)} == 1`)).diagnostics).toEqual([]);
  });

  it.each(["exit", "nan", "license", "barrier_var", "e", "st", "sqrtf", "pid_t", "u32"])("a map named '%s' is refused at its name, once", (name) => {
    const { diagnostics } = frontEnd(`${program(`    update: [{ map: ${name}, key: pid, count: true }]\n`)}maps:\n  ${name}: { type: hash, key: u32, value: u64 }\n`);
    expect(diagnostics.map((d) => [d.code, d.span?.line])).toEqual([["invalid-name", 6]]);
  });

  it("a program or an event named like a C builtin is refused", () => {
    expect(frontEnd(program("    name: exit\n    fields: [pid]\n")).diagnostics.map((d) => d.code)).toEqual(["invalid-name"]);
  });
});

describe("fuzzer regressions: the licence", () => {
  const out = "test/.out/fuzz-regressions";
  const build = async (license: string, fields: string) => {
    mkdirSync(out, { recursive: true });
    writeFileSync(`${out}/lic.yaml`, `name: lic\nlicense: ${license}\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [${fields}]\n`);
    const [r] = await buildSpecs([`${out}/lic.yaml`], { outDir: out, kernel: fixtureKernel, checkOnly: true });
    return r!.diagnostics;
  };

  it("a licence that is not GPL-compatible with a GPL-only helper is refused at the licence, before clang", async () => {
    const diagnostics = await build("MIT", "pid, filename");
    expect(located(diagnostics)).toEqual([expect.stringMatching(/:2:10: license 'MIT' is not GPL-compatible, and this probe needs GPL-only helpers \(bpf_probe_read_user_str\)/)]);
    expect(diagnostics[0]!.hint).toContain("'Dual MIT/GPL'");
  });

  it("the same licence with GPL-free helpers only, or a dual licence, builds", async () => {
    expect(await build("MIT", "pid, comm")).toEqual([]);
    expect(await build('"Dual MIT/GPL"', "pid, filename")).toEqual([]);
  });
});

describe("fuzzer regressions: maps whose declaration was refused", () => {
  const withMap = (map: string, update: string) =>
    `${program(`    update: [${update}]\n`)}maps:\n  m: ${map}\n`;

  it.each([
    ["an inverted lhist used by a hist update", "{ type: hash, key: u32, value: { lhist: { min: 10, max: 5, step: 1 } } }", "{ map: m, key: pid, hist: pid }"],
    ["a hash map with no key", "{ type: hash, value: u64 }", "{ map: m, key: pid, count: true }"],
    ["a hash map with no value", "{ type: hash, key: u32 }", "{ map: m, key: pid, count: true }"],
  ])("%s is one error at the declaration, not a crash", (_, map, update) => {
    const { diagnostics } = frontEnd(withMap(map, update));
    expect(diagnostics.map((d) => [d.code, d.span?.line])).toEqual([["invalid-map", expect.any(Number)]]);
    expect(diagnostics[0]!.span!.line).toBeGreaterThanOrEqual(6);
  });

  it("a comparison of strings as a map key is a located error", () => {
    const { diagnostics } = frontEnd(withMap("{ type: hash, key: u32, value: u64 }", '{ map: m, key: "comm == \\"bash\\"", count: true }'));
    expect(located(diagnostics)).toEqual([expect.stringMatching(/^probes\/test\.yaml:4:\d+: map keys and values cannot compare strings$/)]);
  });

  it("'probe' alone as a filter (seed 1, case 66 once the pools grew): its index, 0 for the first attach point, would drop that one's events", () => {
    const { diagnostics } = frontEnd(`name: t\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    filter: probe\n    fields: [pid]\n`);
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:13: a filter must be a condition, not 'probe' (the attach point's name)"]);
    expect(diagnostics[0]!.hint).toBe('compare it with a name: probe == "tracepoint/syscalls/sys_enter_openat"');
  });
});
