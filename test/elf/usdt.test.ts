/**
 * The stapsdt note parser against readelf's reading of the same notes: the test's own program
 * (probes with and without a semaphore and arguments) and, when installed, Debian's python3.
 */
import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { ElfError, ElfFile } from "../../src/elf/elf-file.js";
import { parseUsdtArgument, usdtProbes } from "../../src/elf/usdt.js";
import { buildUsdtTarget, DEBIAN_PYTHON } from "../helpers/usdt-target.js";

const target = buildUsdtTarget();
afterAll(() => "dir" in target && rmSync(target.dir, { recursive: true, force: true }));
if ("skip" in target) console.log(`skipped test/elf/usdt.test.ts's programs: ${target.skip}`);

/** readelf -n's NT_STAPSDT descriptors, in note order. */
function readelfProbes(path: string) {
  const text = execFileSync("readelf", ["-n", path], { encoding: "utf8" });
  return [...text.matchAll(/Provider: (\S+)\n\s+Name: (\S+)\n\s+Location: (0x[0-9a-f]+), Base: (0x[0-9a-f]+), Semaphore: (0x[0-9a-f]+)\n\s+Arguments: ?(.*)/g)]
    .map(([, provider, name, location, base, semaphore, args]) => ({
      provider, name, location: BigInt(location!), base: BigInt(base!), semaphore: BigInt(semaphore!), arguments: args!.trim() ? args!.trim().split(/\s+/) : [],
    }));
}

function parsed(path: string) {
  const elf = ElfFile.open(path);
  try {
    return usdtProbes(elf).map((p) => ({ ...p, arguments: p.arguments.map((a) => a.text) }));
  } finally {
    elf.close();
  }
}

describe("USDT notes", () => {
  it.skipIf("skip" in target)("reads the test program's probes as readelf does: sites, base, semaphore, argument specs", () => {
    const path = (target as { path: string }).path;
    const probes = parsed(path);
    expect(probes).toEqual(readelfProbes(path));
    expect(probes.map((p) => `${p.provider}:${p.name}`).sort()).toEqual(["pgtest:guarded", "pgtest:noargs", "pgtest:values"]);
    // Only the guarded probe has a semaphore, and it is the variable the program reads.
    const guarded = probes.find((p) => p.name === "guarded")!;
    expect(probes.filter((p) => p.semaphore !== 0n)).toEqual([guarded]);
    const elf = ElfFile.open(path);
    try {
      expect(elf.symbols().find((s) => s.name === "pgtest_guarded_semaphore")?.value).toBe(guarded.semaphore);
      // The site is inside the function that fires it.
      const fire = elf.symbols().find((s) => s.name === "fire_guarded")!;
      expect(guarded.location >= fire.value && guarded.location < fire.value + fire.size).toBe(true);
    } finally {
      elf.close();
    }
  });

  it.skipIf("skip" in target)("types each argument by its spec's size and sign", () => {
    const elf = ElfFile.open((target as { path: string }).path);
    try {
      const values = usdtProbes(elf).find((p) => p.name === "values")!;
      // int32_t, uint64_t, int16_t, uint8_t, const char *, long: as the C declares them.
      expect(values.arguments.map((a) => `${a.signed ? "i" : "u"}${a.size * 8}`)).toEqual(["i32", "u64", "i16", "u8", "u64", "i64"]);
      expect(values.arguments.every((a) => a.location.kind === "register")).toBe(true);
    } finally {
      elf.close();
    }
  });

  it.skipIf(!existsSync(DEBIAN_PYTHON))("reads Debian's python3 probes as readelf does", () => {
    const probes = parsed(DEBIAN_PYTHON);
    expect(probes).toEqual(readelfProbes(DEBIAN_PYTHON));
    if (probes.length === 0) return console.log(`skipped: ${DEBIAN_PYTHON} has no USDT notes`);
    expect(probes.map((p) => p.name)).toContain("function__entry");
  });

  it("parses the operand forms of x86-64 argument specs", () => {
    expect(parseUsdtArgument("-4@%edi")).toEqual({ size: 4, signed: true, location: { kind: "register", register: "edi" }, text: "-4@%edi" });
    expect(parseUsdtArgument("8@-8(%rbp)").location).toEqual({ kind: "memory", register: "rbp", offset: -8n });
    expect(parseUsdtArgument("-4@112(%rsp)").location).toEqual({ kind: "memory", register: "rsp", offset: 112n });
    expect(parseUsdtArgument("8@(%rax)").location).toEqual({ kind: "memory", register: "rax", offset: 0n });
    expect(parseUsdtArgument("4@$5")).toMatchObject({ size: 4, signed: false, location: { kind: "constant", value: 5n } });
    expect(parseUsdtArgument("-2@$-1234").location).toEqual({ kind: "constant", value: -1234n });
    // What libbpf cannot read on x86-64 (a global, rip-relative), and arm64's syntax.
    expect(parseUsdtArgument("-4@negative(%rip)").location).toEqual({ kind: "other" });
    expect(parseUsdtArgument("8@[sp, 16]").location).toEqual({ kind: "other" });
    expect(() => parseUsdtArgument("3@%eax")).toThrow(ElfError);
    expect(() => parseUsdtArgument("%eax")).toThrow(/not a USDT argument spec/);
  });
});
