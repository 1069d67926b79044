/** Kernel functions a kprobe can attach to, from /proc/kallsyms (text symbols). */
import { existsSync, readFileSync } from "node:fs";

export class KernelSymbols {
  private constructor(private readonly functions: Set<string>) {}

  static read(path = "/proc/kallsyms"): KernelSymbols | undefined {
    if (!existsSync(path)) return undefined;
    const names = new Set<string>();
    for (const line of readFileSync(path, "utf8").split("\n")) {
      // "ffffffff816d2230 t do_sys_openat2" (module symbols carry a "[module]" suffix)
      const parts = line.split(/\s+/);
      if (parts.length >= 3 && (parts[1] === "t" || parts[1] === "T") && parts[0] !== "0000000000000000") {
        names.add(parts[2]!);
      }
    }
    // Without privileges every address reads as zero and we learn nothing.
    return names.size > 0 ? new KernelSymbols(names) : undefined;
  }

  has(name: string): boolean {
    return this.functions.has(name);
  }

  names(): Iterable<string> {
    return this.functions;
  }
}
