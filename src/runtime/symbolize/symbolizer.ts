/**
 * Addresses to function names: kernel ones through /proc/kallsyms, user ones through the process's
 * mappings and the ELF symbols of the mapped files (with their debug files and MiniDebugInfo).
 * Nothing here throws for an address it cannot name: that frame says "[unknown]" and why.
 */
import { statSync, type BigIntStats } from "node:fs";
import { vaddrOfOffset } from "../../elf/elf-file.js";
import { KernelSymbolTable } from "./kallsyms.js";
import { DEFAULT_DEBUG_DIRS } from "./debug-info.js";
import { ModuleCache, type ModuleCacheStats, type ModuleLookup } from "./module-cache.js";
import { readPerfMap, type PerfMap } from "./perf-map.js";
import { findMapping, isFileMapping, readMaps, type Mapping } from "./proc-maps.js";

export interface Frame {
  address: bigint;
  /** The function holding the address, when known. */
  symbol?: string;
  /** Bytes from the function's start. */
  offset?: bigint;
  /** The mapped file (user), the kernel module ("ext4"), or a pseudo-mapping ("[anon]", "[vdso]"). */
  module?: string;
  /** "func+0x1a" | "func" | "[unknown] (/usr/lib/x86_64-linux-gnu/libc.so.6)" | "[unknown]" */
  text: string;
  /** Why an [unknown] frame could not be named. */
  reason?: string;
}

export interface SymbolizerOptions {
  /** Where kernel symbols are read (default /proc/kallsyms). */
  kallsyms?: string;
  /** Directories of separate debug files (default /usr/lib/debug). */
  debugDirs?: readonly string[];
}

export interface SymbolizerStats extends ModuleCacheStats {
  /** /proc/PID/maps files read (once per pid until refresh). */
  mapsRead: number;
  /** Kernel symbols loaded from kallsyms (0 until the first kernel address). */
  kernelSymbols: number;
}

/** What one process looks like to the symbolizer: its mappings and where its files open from. */
interface ProcessView {
  maps: Mapping[] | { reason: string };
  /** "" when the process shares our root, else /proc/PID/root. */
  root: string;
  /** The symbols of each mapping, by its start address. */
  modules: Map<bigint, ModuleLookup>;
  /** JIT-compiled functions the process lists in /tmp/perf-PID.map (null: none), read at the first anonymous address. */
  perfMap?: PerfMap | null;
}

export class Symbolizer {
  private kallsyms?: KernelSymbolTable;
  private readonly processes = new Map<number, ProcessView>();
  private readonly modules: ModuleCache;
  private mapsRead = 0;

  constructor(private readonly options: SymbolizerOptions = {}) {
    this.modules = new ModuleCache(options.debugDirs ?? DEFAULT_DEBUG_DIRS);
  }

  /** Kernel addresses (kallsyms is read at the first call). */
  kernel(addresses: readonly bigint[]): Frame[] {
    return addresses.map((a) => this.kernelFrame(a, 0n));
  }

  /** Addresses in process `pid` (its mappings are read at the first call for that pid). */
  user(pid: number, addresses: readonly bigint[]): Frame[] {
    return addresses.map((a) => this.userFrame(pid, a, 0n));
  }

  /**
   * A stack trace, innermost frame first. Every frame but the first is a return address, which
   * may be the first byte after its function when the call was the last instruction (a call to
   * a noreturn function): those are looked up one byte earlier, as debuggers do.
   */
  stack(trace: { kind: "kernel" | "user"; addresses: readonly bigint[]; pid: number }): Frame[] {
    return trace.addresses.map((a, i) => {
      const back = i > 0 && a > 0n ? 1n : 0n;
      return trace.kind === "kernel" ? this.kernelFrame(a, back) : this.userFrame(trace.pid, a, back);
    });
  }

  /** Forget the mappings read for `pid` (or for every process): the next lookup reads them again. */
  refresh(pid?: number): void {
    if (pid === undefined) this.processes.clear();
    else this.processes.delete(pid);
  }

  stats(): SymbolizerStats {
    return { ...this.modules.stats(), mapsRead: this.mapsRead, kernelSymbols: this.kallsyms?.size ?? 0 };
  }

  private kernelFrame(address: bigint, back: bigint): Frame {
    this.kallsyms ??= KernelSymbolTable.read(this.options.kallsyms);
    const found = this.kallsyms.lookup(address - back);
    if ("reason" in found) return unknown(address, undefined, found.reason);
    return named(address, found.symbol.name, found.offset + back, found.symbol.module);
  }

