/**
 * uprobe/PATH:SYMBOL and uretprobe/PATH:SYMBOL at build time: the file found (path, library,
 * program), the symbol checked in its ELF symbols with suggestions, the offset inside the
 * symbol, and each mistake reported at the attach text.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { matchAttach } from "../../src/compiler/index.js";
import { ElfFile } from "../../src/elf/elf-file.js";
import { findFunction } from "../../src/elf/functions.js";
import { locateBinary } from "../../src/elf/locate.js";
import { frontEnd, located } from "../helpers/compile.js";

const spec = (attach: string, fields = "[pid]", extra = "") => `name: t\nprograms:\n  - attach: ${attach}\n    fields: ${fields}\n${extra}`;
const libc = locateBinary("libc");
const hasLibc = "path" in libc;

describe.skipIf(!hasLibc)("uprobe attach points", () => {
  const libcPath = (libc as { path: string }).path;

  it("a library by name: the function's program, section and runtime descriptor; arguments by position as u64", () => {
    const { probe, diagnostics } = frontEnd(spec("uprobe/libc:getppid", "[pid, arg0, { name: s, from: arg1, type: user_string }]"));
    expect(diagnostics).toEqual([]);
    const [program] = probe!.programs;
    expect([program!.name, program!.section]).toEqual(["getppid", "uprobe/libc:getppid"]);
    expect(program!.attach).toMatchObject({ kind: "uprobe", path: "libc", target: "libc", symbol: "getppid", offset: 0 });
    expect(program!.event!.fields.map((f) => [f.name, f.type])).toEqual([
      ["pid", { kind: "int", size: 4, signed: false }],
      ["arg0", { kind: "int", size: 8, signed: false }],
      ["s", { kind: "string", size: 256 }],
    ]);
  });

  it("exit: true pairs it with its uretprobe: entry arguments, ret and latency at exit", () => {
    const { probe, diagnostics } = frontEnd(spec("uprobe/libc:getppid", "[arg0, ret, latency]", "    exit: true\n"));
    expect(diagnostics).toEqual([]);
    const [entry, exit] = probe!.programs;
    expect([entry!.section, exit!.section]).toEqual(["uprobe/libc:getppid", "uretprobe/libc:getppid"]);
    expect(exit!.event!.fields.map((f) => f.name)).toEqual(["arg0", "ret", "latency"]);
  });

  it("a named exit must be the same function's uretprobe", () => {
    expect(frontEnd(spec("uprobe/libc:getppid", "[latency]", "    exit: uretprobe/libc:getppid\n")).diagnostics).toEqual([]);
    const other = frontEnd(spec("uprobe/libc:getppid", "[latency]", "    exit: uretprobe/libc:getpid\n")).diagnostics;
    expect(located(other)).toEqual(["probes/test.yaml:5:11: uretprobe/libc:getpid is not the return of uprobe/libc:getppid: an exit must be the same call's return (entry and exit are matched by thread)"]);
    expect(other[0]!.hint).toBe("use exit: uretprobe/libc:getppid (or exit: true)");
  });

  it("a misspelt function gets the file's nearest ones, at the attach text", () => {
    const { diagnostics } = frontEnd(spec("uprobe/libc:getppdi"));
    expect(located(diagnostics)).toEqual([`probes/test.yaml:3:13: ${libcPath} has no function 'getppdi'. Did you mean 'getpid' or 'getppid'?`]);
    expect(diagnostics[0]!.hint).toContain("probegen list 'uprobe/libc:PATTERN'");
  });

  it("a library or program that is not there says where it looked", () => {
    const lib = located(frontEnd(spec("uprobe/libnosuchlibrary:f")).diagnostics);
    expect(lib).toHaveLength(1);
    expect(lib[0]).toMatch(/^probes\/test.yaml:3:13: no shared library 'libnosuchlibrary' in the linker's directories \(looked in [^)]*\/lib\/x86_64-linux-gnu[^)]*\)\.$/);
    const program = located(frontEnd(spec("uprobe/nosuchprogram_pg:main")).diagnostics);
    expect(program[0]).toMatch(/^probes\/test.yaml:3:13: no program 'nosuchprogram_pg' on PATH \(looked in .*\)\.$/);
    const path = located(frontEnd(spec("uprobe//nonexistent/app:main")).diagnostics);
    expect(path).toEqual(["probes/test.yaml:3:13: no file /nonexistent/app (looked in /nonexistent/app)."]);
  });

  it("+OFFSET lies inside the symbol: its size in the file bounds it", () => {
    const elf = ElfFile.open(libcPath);
    const lookup = findFunction(elf, "getppid");
    elf.close();
    const size = Number("found" in lookup ? lookup.found.symbol.size : 0n);
    expect(size).toBeGreaterThan(1);
    const inside = frontEnd(spec(`uprobe/libc:getppid+${size - 1}`));
    expect(inside.diagnostics).toEqual([]);
    expect(inside.probe!.programs[0]!.section).toBe(`uprobe/libc:getppid+0x${(size - 1).toString(16)}`);
    expect(located(frontEnd(spec("uprobe/libc:getppid+0x1000")).diagnostics)).toEqual([
      `probes/test.yaml:3:13: +0x1000 is outside 'getppid', which is ${size} bytes long (offsets 0 to ${size - 1})`,
    ]);
    expect(located(frontEnd(spec("uprobe/libc:getppid+4k")).diagnostics)).toEqual(["probes/test.yaml:3:13: '+4k' is not an offset"]);
    expect(located(frontEnd(spec("uretprobe/libc:getppid+1")).diagnostics)).toEqual([
      "probes/test.yaml:3:13: a uretprobe fires when 'getppid' returns, wherever that is: it takes no +OFFSET",
    ]);
  });

  it("a path with ':' is refused with a way around it; a target without ':' says the form", () => {
    const colon = frontEnd(spec("uprobe/./my:app:main")).diagnostics;
    expect(located(colon)).toEqual(["probes/test.yaml:3:13: 'uprobe/./my:app:main' has more than one ':': probegen splits PATH:SYMBOL at the first, so a path may not contain ':'"]);
    expect(colon[0]!.hint).toContain("ln -s");
    const bare = frontEnd(spec("uprobe/malloc")).diagnostics;
    expect(located(bare)).toEqual(["probes/test.yaml:3:13: 'uprobe/malloc' names no function: a uprobe is a file and a function in it"]);
    expect(bare[0]!.hint).toContain("uprobe/libc:malloc");
  });

  it("an IFUNC (strlen) is refused: its symbol is the resolver, not what calls reach", () => {
    expect(located(frontEnd(spec("uprobe/libc:strlen")).diagnostics)[0]).toMatch(/'strlen' in .* is an indirect function \(IFUNC\)/);
  });

  it("names a uprobe cannot read get hints: retval without exit, arg6, arguments of a lone uretprobe", () => {
    expect(frontEnd(spec("uprobe/libc:getppid", "[retval]")).diagnostics[0]!.hint).toContain("add 'exit: true'");
    expect(frontEnd(spec("uprobe/libc:getppid", "[arg6]")).diagnostics[0]!.hint).toBe("arguments are read from the 6 argument registers: arg0 to arg5");
    expect(frontEnd(spec("uretprobe/libc:getppid", "[arg0]")).diagnostics[0]!.hint).toContain("pair it with its uprobe (attach: uprobe/libc:getppid, exit: true)");
    const ret = frontEnd(spec("uretprobe/libc:getppid", "[retval]"));
    expect(ret.diagnostics).toEqual([]);
    expect(ret.probe!.programs[0]!.name).toBe("getppid_ret");
  });

  it("globs match the file's functions: probegen list shows them", () => {
    const result = matchAttach("uprobe/libc:getpp*");
    expect(result).toEqual({ matches: ["uprobe/libc:getppid"] });
    const none = matchAttach("uprobe/libc:getppx*");
    expect("problem" in none && none.problem.message).toBe("'uprobe/libc:getppx*' matches no function. Did you mean 'uprobe/libc:getpp*'?");
    const spread = matchAttach("uprobe/lib*:malloc");
    expect("problem" in spread && spread.problem.message).toBe("a uprobe pattern matches the functions of one file: uprobe/PATH:PATTERN");
  });
});

describe("uprobe on a program the test compiles", () => {
  it("a relative path starts at the spec's directory, and the loader gets it absolute", () => {
    const dir = mkdtempSync(join(tmpdir(), "pg-uprobe-"));
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "app.c"), "int work(int x) { return x + 1; }\nint main(void) { return work(1); }\n");
    execFileSync("gcc", ["-O0", "-o", join(dir, "bin", "app"), join(dir, "app.c")]);
    const { probe, diagnostics } = frontEnd(spec("uprobe/./bin/app:work", "[arg0]"), join(dir, "t.yaml"));
    expect(diagnostics).toEqual([]);
    expect(probe!.programs[0]!.attach).toMatchObject({ path: "./bin/app", target: join(dir, "bin", "app"), symbol: "work" });
    expect(located(frontEnd(spec("uprobe/./bin/app:wrok"), join(dir, "t.yaml")).diagnostics)).toEqual([
      `${join(dir, "t.yaml")}:3:13: ${join(dir, "bin", "app")} has no function 'wrok'. Did you mean 'work'?`,
    ]);
    writeFileSync(join(dir, "notes.txt"), "not a program\n");
    expect(located(frontEnd(spec("uprobe/./notes.txt:main"), join(dir, "t.yaml")).diagnostics)).toEqual([
      `${join(dir, "t.yaml")}:3:13: ./notes.txt (${join(dir, "notes.txt")}) cannot be probed: ${join(dir, "notes.txt")} is not an ELF file`,
    ]);
  });
});
