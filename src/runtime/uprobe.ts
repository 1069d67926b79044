// A uprobe's function found again at load, in the file installed now (the spec was checked
// against the build machine's): libbpf attaches at a file offset, so that is what we hand it.
import { constants } from "node:os";
import { ElfError, ElfFile } from "../elf/elf-file.js";
import { findFunction } from "../elf/functions.js";
import { locateBinary } from "../elf/locate.js";
import { BpfError } from "./errors.js";

/** The loader's descriptor of a uprobe or uretprobe (AttachTarget's "uprobe"). */
export interface UprobeTarget {
  kind: "uprobe";
  /** A path, a library by name (`libc`) or a program on PATH (`bash`). */
  path: string;
  symbol: string;
  /** Bytes after the symbol's start. */
  offset: number;
  retprobe: boolean;
}

/** What the native layer attaches: the file found, the function's file offset, the process (-1: every one). */
export interface ResolvedUprobe extends UprobeTarget {
  binary: string;
  fileOffset: number;
  pid: number;
}

/** "uprobe/libc:malloc", "uretprobe/bash:readline", "uprobe/./app:f+0x10". */
export function uprobeText(t: UprobeTarget): string {
  return `${t.retprobe ? "uretprobe" : "uprobe"}/${t.path}:${t.symbol}${t.offset ? `+0x${t.offset.toString(16)}` : ""}`;
}

/** Finds `target`'s file and function; a missing one is a BpfError (ENOENT) in words. */
export function resolveUprobe(program: string, target: UprobeTarget, pid: number | undefined): ResolvedUprobe {
  const fail = (errno: number, detail: string) => new BpfError({ operation: "attach", errno, program, attach: uprobeText(target), detail });
  const located = locateBinary(target.path);
  if ("error" in located) throw fail(constants.errno.ENOENT, `cannot attach program '${program}': ${located.error} (looked in ${located.tried}), so its function '${target.symbol}' cannot be found`);
  let elf: ElfFile;
  try {
    elf = ElfFile.open(located.path);
  } catch (e) {
    if (e instanceof ElfError) throw fail(constants.errno.ENOEXEC, `cannot attach program '${program}' to '${target.symbol}' in ${located.path}: ${e.message}`);
    throw e;
  }
  try {
    const lookup = findFunction(elf, target.symbol);
    if ("missing" in lookup) {
      const why = lookup.missing === "ifunc" ? `'${target.symbol}' in ${located.path} is an indirect function (IFUNC), whose symbol is only its resolver`
        : lookup.missing === "unmapped" ? `'${target.symbol}' in ${located.path} lies outside what a process maps of it`
        : `${located.path} has no function '${target.symbol}'`;
      throw fail(constants.errno.ENOENT, `cannot attach program '${program}': ${why}; the spec was built against a file that had it: rebuild the spec for the file installed here`);
    }
    const size = Number(lookup.found.symbol.size);
    if (target.offset > 0 && target.offset >= size) {
      throw fail(constants.errno.EINVAL, `cannot attach program '${program}': +${target.offset} is outside '${target.symbol}' in ${located.path}, which is ${size} bytes long here: rebuild the spec for the file installed here`);
    }
    return { ...target, binary: located.path, fileOffset: lookup.found.fileOffset + target.offset, pid: pid ?? -1 };
  } finally {
    elf.close();
  }
}
