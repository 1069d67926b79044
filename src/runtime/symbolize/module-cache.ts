/**
 * The symbols of the files processes map, parsed once: keyed by the file's identity (device,
 * inode, size, mtime: many processes of one binary cost one stat each) and by build id (the same
 * binary at another path or inside a container's root reuses the table).
 */
import type { BigIntStats } from "node:fs";
import { ElfError, ElfFile, SHT_SYMTAB, type ElfSegment, type ElfSymbol } from "../../elf/elf-file.js";
import { miniDebugInfo, openDebugFile, type DebugFileSearch } from "./debug-info.js";
import { SymbolTable } from "./symbol-table.js";

export interface ModuleSymbols {
  buildId?: string;
  /** The program headers, to turn a file offset into the virtual address symbols use. */
  segments: readonly ElfSegment[];
  symbols: SymbolTable;
  /** Where the symbols came from: the file itself, a debug file's path, ".gnu_debugdata". */
  sources: readonly string[];
  /** A source that was there but could not be read (say, xz missing for .gnu_debugdata). */
  warning?: string;
}

export type ModuleLookup = ModuleSymbols | { reason: string };

export interface ModuleCacheStats {
  /** ELF files opened: mapped files, debug files and decompressed .gnu_debugdata images. */
  elfFilesRead: number;
  /** Symbol tables built (one per distinct binary). */
  symbolTablesParsed: number;
  /** Lookups answered from the cache without opening a file. */
  cacheHits: number;
}

export class ModuleCache {
  private readonly byIdentity = new Map<string, ModuleLookup>();
  private readonly byBuildId = new Map<string, ModuleSymbols>();
  private readonly counts: ModuleCacheStats = { elfFilesRead: 0, symbolTablesParsed: 0, cacheHits: 0 };

  constructor(private readonly debugDirs: readonly string[]) {}

  stats(): ModuleCacheStats {
    return { ...this.counts };
  }

  /**
   * The symbols of the file at `openPath` (what this process opens: maybe under /proc/PID/root
   * or /proc/PID/map_files; `stat` is its stat), which the traced process maps as `path`.
   * `roots` prefix the paths of its debug files.
   */
  get(openPath: string, stat: BigIntStats, path: string, roots: readonly string[]): ModuleLookup {
    const identity = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}`;
    const cached = this.byIdentity.get(identity);
    if (cached) {
      this.counts.cacheHits++;
      return cached;
    }
    const loaded = this.load(openPath, path, { debugDirs: this.debugDirs, roots });
    this.byIdentity.set(identity, loaded);
    return loaded;
  }

  private load(openPath: string, path: string, search: DebugFileSearch): ModuleLookup {
    let elf: ElfFile;
    try {
      elf = ElfFile.open(openPath);
    } catch (e) {
      return { reason: (e as Error).message.replace(openPath, path) };
    }
    this.counts.elfFilesRead++;
    try {
      const buildId = elf.buildId();
      const known = buildId === undefined ? undefined : this.byBuildId.get(buildId);
      if (known) {
        this.counts.cacheHits++;
        return known;
      }
      const symbols: ElfSymbol[] = [...elf.symbols()];
      const sources = [path];
      let warning: string | undefined;
      // A file with its own .symtab has every function; a stripped one may have them elsewhere.
      if (!elf.sections.some((s) => s.type === SHT_SYMTAB)) {
        const debug = openDebugFile(elf, path, search);
        if (debug) {
          this.counts.elfFilesRead++;
          try {
            symbols.push(...debug.symbols());
            sources.push(debug.path);
          } finally {
            debug.close();
          }
        }
        try {
          const mini = miniDebugInfo(elf);
          if (mini) {
            this.counts.elfFilesRead++;
            symbols.push(...mini.symbols());
            sources.push(".gnu_debugdata");
          }
        } catch (e) {
          if (!(e instanceof ElfError)) throw e;
          warning = e.message;
        }
      }
      const module: ModuleSymbols = { buildId, segments: elf.segments, symbols: SymbolTable.fromSymbols(symbols, elf.sections), sources, warning };
      this.counts.symbolTablesParsed++;
      if (buildId !== undefined) this.byBuildId.set(buildId, module);
      return module;
    } catch (e) {
      if (!(e instanceof ElfError)) throw e;
      return { reason: e.message.replace(openPath, path) };
    } finally {
      elf.close();
    }
  }
}
