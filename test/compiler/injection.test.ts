/** Nothing a user writes in YAML reaches the C as text: hostile input is refused or spelt out safely. */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ts } from "ts-morph";
import { describe, expect, it } from "vitest";
import { elfSection } from "../../src/kernel/btf/elf.js";
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

describe("hostile spec paths", () => {
  const dir = "test/.out/injection-paths";
  const body = "name: p\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [pid, filename]\n";
  const runtime = pathToFileURL(resolve("src/runtime/index.ts")).href;

  async function build(name: string) {
    const caseDir = `${dir}/${createHash("sha256").update(name).digest("hex").slice(0, 12)}`;
    mkdirSync(dirname(`${caseDir}/${name}`), { recursive: true });
    writeFileSync(`${caseDir}/${name}`, body);
    const [r] = await buildSpecs([`${caseDir}/${name}`], { outDir: caseDir, kernel: fixtureKernel, runtimeImport: runtime });
    expect(r!.diagnostics).toEqual([]);
    const file = (ext: string) => Buffer.from(r!.files.find((f) => f.path.endsWith(ext))!.contents);
    return { caseDir, c: file(".bpf.c").toString(), object: file(".bpf.o"), ts: file(".ts").toString() };
  }

  /** The statements of a TS file, by kind and name: what importing it would run. */
  function statements(text: string): string[] {
    const f = ts.createSourceFile("x.ts", text, ts.ScriptTarget.ES2022);
    return f.statements.map((s) => `${ts.SyntaxKind[s.kind]} ${(s as { name?: ts.Identifier }).name?.text ?? ""}`);
  }

  it.each([
    ["a newline and a #define", "x\n#define bpf_get_current_pid_tgid() 0\n#pragma .yaml"],
    ["a newline and an #error", "x\n#error INJT\n.yaml"],
    ["a comment terminator", "x */ int y; /* x/p.yaml"],
    ["U+2028 and JS", "x\u2028globalThis.pgInjected = 1; ({ a: `.yaml"],
    ["U+2029 and JS", "x\u2029globalThis.pgInjected = 2; ({ a: `.yaml"],
    ["backticks and ${", "x`${globalThis.pgInjected = 3}`.yaml"],
    ["a backslash at the end of a comment line", "x\\\nglobalThis.pgInjected = 4; ({ a: `.yaml"],
  ])("a spec file name with %s stays data in the C, the object and the loader", async (_, name) => {
    const plain = await build("plain.yaml");
    const hostile = await build(name);
    // The same instructions as the spec under a plain name: nothing reached the preprocessor.
    const code = (o: Buffer) => Buffer.from(elfSection(o, "tracepoint/syscalls/sys_enter_openat")!);
    expect(code(hostile.object).equals(code(plain.object))).toBe(true);
    expect(hostile.c.split("\n").filter((l) => l.startsWith("#")).map((l) => l.replace(/^#line (\d+) ".*"$/, "#line $1"))).toEqual(
      plain.c.split("\n").filter((l) => l.startsWith("#")).map((l) => l.replace(/^#line (\d+) ".*"$/, "#line $1")));
    expect(hostile.c).not.toMatch(/^#(define|error|pragma)/m);
    // The loader has the same statements, its header is two comment lines, and importing it runs nothing else.
    expect(statements(hostile.ts)).toEqual(statements(plain.ts));
    expect(hostile.ts.split(/\r\n|[\n\r\u2028\u2029]/).slice(0, 3).map((l) => l.slice(0, 3))).toEqual(["// ", "// ", "imp"]);
    const js = ts.transpileModule(hostile.ts, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    writeFileSync(`${hostile.caseDir}/loader.mjs`, js);
    delete (globalThis as { pgInjected?: unknown }).pgInjected;
    const loader = await import(pathToFileURL(resolve(`${hostile.caseDir}/loader.mjs`)).href) as Record<string, unknown>;
    expect(typeof loader.loadP).toBe("function");
    expect((globalThis as { pgInjected?: unknown }).pgInjected).toBeUndefined();
  });
});
