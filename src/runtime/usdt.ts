// A USDT target checked against the file installed now, before libbpf attaches to it: the
// spec was built against a file that may since have been upgraded, rebuilt or removed.
import { ElfError, ElfFile } from "../elf/elf-file.js";
import { usdtProbes } from "../elf/usdt.js";
import { BpfError } from "./errors.js";

const ENOENT = 2;

/** Throws a BpfError naming the program when `path` no longer has probe `provider:name`. */
export function checkUsdtProbe(target: { path: string; provider: string; name: string }, object: string, program: string): void {
  const what = `USDT probe ${target.provider}:${target.name}`;
  let probes;
  let elf: ElfFile | undefined;
  try {
    elf = ElfFile.open(target.path);
    probes = usdtProbes(elf);
  } catch (e) {
    if (!(e instanceof ElfError)) throw e;
    throw new BpfError({ operation: "attach", errno: ENOENT, object, program, detail: `program '${program}' attaches to ${what} of ${target.path}, and ${e.message}: rebuild the spec against the file installed now` });
  } finally {
    elf?.close();
  }
  if (!probes.some((p) => p.provider === target.provider && p.name === target.name)) {
    const has = [...new Set(probes.map((p) => `${p.provider}:${p.name}`))];
    throw new BpfError({
      operation: "attach", errno: ENOENT, object, program,
      detail: `program '${program}' attaches to ${what} of ${target.path}, and the file installed now has no such probe ` +
        `(${has.length ? `it has ${has.slice(0, 12).join(", ")}${has.length > 12 ? ", ..." : ""}` : "it has no USDT probes"}): rebuild the spec against it`,
    });
  }
}
