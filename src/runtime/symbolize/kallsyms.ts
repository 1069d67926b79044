/**
 * Kernel text symbols from /proc/kallsyms, sorted by address for nearest-below lookups.
 * (src/kernel/kallsyms.ts answers "is there a function of this name" for the compiler; the
 * runtime does not depend on the compiler, and needs addresses and modules besides.)
 */
import { readFileSync } from "node:fs";

export interface KernelSymbol {
  address: bigint;
  name: string;
  /** The module that owns it ("ext4"); absent for the kernel image itself. */
  module?: string;
}

export type KernelLookup = { symbol: KernelSymbol; offset: bigint } | { reason: string };

export class KernelSymbolTable {
  private constructor(
    private readonly addresses: BigUint64Array,
    private readonly symbols: readonly KernelSymbol[],
    /** Why no address can be symbolized (unreadable file, addresses hidden), or undefined. */
    readonly unavailable?: string,
  ) {}

  static read(path = "/proc/kallsyms"): KernelSymbolTable {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      return new KernelSymbolTable(new BigUint64Array(0), [], `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return KernelSymbolTable.parse(text, path);
  }

  /** Lines like "ffffffff816d2230 t do_sys_openat2" or "ffffffffc0a01000 t ext4_fill_super\t[ext4]". */
  static parse(text: string, path = "/proc/kallsyms"): KernelSymbolTable {
    const symbols: KernelSymbol[] = [];
    let hidden = 0;
    for (const line of text.split("\n")) {
      // Cheaper than a regular expression per line: this reads ~100k lines.
      const space = line.indexOf(" ");
      const type = line[space + 1];
      // Text symbols (W: weak functions such as abort).
      if (space <= 0 || (type !== "t" && type !== "T" && type !== "w" && type !== "W")) continue;
      const address = BigInt(`0x${line.slice(0, space)}`);
      if (address === 0n) {
        hidden++;
        continue;
      }
      const tab = line.indexOf("\t", space + 3);
      if (tab < 0) symbols.push({ address, name: line.slice(space + 3) });
      else symbols.push({ address, name: line.slice(space + 3, tab), module: line.slice(tab + 1).replace(/^\[|\]$/g, "") });
    }
    if (symbols.length === 0) {
      const reason = hidden > 0
        ? `${path} shows every address as zero: reading kernel addresses needs root or CAP_SYSLOG (and kernel.kptr_restrict < 2)`
        : `${path} lists no kernel text symbols`;
      return new KernelSymbolTable(new BigUint64Array(0), [], reason);
    }
    // Stable: of the names at one address (_text, _stext, ...), the first listed stays.
    symbols.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    const unique = symbols.filter((s, i) => i === 0 || s.address !== symbols[i - 1]!.address);
    return new KernelSymbolTable(BigUint64Array.from(unique, (s) => s.address), unique);
  }

  get size(): number {
    return this.symbols.length;
  }

  /** The symbol at or below `address` (the function it is in: kallsyms has no sizes). */
  lookup(address: bigint): KernelLookup {
    if (this.unavailable) return { reason: this.unavailable };
    const i = lastAtOrBelow(this.addresses, address);
    if (i < 0) return { reason: `0x${address.toString(16)} is below the kernel's first text symbol` };
    const symbol = this.symbols[i]!;
    return { symbol, offset: address - symbol.address };
  }
}

/** The index of the last element <= value in a sorted array, or -1. */
export function lastAtOrBelow(sorted: BigUint64Array, value: bigint): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