  private userFrame(pid: number, address: bigint, back: bigint): Frame {
    const view = this.process(pid);
    if ("reason" in view.maps) return unknown(address, undefined, view.maps.reason);
    const at = address - back;
    const mapping = findMapping(view.maps, at);
    if (!mapping) return unknown(address, undefined, `0x${address.toString(16)} is not mapped in process ${pid}`);
    const module = mapping.path === "" ? "[anon]" : mapping.deleted ? `${mapping.path} (deleted)` : mapping.path;
    if (!isFileMapping(mapping)) {
      view.perfMap ??= readPerfMap(pid, view.root) ?? null;
      const jit = view.perfMap?.symbols.lookup(at);
      if (jit) return named(address, jit.name, jit.offset + back, view.perfMap!.path);
      return unknown(address, module, `${module} is not a file: code there (JIT-compiled, generated) has no ELF symbols${view.perfMap ? ` and is not in ${view.perfMap.path}` : ""}`);
    }
    const symbols = this.mappedModule(pid, view, mapping);
    if ("reason" in symbols) return unknown(address, module, symbols.reason);
    const fileOffset = Number(at - mapping.start) + mapping.offset;
    const vaddr = vaddrOfOffset(symbols.segments, fileOffset);
    if (vaddr === undefined) return unknown(address, module, `file offset 0x${fileOffset.toString(16)} is outside ${mapping.path}'s loaded segments`);
    const hit = symbols.symbols.lookup(vaddr);
    if (!hit) return unknown(address, module, symbols.warning ?? `no function symbol of ${mapping.path} holds 0x${vaddr.toString(16)}`);
    return named(address, hit.name, hit.offset + back, module);
  }

  private mappedModule(pid: number, view: ProcessView, mapping: Mapping): ModuleLookup {
    let symbols = view.modules.get(mapping.start);
    if (!symbols) {
      const file = locateMappedFile(pid, view.root, mapping);
      symbols = "reason" in file ? file : this.modules.get(file.open, file.stat, mapping.path, [file.root]);
      view.modules.set(mapping.start, symbols);
    }
    return symbols;
  }

  private process(pid: number): ProcessView {
    let view = this.processes.get(pid);
    if (!view) {
      this.mapsRead++;
      view = { maps: readMaps(pid), root: processRoot(pid), modules: new Map() };
      this.processes.set(pid, view);
    }
    return view;
  }
}

/**
 * Where this process can open the file `m` maps: the path under the traced process's root (a
 * container's files; maps shows paths from its root when ours cannot reach them), the path as
 * it is (a chroot's files, which maps shows from our root), or /proc/PID/map_files (a file
 * deleted or replaced since it was mapped). The one whose inode is the mapping's is the file.
 */
function locateMappedFile(pid: number, root: string, m: Mapping): { open: string; root: string; stat: BigIntStats } | { reason: string } {
  const candidates = m.deleted ? [] : root ? [{ open: root + m.path, root }, { open: m.path, root: "" }] : [{ open: m.path, root }];
  candidates.push({ open: `/proc/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`, root });
  for (const candidate of candidates) {
    try {
      const stat = statSync(candidate.open, { bigint: true });
      if (stat.ino === BigInt(m.inode)) return { ...candidate, stat };
    } catch {
      // not there, or not ours to see: try the next
    }
  }
  return { reason: `cannot open ${m.path}${m.deleted ? " (deleted)" : ""}: no file reachable from here has the mapped inode (${m.deleted ? "reading /proc/PID/map_files needs CAP_SYS_ADMIN" : "the file was replaced since it was mapped"})` };
}

/** "" when the process sees the same root directory as we do; /proc/PID/root when not and we may look. */
function processRoot(pid: number): string {
  try {
    const theirs = statSync(`/proc/${pid}/root/`);
    const ours = statSync("/");
    return theirs.dev === ours.dev && theirs.ino === ours.ino ? "" : `/proc/${pid}/root`;
  } catch {
    return "";
  }
}

/** "func+0x1a", or "func" at its first byte. */
export function symbolText(symbol: string, offset: bigint): string {
  return offset === 0n ? symbol : `${symbol}+0x${offset.toString(16)}`;
}

function named(address: bigint, symbol: string, offset: bigint, module: string | undefined): Frame {
  const text = symbolText(symbol, offset);
  return module === undefined ? { address, symbol, offset, text } : { address, symbol, offset, module, text };
}

function unknown(address: bigint, module: string | undefined, reason: string): Frame {
  return module === undefined ? { address, text: "[unknown]", reason } : { address, module, text: `[unknown] (${module})`, reason };
}
