/**
 * The functions of an ELF file a uprobe can attach to, and where one is in the file: the
 * compiler checks a uprobe's symbol with it at build time, the runtime finds it again at load
 * in the installed file (libbpf's uprobe offset is a file offset, not an address).
 */
import type { ElfFile, ElfSymbol } from "./elf-file.js";

/** A function as a uprobe sees it: its symbol, and the file offset of its first instruction. */
export interface FileFunction {
  symbol: ElfSymbol;
  fileOffset: number;
}

export type FunctionLookup =
  | { found: FileFunction }
  /**
   * Why not: no defined function by that name; an IFUNC (its symbol is the resolver, which runs
   * once at link time, not the function calls reach); or an address no loaded segment maps.
   */
  | { missing: "no-symbol" | "ifunc" | "unmapped" };

/** Defined function symbols (IFUNCs apart: their address is a resolver), with an address. */
function isProbeable(s: ElfSymbol): boolean {
  return s.defined && s.type === "func" && s.value !== 0n;
}

/** The names of the functions a uprobe can attach to, sorted, each once. */
export function functionNames(elf: ElfFile): string[] {
  return [...new Set(elf.symbols().filter(isProbeable).map((s) => s.name))].sort();
}

const BINDING_ORDER = { global: 0, weak: 1, local: 2, other: 3 } as const;

/**
 * The function `name`. Where several symbols have the name (a static function in two files, a
 * versioned export), the global one wins, then a weak one, then the first.
 */
export function findFunction(elf: ElfFile, name: string): FunctionLookup {
  const named = elf.symbols().filter((s) => s.name === name && s.defined);
  const candidates = named.filter(isProbeable).sort((a, b) => BINDING_ORDER[a.binding] - BINDING_ORDER[b.binding]);
  const symbol = candidates[0];
  if (!symbol) return { missing: named.some((s) => s.type === "ifunc") ? "ifunc" : "no-symbol" };
  const fileOffset = elf.fileOffset(symbol.value);
  return fileOffset === undefined ? { missing: "unmapped" } : { found: { symbol, fileOffset } };
}
