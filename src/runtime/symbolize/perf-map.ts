/**
 * Names of JIT-compiled code from the perf map a runtime writes: /tmp/perf-PID.map, one
 * "START SIZE name" line (hex, no 0x) per function, as node --perf-basic-prof, the JVM's perf
 * agents and others write it for perf. Later lines win: code moves and is rewritten.
 */
import { readFileSync } from "node:fs";
import type { ElfSymbol } from "../../elf/elf-file.js";
import { SymbolTable } from "./symbol-table.js";

export interface PerfMap {
  path: string;
  symbols: SymbolTable;
}

/** The process's perf map under its root, or undefined when it writes none. */
export function readPerfMap(pid: number, root: string): PerfMap | undefined {
  const path = `/tmp/perf-${pid}.map`;
  let text: string;
  try {
    text = readFileSync(root + path, "utf8");
  } catch {
    return undefined;
  }
  return { path, symbols: parsePerfMap(text) };
}

export function parsePerfMap(text: string): SymbolTable {
  const byStart = new Map<bigint, ElfSymbol>();
  for (const line of text.split("\n")) {
    const m = /^([0-9a-fA-F]+) ([0-9a-fA-F]+) (.+)$/.exec(line);
    if (!m) continue;
    const value = BigInt(`0x${m[1]}`);
    byStart.set(value, { name: m[3]!, value, size: BigInt(`0x${m[2]}`), type: "func", binding: "global", defined: true });
  }
  return SymbolTable.fromSymbols(byStart.values());
}
