/** KernelSymbols answers has() by searching the text: it must agree with the full parse. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KernelSymbols } from "../../src/kernel/kallsyms.js";

const dir = mkdtempSync(join(tmpdir(), "probegen-kallsyms-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(text: string): string {
  const path = join(dir, `k${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, text);
  return path;
}

describe("KernelSymbols", () => {
  const sample = [
    "ffffffff81000000 T _stext",
    "ffffffff816d2230 t do_sys_openat2",
    "ffffffff816d2300 T vfs_read",
    "ffffffff81e00000 D jiffies",
    "ffffffff81e00100 d not_a_function_t",
    "ffffffffc0a01000 t nf_hook_slow_mod\t[nf_tables]",
    "ffffffff816d2400 T vfs_read_iter",
  ].join("\n") + "\n";

  it("finds text symbols, module ones included, and nothing else", () => {
    const symbols = KernelSymbols.read(file(sample))!;
    for (const name of ["_stext", "do_sys_openat2", "vfs_read", "nf_hook_slow_mod", "vfs_read_iter"]) expect(symbols.has(name), name).toBe(true);
    for (const name of ["jiffies", "not_a_function_t", "vfs_rea", "read", "nf_tables", "openat2"]) expect(symbols.has(name), name).toBe(false);
    expect([...symbols.names()].sort()).toEqual(["_stext", "do_sys_openat2", "nf_hook_slow_mod", "vfs_read", "vfs_read_iter"]);
  });

  it("is undefined when every address reads as zero (no privileges)", () => {
    expect(KernelSymbols.read(file(sample.replace(/^[0-9a-f]{16}/gm, "0000000000000000")))).toBeUndefined();
  });

  const live = KernelSymbols.read();
  if (!live) console.log("kernel/kallsyms.test.ts: /proc/kallsyms shows no addresses here (not root): the comparison with this kernel's symbols is skipped");
  it.skipIf(!live)("agrees with the full parse on this kernel's /proc/kallsyms", () => {
    // has() before names(): the first answers from the text, the second from the parsed set.
    const symbols = live!;
    const names = [...KernelSymbols.read()!.names()];
    // Every 500th name is found by the search; a name with a suffix added is not.
    for (let i = 0; i < names.length; i += 500) {
      expect(symbols.has(names[i]!), names[i]).toBe(true);
      expect(symbols.has(`${names[i]}_probegen_not_a_symbol`)).toBe(false);
    }
  });
});
