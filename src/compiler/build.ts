/**
 * Build: one spec through the whole pipeline, to files in the output directory, or compared
 * with them (--check). Specs are independent, so several are built at once.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { basename, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { BuildCache } from "./cache.js";
import { Btf } from "../kernel/btf/index.js";
import { compileC } from "./clang.js";
import { DiagnosticError, error, type Diagnostic } from "./diagnostics.js";
import { emitC } from "./emit-c.js";
import { emitTs } from "./emit-ts.js";
import { decodersOf } from "./decode.js";
import type { IrProbe } from "./ir.js";
import { licenseProblem } from "./license.js";
import { KernelSymbols } from "../kernel/kallsyms.js";
import { Tracefs } from "../kernel/tracefs.js";
import { SpecSource } from "./parse.js";
import { lowerProbe } from "./lower.js";
import { resolveProbe, type KernelInfo } from "./resolve.js";
import { validateSpec } from "./validate.js";
import { changedFiles, writeOutputs } from "./write-outputs.js";

export interface BuildOptions {
  outDir: string;
  /** Compare with what is on disk instead of writing. */
  check?: boolean;
  runtimeImport?: string;
  kernel?: KernelInfo;
  onProgress?: (event: { spec: string; state: "start" | "done" | "failed" }) => void;
  /** Stop after the front end and the C emitter: no clang, no TS, nothing written (`probegen check`). */
  checkOnly?: boolean;
  /** Reuse the outputs of a spec whose inputs have not changed (see cache.ts). */
  cache?: BuildCache;
}

export interface BuiltFile {
  path: string;
  contents: Uint8Array;
}

export interface SpecResult {
  /** The spec as the user can open it: relative to the working directory inside it, else absolute. */
  spec: string;
  probe?: IrProbe;
  files: BuiltFile[];
  diagnostics: Diagnostic[];
  /** With check: files that differ from (or are missing in) the output directory. */
  stale: string[];
  /** The files came from the build cache: clang did not run. */
  cached?: boolean;
}

/**
 * The running kernel, read lazily and once per process. `btfFile` builds against another
 * kernel's types (cross-building); its tracefs formats and symbols are still this machine's.
 */
export function runningKernel(btfFile?: string): KernelInfo {
  let tracefs: Tracefs | undefined | null = null;
  let symbols: KernelSymbols | undefined | null = null;
  let btf: Btf | undefined | null = null;
  return {
    tracefs: () => (tracefs === null ? (tracefs = Tracefs.find()) : tracefs),
    symbols: () => (symbols === null ? (symbols = btfFile ? undefined : KernelSymbols.read()) : symbols),
    btf: () => (btf === null ? (btf = readBtf(btfFile)) : btf),
    sameKernel: btfFile === undefined,
  };
}

function readBtf(file: string | undefined): Btf | undefined {
  const path = file ?? "/sys/kernel/btf/vmlinux";
  if (!file && !existsSync(path)) return undefined;
  try {
    return Btf.fromFile(path);
  } catch (e) {
    throw new DiagnosticError([error("no-btf", `${(e as Error).message}`, undefined,
      "give a vmlinux BTF file (e.g. a copy of /sys/kernel/btf/vmlinux) or an ELF with a .BTF section")]);
  }
}

export async function buildSpecs(specs: string[], options: BuildOptions): Promise<SpecResult[]> {
  const kernel = options.kernel ?? runningKernel();
  const results: SpecResult[] = new Array(specs.length);
  let next = 0;
  const worker = async () => {
    while (next < specs.length) {
      const i = next++;
      options.onProgress?.({ spec: specs[i]!, state: "start" });
      results[i] = await buildOne(specs[i]!, { ...options, kernel });
      options.onProgress?.({ spec: specs[i]!, state: results[i]!.diagnostics.length ? "failed" : "done" });
    }
  };
  await Promise.all(Array.from({ length: Math.min(specs.length, availableParallelism()) }, worker));
  return results;
}

