/**
 * Build: one spec through the whole pipeline, to files in the output directory, or compared
 * with them (--check). Specs are independent, so several are built at once.
 */
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { outputHashes, type BuildCache, type CachedOutputs, type ManifestKeyParts, type OutputRole } from "./cache.js";
import { DiagnosticError, error, type Diagnostic } from "./diagnostics.js";
import { InputProbe, statInputs } from "./inputs.js";
import type { IrProbe } from "./ir.js";
import { kernelIdentity } from "../kernel/identity.js";
import type { KernelInfo } from "../kernel/index.js";
import { changedFiles, writeOutputs } from "./write-outputs.js";

export interface BuildOptions {
  outDir: string;
  /** Compare with what is on disk instead of writing. */
  check?: boolean;
  runtimeImport?: string;
  /** The kernel to build against; default: the running one, read only when a spec is not cached. */
  kernel?: KernelInfo;
  /** With the running kernel: another kernel's BTF file to build against (cross-building). */
  btf?: string;
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
  /** The build manifest answered: the front end did not run either (cache.ts). */
  manifestHit?: boolean;
}

/** What `check` needs: the kernel, a progress callback, and optionally the build cache. */
export type CheckOptions = Pick<BuildOptions, "kernel" | "btf" | "onProgress" | "cache">;

/** The front end of each spec, nothing compiled or written (`probegen check`). */
export function checkSpecs(specs: string[], options: CheckOptions = {}): Promise<SpecResult[]> {
  return buildSpecs(specs, { ...options, outDir: ".", checkOnly: true });
}

export async function buildSpecs(specs: string[], options: BuildOptions): Promise<SpecResult[]> {
  let kernel: Promise<KernelInfo> | undefined;
  const shared: Shared = {
    identity: options.kernel ? options.kernel.identity : () => kernelIdentity(options.btf),
    // The readers (tracefs, kallsyms, BTF) load only when a spec misses the cache, once for all.
    kernel: () => (kernel ??= options.kernel ? Promise.resolve(options.kernel) : import("../kernel/running.js").then((m) => m.runningKernel(options.btf))),
    now: new InputProbe(), // the files' state, once for every spec of this build
  };
  const results: SpecResult[] = new Array(specs.length);
  let next = 0;
  const worker = async () => {
    while (next < specs.length) {
      const i = next++;
      options.onProgress?.({ spec: specs[i]!, state: "start" });
      results[i] = await buildOne(specs[i]!, { ...options, ...shared });
      options.onProgress?.({ spec: specs[i]!, state: results[i]!.diagnostics.length ? "failed" : "done" });
    }
  };
  await Promise.all(Array.from({ length: Math.min(specs.length, availableParallelism()) }, worker));
  return results;
}

/** The options of one spec's build, with what the whole build shares. */
interface Shared {
  /** The kernel's identity for the manifest; none: the manifest is not used. */
  identity?: () => string;
  kernel: () => Promise<KernelInfo>;
  now: InputProbe;
}
type BuildingOptions = Omit<BuildOptions, "kernel"> & Shared;

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

