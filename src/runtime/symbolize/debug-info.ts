/**
 * Symbols a stripped file keeps elsewhere: a separate debug file (found by build id or by its
 * .gnu_debuglink name, as gdb looks for it) and MiniDebugInfo (.gnu_debugdata: an xz-compressed
 * ELF file with a .symtab of the functions .dynsym lacks, as Fedora ships).
 */
import { createRequire } from "node:module";
import { closeSync, openSync, readSync } from "node:fs";
import { dirname } from "node:path";
import { ElfError, ElfFile } from "../../elf/elf-file.js";

export const DEFAULT_DEBUG_DIRS = ["/usr/lib/debug"];

export interface DebugFileSearch {
  /** Directories of debug files (default /usr/lib/debug). */
  debugDirs: readonly string[];
  /** Prefixes a path is read under: the process's root (/proc/PID/root) when it lives in another mount namespace, then "". */
  roots: readonly string[];
}

/**
 * The separate debug file for `elf` (read from `path`, the name the process sees): by build id
 * (DIR/.build-id/ab/cdef....debug, its build id checked), then by debug link (next to the file,
 * in its .debug/ directory, under DIR + the file's directory; its CRC checked). Opened, or undefined.
 */
export function openDebugFile(elf: ElfFile, path: string, search: DebugFileSearch): ElfFile | undefined {
  const buildId = elf.buildId();
  if (buildId && buildId.length > 2) {
    for (const dir of search.debugDirs) {
      const found = openUnder(search.roots, `${dir}/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`, (debug) => debug.buildId() === buildId);
      if (found) return found;
    }
  }
  const link = elf.debugLink();
  if (link) {
    const dir = dirname(path);
    const candidates = [`${dir}/${link.file}`, `${dir}/.debug/${link.file}`, ...search.debugDirs.map((d) => `${d}${dir}/${link.file}`)];
    for (const candidate of candidates) {
      if (candidate === path) continue;
      const found = openUnder(search.roots, candidate, (debug) => fileCrc32(debug.path) === link.crc);
      if (found) return found;
    }
  }
  return undefined;
}

/** The first of root + path that opens as an ELF file and passes `check`. */
function openUnder(roots: readonly string[], path: string, check: (elf: ElfFile) => boolean): ElfFile | undefined {
  for (const root of roots) {
    let elf: ElfFile;
    try {
      elf = ElfFile.open(root + path);
    } catch {
      continue;
    }
    if (check(elf)) return elf;
    elf.close();
  }
  return undefined;
}

/** The ELF image in .gnu_debugdata, decompressed with xz; undefined when the file has none. Throws ElfError when it cannot be read. */
export function miniDebugInfo(elf: ElfFile): ElfFile | undefined {
  const section = elf.section(".gnu_debugdata");
  if (!section) return undefined;
  let image: Buffer;
  try {
    // Loaded here, for the rare file with MiniDebugInfo: every app that imports the runtime would pay ~8 ms.
    const { execFileSync } = createRequire(import.meta.url)("node:child_process") as typeof import("node:child_process");
    image = execFileSync("xz", ["--decompress", "--stdout"], { input: elf.read(section), maxBuffer: 1 << 30, stdio: ["pipe", "pipe", "pipe"] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    const why = err.code === "ENOENT" ? "the xz command is not installed (Debian: apt-get install xz-utils)" : err.stderr?.toString().trim() || err.message;
    throw new ElfError(`cannot decompress ${elf.path}'s .gnu_debugdata: ${why}`);
  }
  return ElfFile.fromBuffer(image, `${elf.path} (.gnu_debugdata)`);
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The CRC-32 (zlib's, which .gnu_debuglink records) of a whole file, read in chunks. */
export function fileCrc32(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    let crc = 0xffffffff;
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0; ) {
      for (let i = 0; i < n; i++) crc = CRC_TABLE[(crc ^ chunk[i]!) & 0xff]! ^ (crc >>> 8);
    }
    return (crc ^ 0xffffffff) >>> 0;
  } finally {
    closeSync(fd);
  }
}
