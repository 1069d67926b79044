/**
 * The running kernel as the compiler reads it: tracepoint formats, function symbols and types,
 * each read on first use, and each use noted for the build manifest (compiler/inputs.ts).
 */
import { existsSync } from "node:fs";
import { DiagnosticError, error } from "../compiler/diagnostics.js";
import { noteFile, notePseudoFile } from "../compiler/inputs.js";
import { Btf } from "./btf/index.js";
import { kernelIdentity, VMLINUX_BTF } from "./identity.js";
import type { KernelInfo } from "./index.js";
import { KernelSymbols } from "./kallsyms.js";
import { Tracefs } from "./tracefs.js";

/**
 * The running kernel, read lazily and once per process. `btfFile` builds against another
 * kernel's types (cross-building); its tracefs formats and symbols are still this machine's.
 */
export function runningKernel(btfFile?: string): KernelInfo {
  let tracefs: Tracefs | undefined | null = null;
  let symbols: KernelSymbols | undefined | null = null;
  let btf: Btf | undefined | null = null;
  const findTracefs = () => (tracefs === null ? (tracefs = Tracefs.find()) : tracefs);
  const btfPath = btfFile ?? VMLINUX_BTF;
  return {
    tracefs: findTracefs,
    symbols: () => {
      if (btfFile) return undefined;
      // kallsyms is this boot's kernel (in the identity) plus its modules: noted by their list.
      notePseudoFile("/proc/modules");
      return symbols === null ? (symbols = KernelSymbols.read()) : symbols;
    },
    btf: () => {
      noteFile(btfPath);
      return btf === null ? (btf = readBtf(btfFile)) : btf;
    },
    sameKernel: btfFile === undefined,
    identity: () => kernelIdentity(btfFile),
  };
}

function readBtf(file: string | undefined): Btf | undefined {
  const path = file ?? VMLINUX_BTF;
  if (!file && !existsSync(path)) return undefined;
  try {
    return Btf.fromFile(path);
  } catch (e) {
    throw new DiagnosticError([error("no-btf", `${(e as Error).message}`, undefined,
      "give a vmlinux BTF file (e.g. a copy of /sys/kernel/btf/vmlinux) or an ELF with a .BTF section")]);
  }
}