/** Why the file system refused: the user's to fix (another -o, space, permissions), not a crash. */
const WRITE_PROBLEMS: Record<string, string> = {
  EACCES: "permission denied", EPERM: "operation not permitted", EROFS: "read-only file system",
  ENOSPC: "no space left on the device", EDQUOT: "disk quota exceeded", ENOTDIR: "a part of the path is not a directory",
  EEXIST: "a file is in the way", EISDIR: "a directory is in the way",
};

async function writeOrExplain(outDir: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const problem = err.code ? WRITE_PROBLEMS[err.code] : undefined;
    if (!problem) throw e;
    throw new DiagnosticError([error("cannot-write", `cannot write the outputs in ${userPath(outDir)}: ${problem} (${err.code})`, undefined,
      "choose an output directory this user may write: -o DIR")]);
  }
}

/** The path relative to the working directory when inside it; undefined outside it. */
function insideCwd(path: string): string | undefined {
  const rel = relative(process.cwd(), path).split(sep).join("/");
  return !rel || rel.startsWith("../") || isAbsolute(rel) ? undefined : rel;
}

/**
 * A path as written into generated files: relative to the working directory, posix; a path
 * outside it is known by its file name alone.
 */
function displayPath(path: string): string {
  return insideCwd(path) ?? basename(path);
}

/**
 * A path as diagnostics name it, so the user can open it: relative to the working directory
 * when inside it, absolute otherwise.
 */
function userPath(path: string): string {
  return insideCwd(path) ?? resolve(path);
}

async function buildOne(specPath: string, options: BuildOptions & { kernel: KernelInfo }): Promise<SpecResult> {
  const spec = displayPath(specPath);
  const shown = userPath(specPath);
  const result: SpecResult = { spec: shown, files: [], diagnostics: [], stale: [] };
  try {
    let text: string;
    try {
      text = await readFile(specPath, "utf8");
    } catch (e) {
      throw new DiagnosticError([error("no-such-spec", `cannot read ${shown}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, undefined, "check the path")]);
    }
    const source = SpecSource.parse(spec, text);
    const probe = lowerProbe(resolveProbe(source, validateSpec(source), options.kernel));
    result.probe = probe;
    const base = join(options.outDir, probe.name);
    const cPath = `${base}.bpf.c`;
    const cText = emitC(probe, displayPath(cPath));
    const license = licenseProblem(probe.license, cText, source.spanOf(["license"]));
    if (license) throw new DiagnosticError([license]);
    if (options.checkOnly) return result;
    const runtimeImport = options.runtimeImport ?? "probegen/runtime";
    const key = options.cache && await options.cache.key({
      specPath: spec, specText: text, cPath: displayPath(cPath), cText, runtimeImport,
      // The loader's decode tables come from the machine too (kernel headers: syscall numbers).
      kernelFacts: [probe.programs.map((p) => p.attach), decodersOf(probe)],
    });
    let outputs = key ? await options.cache!.get(key) : undefined;
    result.cached = outputs !== undefined;
    if (!outputs) {
      const object = await compileC({ cPath: displayPath(cPath), cText, specPath: spec, specText: text });
      const ts = await emitTs(probe, { runtimeImport, object });
      outputs = { c: Buffer.from(cText), object, ts: Buffer.from(ts) };
      if (key) await options.cache!.put(key, outputs);
    }
    result.files = [
      { path: cPath, contents: outputs.c },
      { path: `${base}.bpf.o`, contents: outputs.object },
      { path: `${base}.ts`, contents: outputs.ts },
    ];
    if (options.check) {
      result.stale = (await changedFiles(result.files)).map((f) => displayPath(f.path));
    } else {
      await writeOrExplain(options.outDir, async () => {
        await mkdir(options.outDir, { recursive: true });
        await writeOutputs(result.files, join(options.outDir, `.${probe.name}.lock`));
      });
    }
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    // The passes name the spec as generated files do; the user is shown a path they can open.
    result.diagnostics = e.diagnostics.map((d) => (d.span?.file === spec ? { ...d, span: { ...d.span, file: shown } } : d));
  }
  return result;
}

