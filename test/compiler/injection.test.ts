/** Nothing a user writes in YAML reaches the C as text: hostile input is refused or spelt out safely. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { fixtureKernel, frontEnd } from "../helpers/compile.js";

const out = "test/.out/injection";
const hostile = '*/ #include "/etc/passwd"\n#define x y';

describe("hostile spec text", () => {
  it("descriptions, string literals and backslashes never become C text; the object still builds", async () => {
    mkdirSync(out, { recursive: true });
    writeFileSync(`${out}/evil.yaml`, [
      "name: evil",
      `description: ${JSON.stringify(hostile)}`,
      "programs:",
      "  - attach: tracepoint/syscalls/sys_enter_openat",
      `    description: ${JSON.stringify(hostile)}`,
      `    filter: 'comm == "a\\"b\\\\c*/" || comm != "x\\n"'`,
      `    fields: [pid, { name: path, from: filename, description: ${JSON.stringify(hostile)} }]`,
      "",
    ].join("\n"));
    const [r] = await buildSpecs([`${out}/evil.yaml`], { outDir: out, kernel: fixtureKernel });
    expect(r!.diagnostics).toEqual([]);
    const c = readFileSync(`${out}/evil.bpf.c`, "utf8");
    expect(c).not.toContain("/etc/passwd");
    expect(c).not.toContain("#define x");
    // The literal a"b\c*/ is compared byte by byte: 97 34 98 92 99 42 47 0.
    expect(c).toContain("[0] == 97 && ") ;
    expect(c).toMatch(/\[1\] == 34 && \S+\[2\] == 98 && \S+\[3\] == 92 && \S+\[4\] == 99 && \S+\[5\] == 42 && \S+\[6\] == 47 && \S+\[7\] == 0/);
    const ts = readFileSync(`${out}/evil.ts`, "utf8");
    expect(ts).toContain("*\\/ #include"); // doc comments cannot be closed from the spec
    expect(ts).not.toMatch(/\*\/ #include/);
  });

  const program = (extra: string, attach = "tracepoint/syscalls/sys_enter_openat") => `name: t\nprograms:\n  - attach: '${attach}'\n${extra}`;
  it.each([
    ["a field name", program('    fields: [{ name: "x; system(1)", from: pid }]\n'), "invalid-value"],
    ["a map name", program("    fields: [pid]\n") + 'maps:\n  "m; int x": { type: hash, key: u32, value: u64 }\n', "invalid-value"],
    ["a program name", program('    name: "p(void){}//"\n    fields: [pid]\n'), "invalid-value"],
    ["an attach point", program("    fields: [pid]\n", 'tracepoint/syscalls/sys_enter_openat"){'), "invalid-value"],
    ["a licence", `license: 'GPL"; char x[] = "'\n` + program("    fields: [pid]\n"), "invalid-value"],
  ])("%s that is not an identifier is refused at its place", (_, text, code) => {
    const { diagnostics } = frontEnd(text);
    expect(diagnostics.map((d) => d.code)).toContain(code);
    expect(diagnostics.every((d) => d.span !== undefined)).toBe(true);
  });
});
