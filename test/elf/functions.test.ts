/**
 * The functions a uprobe can attach to, and their file offsets: checked against the bytes
 * objdump disassembles at the function (the offset libbpf hands the kernel must be where the
 * function's code is in the file), for a non-PIE program whose addresses differ from offsets.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ElfFile } from "../../src/elf/elf-file.js";
import { findFunction, functionNames } from "../../src/elf/functions.js";
import { locateBinary } from "../../src/elf/locate.js";

const libc = locateBinary("libc");
if (!("path" in libc)) console.log("elf/functions.test.ts: no libc found: skipping the IFUNC check");
const dir = mkdtempSync(join(tmpdir(), "probegen-elf-functions-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const source = `
#include <stdio.h>
static int helper(int x) { return x * 7; }
__attribute__((noinline)) int work(int x) { return helper(x) + 1; }
int shared_counter = 3;
int main(int argc, char **argv) { printf("%d\\n", work(argc) + shared_counter); return 0; }
`;

/** The first bytes objdump shows for `name`'s code. */
function objdumpBytes(path: string, name: string): Buffer {
  const text = execFileSync("objdump", ["-d", `--disassemble=${name}`, path], { encoding: "utf8" });
  const line = text.split("\n").find((l) => /^\s+[0-9a-f]+:\s+[0-9a-f]{2} /.test(l))!;
  return Buffer.from(line.split("\t")[1]!.trim().replace(/ /g, ""), "hex");
}

describe("functions of an ELF file", () => {
  it("lists defined functions only (no data, no imports), and finds each at the file offset of its code", () => {
    const c = join(dir, "prog.c");
    writeFileSync(c, source);
    const path = join(dir, "prog");
    execFileSync("gcc", ["-O0", "-no-pie", "-o", path, c]);
    const elf = ElfFile.open(path);
    try {
      const names = functionNames(elf);
      expect(names).toEqual(expect.arrayContaining(["helper", "main", "work"]));
      expect(names).not.toContain("shared_counter"); // an object
      expect(names).not.toContain("printf"); // an import, defined in libc
      const bytes = readFileSync(path);
      for (const name of ["work", "helper", "main"]) {
        const found = findFunction(elf, name);
        if (!("found" in found)) throw new Error(`${name}: ${found.missing}`);
        expect(found.found.fileOffset).not.toBe(Number(found.found.symbol.value)); // non-PIE: 0x401000-ish addresses
        const code = objdumpBytes(path, name);
        expect(bytes.subarray(found.found.fileOffset, found.found.fileOffset + code.length), name).toEqual(code);
      }
      expect(findFunction(elf, "shared_counter")).toEqual({ missing: "no-symbol" });
      expect(findFunction(elf, "printf")).toEqual({ missing: "no-symbol" });
    } finally {
      elf.close();
    }
  });

  it.skipIf(!("path" in libc))("tells an IFUNC (glibc's strlen) from a function", () => {
    const elf = ElfFile.open((libc as { path: string }).path);
    try {
      expect(findFunction(elf, "strlen")).toEqual({ missing: "ifunc" });
      expect("found" in findFunction(elf, "getppid")).toBe(true);
      expect(functionNames(elf)).not.toContain("strlen");
    } finally {
      elf.close();
    }
  });
});
