/** A file's function symbols sorted by address: which function holds a virtual address. */
import type { ElfSection, ElfSymbol } from "../../elf/elf-file.js";
import { lastAtOrBelow } from "./kallsyms.js";

const SHF_EXECINSTR = 0x4n;

export interface SymbolHit {
  name: string;
  offset: bigint;
}

export class SymbolTable {
  private constructor(
    private readonly starts: BigUint64Array,
    private readonly sizes: BigUint64Array,
    private readonly names: readonly string[],
  ) {}

  /**
   * Functions (and ifuncs) defined in the file; of several names at one address, the most
   * telling. A symbol of size 0 reaches to the end of its code section at most (`sections`, the
   * file's): _init must not swallow the .plt after it.
   */
  static fromSymbols(symbols: Iterable<ElfSymbol>, sections: readonly ElfSection[] = []): SymbolTable {
    const functions = [...symbols].filter((s) => s.defined && s.value !== 0n && (s.type === "func" || s.type === "ifunc"));
    functions.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : preference(a, b)));
    const unique = functions.filter((s, i) => i === 0 || s.value !== functions[i - 1]!.value);
    const code = sections.filter((s) => (s.flags & SHF_EXECINSTR) !== 0n && s.addr !== 0n);
    const sizeOf = (s: ElfSymbol) => {
      if (s.size !== 0n) return s.size;
      const section = code.find((c) => s.value >= c.addr && s.value < c.addr + BigInt(c.size));
      return section ? section.addr + BigInt(section.size) - s.value : 0n;
    };
    return new SymbolTable(
      BigUint64Array.from(unique, (s) => s.value),
      BigUint64Array.from(unique, sizeOf),
      unique.map((s) => s.name),
    );
  }

  get size(): number {
    return this.names.length;
  }

  /**
   * The function whose [value, value + size) holds `vaddr`; for a size-0 symbol (hand-written
   * assembly often has no size) outside any known code section, the nearest one below.
   */
  lookup(vaddr: bigint): SymbolHit | undefined {
    const i = lastAtOrBelow(this.starts, vaddr);
    if (i < 0) return undefined;
    const offset = vaddr - this.starts[i]!;
    const size = this.sizes[i]!;
    return size === 0n || offset < size ? { name: this.names[i]!, offset } : undefined;
  }
}

/** Which of two names at one address to show: a sized one, an exported one, fewer leading underscores (getpid over __getpid). */
function preference(a: ElfSymbol, b: ElfSymbol): number {
  const score = (s: ElfSymbol) => (s.size > 0n ? 0 : 4) + (s.binding === "local" ? 2 : 0);
  const underscores = (s: ElfSymbol) => /^_*/.exec(s.name)![0].length;
  return score(a) - score(b) || underscores(a) - underscores(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}
