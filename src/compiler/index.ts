/**
 * probegen/compiler: the compiler as a library, for build tools, editors and scripts. It does
 * what `probegen build` and `probegen check` do, and reports each problem in a spec as a Diagnostic
 * (a code, a message, its file:line:column, a hint) rather than throwing.
 *
 *   const [result] = await build(["probes/opensnoop.yaml"], { outDir: "generated" });
 *   for (const d of result.diagnostics) console.error(formatDiagnostic(d));
 */
import { expandAttach } from "./attach/index.js";
import { buildSpecs, checkSpecs, type BuildOptions, type CheckOptions, type SpecResult } from "./build.js";
import { runningKernel } from "../kernel/running.js";
import type { KernelInfo } from "../kernel/index.js";

export type { BuildOptions, BuiltFile, SpecResult } from "./build.js";
export { runningKernel } from "../kernel/running.js";
export type { KernelInfo } from "../kernel/index.js";
export { BuildCache, defaultCacheDir } from "./cache.js";
export {
  DiagnosticError,
  formatDiagnostic,
  type Diagnostic,
  type FormatOptions,
  type Severity,
  type SourceSpan,
} from "./diagnostics.js";
export { packageRoot, version } from "./package-info.js";
export type { DroppingProgram, IrField, IrMap, IrMapType, IrProbe, IrStructMember } from "./ir.js";
export { describeDrops, droppingPrograms } from "./ir.js";
export { cIdentifierProblem as identifierProblem, tsNames } from "./names.js";
export { closest } from "./suggest.js";
export { globMatcher, isGlob } from "./attach/glob.js";
export { typeName } from "./types.js";
export { openFlagsTable } from "./decode.js";
export type { IrDecoder, SymbolTable } from "./decode.js";

/**
 * Builds each spec to NAME.bpf.c, NAME.bpf.o and NAME.ts in `options.outDir` (with `check`,
 * compares with what is there instead of writing). One result per spec, in the given order;
 * a spec with errors has diagnostics and no files.
 */
export function build(specs: string[], options: BuildOptions): Promise<SpecResult[]> {
  return buildSpecs(specs, options);
}

/**
 * What `check` needs: the kernel to check against (default: the running one), a progress
 * callback, and optionally a build cache, whose manifest answers for a spec that already
 * checked clean against the same files (cache.ts).
 */
export type { CheckOptions };

/**
 * Checks each spec against the schema and the kernel's types without running clang or writing
 * anything: fast enough for an editor on every save. One result per spec, with its diagnostics.
 */
export function check(specs: string[], options: CheckOptions = {}): Promise<SpecResult[]> {
  return checkSpecs(specs, options);
}

/**
 * What an attach pattern (`tracepoint/syscalls/sys_enter_*`, `tracepoint/sched/sched_process_{exec,exit}`)
 * matches on the kernel, sorted: the programs a spec with `attach: PATTERN` gets. A pattern that
 * matches nothing gives the problem (with the near patterns that match) instead.
 */
export function matchAttach(pattern: string, kernel: KernelInfo = runningKernel()): { matches: string[] } | { problem: { code: string; message: string; hint?: string } } {
  let problem: { code: string; message: string; hint?: string } | undefined;
  const matches = expandAttach(pattern, {
    tracefs: () => kernel.tracefs(),
    symbols: () => kernel.symbols(),
    btf: () => kernel.btf?.(),
    fail: (code, message, hint) => {
      problem ??= { code, message, hint };
      return undefined;
    },
  });
  return matches ? { matches } : { problem: problem! };
}
