/**
 * The ELF reader against what binutils says about the same files: a program gcc builds here
 * (PIE and not), and the system's libc.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ElfError, ElfFile } from "../../src/elf/elf-file.js";

const dir = mkdtempSync(join(tmpdir(), "probegen-elf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function gcc(name: string, source: string, flags: string[]): string {
  const c = join(dir, `${name}.c`);
  writeFileSync(c, source);
  const out = join(dir, name);
  execFileSync("gcc", ["-O1", "-g0", "-Wl,--build-id", ...flags, "-o", out, c]);
  return out;
}

/** nm's defined symbols: name -> address. */
function nm(path: string, dynamic = false): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of execFileSync("nm", [...(dynamic ? ["-D"] : []), "--defined-only", path], { encoding: "utf8" }).split("\n")) {
    const [addr, , name] = line.trim().split(/\s+/);
    if (addr && name) out.set(name.replace(/@.*/, ""), BigInt(`0x${addr}`));
  }
  return out;
}

function readelfBuildId(path: string): string {
  return /Build ID: ([0-9a-f]+)/.exec(execFileSync("readelf", ["-n", path], { encoding: "utf8" }))![1]!;
}

const program = `
int counted_call(int x) { return x * 3 + 1; }
__attribute__((noinline)) long answer(void) { return 42; }
int main(int argc, char **argv) { return counted_call(argc) + (int)answer(); }
`;

describe("ElfFile", () => {
  for (const [kind, flags] of [["pie", ["-pie", "-fPIE"]], ["no-pie", ["-no-pie"]]] as const) {
    it(`reads a ${kind} program's symbols, build id and segments as nm and readelf do`, () => {
      const path = gcc(`prog-${kind}`, program, [...flags]);
      const elf = ElfFile.open(path);
      try {
        const expected = nm(path);
        for (const name of ["counted_call", "answer", "main"]) {
          const symbol = elf.symbols().find((s) => s.name === name && s.defined);
          expect(symbol?.value, name).toBe(expected.get(name));
          expect(symbol?.type).toBe("func");
        }
        expect(elf.buildId()).toBe(readelfBuildId(path));
        // The function's bytes sit where the segments say: the file offset maps back.
        const answer = elf.symbols().find((s) => s.name === "answer")!;
        const offset = elf.fileOffset(answer.value)!;
        expect(elf.vaddrOf(offset)).toBe(answer.value);
        expect(elf.type).toBe(kind === "pie" ? 3 : 2);
      } finally {
        elf.close();
      }
    });
  }

  it("reads a stripped library's dynamic symbols (libc's malloc) and its debug link", () => {
    const libc = execFileSync("gcc", ["-print-file-name=libc.so.6"], { encoding: "utf8" }).trim();
    const elf = ElfFile.open(libc);
    try {
      const expected = nm(libc, true).get("malloc");
      expect(expected).toBeDefined();
      expect(elf.symbols().find((s) => s.name === "malloc" && s.defined)?.value).toBe(expected);
      const link = elf.debugLink();
      if (link) expect(link.file).toMatch(/\.debug$/);
    } finally {
      elf.close();
    }
  });

  it("refuses what is not a 64-bit little-endian ELF file with a sentence", () => {
    const text = join(dir, "not-elf");
    writeFileSync(text, "#!/bin/sh\necho hi\n".padEnd(80, " "));
    expect(() => ElfFile.open(text)).toThrow(new ElfError(`${text} is not an ELF file`));
    expect(() => ElfFile.open(join(dir, "missing"))).toThrow(/cannot open .*missing: ENOENT/);
  });
});