async function buildOne(specPath: string, options: BuildingOptions): Promise<SpecResult> {
  const spec = displayPath(specPath);
  const shown = userPath(specPath);
  const result: SpecResult = { spec: shown, files: [], diagnostics: [], stale: [], manifestHit: false };
  try {
    let text: string;
    try {
      text = readFileSync(specPath, "utf8");
    } catch (e) {
      throw new DiagnosticError([error("no-such-spec", `cannot read ${shown}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, undefined, "check the path")]);
    }
    const runtimeImport = options.runtimeImport ?? "@probegen/runtime";
    const built = await fromManifest(specPath, spec, text, runtimeImport, options) ?? await compileSpec(specPath, spec, text, runtimeImport, options);
    // A getter: a hit parses its IR only for a caller that reads it (a no-op build does not).
    Object.defineProperty(result, "probe", { get: built.probe, enumerable: true, configurable: true });
    result.cached = built.cached && !options.checkOnly;
    result.manifestHit = built.manifestHit;
    if (options.checkOnly) return result;
    result.files = outputFiles(options.outDir, built.name, built.outputs!);
    if (options.check) {
      result.stale = built.upToDate ? [] : (await changedFiles(result.files)).map((f) => displayPath(f.path));
    } else if (!built.upToDate) {
      await writeOrExplain(options.outDir, async () => {
        await mkdir(options.outDir, { recursive: true });
        await writeOutputs(result.files, join(options.outDir, `.${built.probe.name}.lock`));
      });
    }
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    // The passes name the spec as generated files do; the user is shown a path they can open.
    result.diagnostics = e.diagnostics.map((d) => (d.span?.file === spec ? { ...d, span: { ...d.span, file: shown } } : d));
  }
  return result;
}

/** What one spec built to: its name and IR, and its outputs unless only checked. */
interface Built {
  name: string;
  probe: () => IrProbe;
  outputs?: Pick<CachedOutputs, OutputRole>;
  /** The outputs are the files already in the output directory (read to compare): nothing to write. */
  upToDate?: boolean;
  cached: boolean;
  manifestHit: boolean;
}

function outputFiles(outDir: string, name: string, outputs: Pick<CachedOutputs, OutputRole>): BuiltFile[] {
  const base = join(outDir, name);
  return [
    { path: `${base}.bpf.c`, contents: outputs.c },
    { path: `${base}.bpf.o`, contents: outputs.object },
    { path: `${base}.ts`, contents: outputs.ts },
  ];
}

/** The files in the output directory, when each is the output the manifest recorded. */
async function outputsOnDisk(outDir: string, name: string, hashes: Record<OutputRole, string>): Promise<Pick<CachedOutputs, OutputRole> | undefined> {
  const [c, object, ts] = outputFiles(outDir, name, { c: new Uint8Array(), object: new Uint8Array(), ts: new Uint8Array() }).map((f) => {
    try {
      return readFileSync(f.path); // synchronous: see BuildCache.manifest
    } catch {
      return undefined;
    }
  });
  if (!c || !object || !ts) return undefined;
  const onDisk = { c, object, ts };
  const found = outputHashes(onDisk);
  return found.c === hashes.c && found.object === hashes.object && found.ts === hashes.ts ? onDisk : undefined;
}

/** The manifest key of a spec, or undefined when the manifest cannot be used (no cache, a kernel without identity). */
function manifestKey(mode: ManifestKeyParts["mode"], specPath: string, spec: string, text: string, runtimeImport: string, options: BuildingOptions): string | undefined {
  if (!options.cache || !options.identity) return undefined;
  return options.cache.manifestKey({
    mode, specFile: resolve(specPath), specPath: spec, specText: text,
    outDir: mode === "check" ? "" : insideCwd(resolve(options.outDir)) ?? "(outside)", runtimeImport: mode === "check" ? "" : runtimeImport,
    kernel: options.identity(),
  });
}

/** The spec's IR and outputs from the manifest, when it and every file it lists are unchanged. */
async function fromManifest(specPath: string, spec: string, text: string, runtimeImport: string, options: BuildingOptions): Promise<Built | undefined> {
  const key = manifestKey(options.checkOnly ? "check" : "build", specPath, spec, text, runtimeImport, options);
  const entry = key && await options.cache!.manifest(key, options.now);
  if (!entry) return undefined;
  const hit = { name: entry.name, probe: entry.probe, cached: true, manifestHit: true };
  if (options.checkOnly) return hit;
  const onDisk = entry.outputs && await outputsOnDisk(options.outDir, entry.name, entry.outputs);
  if (onDisk) return { ...hit, outputs: onDisk, upToDate: true };
  const outputs = entry.contentKey ? await options.cache!.get(entry.contentKey) : undefined;
  return outputs && { ...hit, outputs };
}

/** The front end, then the outputs from the content-hash cache or from clang; records the manifest. */
async function compileSpec(specPath: string, spec: string, text: string, runtimeImport: string, options: BuildingOptions): Promise<Built> {
  const { frontEnd, compileOutputs } = await import("./pipeline.js");
  const cPathOf = (name: string) => displayPath(join(options.outDir, `${name}.bpf.c`));
  const front = frontEnd({ path: spec, text, dir: dirname(resolve(specPath)) }, await options.kernel(), cPathOf);
  const { probe, cText } = front;
  const cache = options.cache;
  const checkKey = manifestKey("check", specPath, spec, text, runtimeImport, options);
  if (checkKey) await cache!.putManifest(checkKey, { probe, inputs: front.inputs });
  const built = { name: probe.name, probe: () => probe, cached: false, manifestHit: false };
  if (options.checkOnly) return built;
  const cPath = cPathOf(probe.name);
  const key = cache && await cache.key({ specPath: spec, specText: text, cPath, cText, runtimeImport, kernelFacts: front.kernelFacts });
  let outputs = key ? await cache!.get(key) : undefined;
  const cached = outputs !== undefined;
  if (!outputs) {
    const compiled = await compileOutputs(probe, { path: cPath, text: cText }, { path: spec, text }, runtimeImport);
    outputs = { c: Buffer.from(cText), object: compiled.object, ts: Buffer.from(compiled.ts), headers: compiled.headers };
    if (key) await cache!.put(key, outputs);
  }
  const buildKey = manifestKey("build", specPath, spec, text, runtimeImport, options);
  if (buildKey) await cache!.putManifest(buildKey, { probe, inputs: [...front.inputs, ...statInputs(outputs.headers)], contentKey: key, outputs: outputHashes(outputs) });
  return { ...built, outputs, cached };
}
