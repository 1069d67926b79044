/**
 * The build cache, two levels deep, so a spec whose inputs have not changed is neither
 * resolved nor compiled again.
 *
 * 1. The manifest (what ccache calls direct mode) answers before the front end runs. Its key
 *    is a SHA-256 over what can be known without it, cheaply: the spec's text and where it is,
 *    the output directory as generated files name it, the runtime import, probegen's identity
 *    (version, and the stat of every file of its compiler, kernel readers, templates and
 *    schemas), the toolchain's identity (the stat of the clang and llvm-strip that would run),
 *    and the kernel's (see KernelInfo.identity: tracefs root, BTF file, boot id, /proc/version).
 *    An entry lists every file the front end read while building the spec (inputs.ts) and the
 *    headers clang included, with their stat or hash; a hit re-checks each of them, then gives
 *    the IR the front end made and the key of the outputs below. A `check` has its own entries
 *    (no outputs): a spec that resolved without an error against the same inputs still does.
 *    Only clean builds are recorded: a spec with errors always runs the front end.
 * 2. The content-hash entries, keyed by a SHA-256 over everything the three output files are a
 *    function of:
 *    - probegen's version and a hash of the contents of its code and templates (so an
 *      edited emitter or template is a miss even when the version number did not change);
 *    - the clang and llvm-strip versions (`--version` output, asked once per process);
 *    - the spec's path and text, the emitted C and its path (which already carry the kernel's
 *      tracepoint layouts), the tracepoint formats the spec used, and the runtime import.
 *    An entry stores the exact bytes a fresh build produced, with their hashes, which are
 *    checked on read; a damaged entry is a miss. So a hit gives byte-identical output to a
 *    fresh build and `build --check` means the same with or without the cache.
 *
 * Entries live in $PROBEGEN_CACHE_DIR, else $XDG_CACHE_HOME/probegen, else ~/.cache/probegen:
 * content entries in XX/KEY.json, manifests in manifest/XX/KEY.json and the IR they name in
 * manifest/ir/, transpiled loaders in js/.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, type Dirent } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { toolchain, type Toolchain } from "./clang.js";
import { locateBinary } from "../elf/locate.js";
import { inputsUnchanged, statOf, type Input, type InputProbe } from "./inputs.js";
import type { IrProbe } from "./ir.js";
import { packageRoot, version } from "./package-info.js";

/** Format of content entries; bump when it changes. */
const ENTRY_FORMAT = 2;
/** Format of manifest entries; bump when it changes (or when the IR's shape does). */
const MANIFEST_FORMAT = 1;

export interface CacheInputs {
  specPath: string;
  specText: string;
  cPath: string;
  cText: string;
  runtimeImport: string;
  /** Whatever kernel facts the spec was resolved against (tracepoint formats), serialisable. */
  kernelFacts: unknown;
}

/** The outputs of one spec, by role. */
export interface CachedOutputs {
  c: Uint8Array;
  object: Uint8Array;
  ts: Uint8Array;
  /** The headers clang included (absolute paths), for the manifest to verify. */
  headers: string[];
}

/** What a manifest records: the front end's IR and inputs, and for a build its outputs' content entry and hashes. */
export interface ManifestEntry {
  probe: IrProbe;
  inputs: Input[];
  contentKey?: string;
  /** SHA-256 of each output, so a build can see that the files it would write are already there. */
  outputs?: Record<OutputRole, string>;
}

/** What a hit gives: the same, with the IR parsed only when asked for (a no-op build needs its name alone). */
export interface ManifestHit extends Omit<ManifestEntry, "probe"> {
  name: string;
  probe(): IrProbe;
}

export type OutputRole = "c" | "object" | "ts";

/** What the manifest key is made of, besides probegen, the toolchain and the kernel. */
export interface ManifestKeyParts {
  mode: "build" | "check";
  /** The spec's absolute path, the path generated files name it by, and its text. */
  specFile: string;
  specPath: string;
  specText: string;
  /** The output directory as generated files name it, and the runtime import (builds only). */
  outDir: string;
  runtimeImport: string;
  kernel: string;
}

export interface CacheStats {
  hits: number;
  misses: number;
}

/** SHA-256 of each output, as a manifest records them. */
export function outputHashes(outputs: Pick<CachedOutputs, OutputRole>): Record<OutputRole, string> {
  return { c: sha256(outputs.c), object: sha256(outputs.object), ts: sha256(outputs.ts) };
}

export function defaultCacheDir(): string {
  if (process.env.PROBEGEN_CACHE_DIR) return process.env.PROBEGEN_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "probegen");
}

export class BuildCache {
  readonly stats: CacheStats = { hits: 0, misses: 0 };
  private salt?: Promise<string>;
  private manifestSalt?: string;

  constructor(readonly dir: string = defaultCacheDir(), private readonly tools: Toolchain = toolchain()) {}

  /** Everything that is the same for all specs in this process: code, templates, toolchain. */
  private environment(): Promise<string> {
    this.salt ??= (async () => {
      const h = createHash("sha256");
      h.update(`probegen ${version}\0entry ${ENTRY_FORMAT}\0`);
      h.update(codeHash());
      for (const tool of [this.tools.clang, this.tools.strip]) {
        const { execa } = await import("execa"); // loaded only when a build needs the toolchain
        const r = await execa(tool, ["--version"], { reject: false, stdin: "ignore" }).catch(() => undefined);
        // A missing tool: the build itself reports it; here it only keeps keys apart.
        h.update(`${tool}\0${r?.stdout ?? "unavailable"}\0`);
      }
      return h.digest("hex");
    })();
    return this.salt;
  }

  async key(inputs: CacheInputs): Promise<string> {
    const h = createHash("sha256");
    h.update(await this.environment());
    for (const part of [inputs.specPath, inputs.specText, inputs.cPath, inputs.cText, inputs.runtimeImport, JSON.stringify(inputs.kernelFacts, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))]) {
      h.update(`${Buffer.byteLength(part)}:`);
      h.update(part);
    }
    return h.digest("hex");
  }

  /** probegen and the toolchain as stat sees them: cheap enough to ask before every build. */
  private manifestEnvironment(): string {
    if (this.manifestSalt === undefined) {
      const h = createHash("sha256");
      h.update(`probegen ${version}\0manifest ${MANIFEST_FORMAT}\0${process.arch}\0`);
      h.update(codeIdentity());
      for (const tool of [this.tools.clang, this.tools.strip]) h.update(`${tool}\0${executableIdentity(tool)}\0`);
      this.manifestSalt = h.digest("hex");
    }
    return this.manifestSalt;
  }

  manifestKey(parts: ManifestKeyParts): string {
    const h = createHash("sha256");
    h.update(this.manifestEnvironment());
    h.update(`${process.cwd()}\0`);
    for (const part of [parts.mode, parts.specFile, parts.specPath, parts.specText, parts.outDir, parts.runtimeImport, parts.kernel]) {
      h.update(`${Buffer.byteLength(part)}:`);
      h.update(part);
    }
    return h.digest("hex");
  }

  /** The entry, when every input it lists is unchanged; undefined otherwise (a miss). */
  async manifest(key: string, now?: InputProbe): Promise<ManifestHit | undefined> {
    let entry: { format: number; inputs: Input[]; name: string; ir: string; contentKey?: string; outputs?: Record<OutputRole, string> };
    try {
      // Synchronous, as the reads of a hit are: a few small files, where the thread pool's round trips cost more than the reads.
      entry = JSON.parse(readFileSync(this.manifestPath(key), "utf8"));
    } catch {
      return undefined;
    }
    if (entry.format !== MANIFEST_FORMAT || !Array.isArray(entry.inputs) || typeof entry.ir !== "string" || typeof entry.name !== "string") return undefined;
    const irPath = this.irPath(entry.ir);
    if (!existsSync(irPath) || !inputsUnchanged(entry.inputs, now)) return undefined;
    let probe: IrProbe | undefined;
    return { name: entry.name, probe: () => (probe ??= readIr(irPath, entry.ir)), inputs: entry.inputs, contentKey: entry.contentKey, outputs: entry.outputs };
  }

  /**
   * The IR goes to a file of its own (ir/SHA.json, by the hash of its text), read only when a
   * hit's IR is asked for: a no-op build reads the small manifests alone.
   */
  async putManifest(key: string, entry: ManifestEntry): Promise<void> {
    const ir = irToJson(entry.probe);
    const irHash = sha256(ir);
    await writeAtomically(this.irPath(irHash), ir);
    await writeAtomically(this.manifestPath(key), JSON.stringify({ format: MANIFEST_FORMAT, inputs: entry.inputs, name: entry.probe.name, ir: irHash, contentKey: entry.contentKey, outputs: entry.outputs }));
  }

  private irPath(hash: string): string {
    return join(this.dir, "manifest", "ir", `${hash}.json`);
  }

  private manifestPath(key: string): string {
    return join(this.dir, "manifest", key.slice(0, 2), `${key}.json`);
  }

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<CachedOutputs | undefined> {
    let entry: { format: number; headers?: string[]; files: Record<"c" | "object" | "ts", { sha256: string; base64: string }> };
    try {
      entry = JSON.parse(await readFile(this.path(key), "utf8"));
    } catch {
      this.stats.misses++;
      return undefined;
    }
    const out: Partial<CachedOutputs> = { headers: Array.isArray(entry.headers) ? entry.headers : [] };
    for (const role of ["c", "object", "ts"] as const) {
      const f = entry.format === ENTRY_FORMAT ? entry.files?.[role] : undefined;
      const bytes = f ? new Uint8Array(Buffer.from(f.base64, "base64")) : undefined;
      if (!f || !bytes || sha256(bytes) !== f.sha256) {
        this.stats.misses++;
        return undefined;
      }
      out[role] = bytes;
    }
    this.stats.hits++;
    return out as CachedOutputs;
  }

  /**
   * A generated loader as plain JavaScript (what `probegen run` imports), cached by the loader's
   * own hash: transpiling needs TypeScript, ~1 s to load, which a warm run then never pays.
   */
  async transpiled(ts: Uint8Array): Promise<string> {
    const path = join(this.dir, "js", `${sha256(ts)}.mjs`);
    try {
      return await readFile(path, "utf8");
    } catch {
      // not cached yet
    }
    const { ts: typescript } = await import("ts-morph");
    const js = typescript.transpileModule(Buffer.from(ts).toString("utf8"), {
      compilerOptions: { module: typescript.ModuleKind.ESNext, target: typescript.ScriptTarget.ES2022, sourceMap: false },
    }).outputText;
    await writeAtomically(path, js); // failing, it is transpiled again next time
    return js;
  }

  /** Best effort: a cache that cannot be written only makes the next build slower. */
  async put(key: string, outputs: CachedOutputs): Promise<void> {
    const files = Object.fromEntries(
      (["c", "object", "ts"] as const).map((role) => [role, { sha256: sha256(outputs[role]), base64: Buffer.from(outputs[role]).toString("base64") }]),
    );
    await writeAtomically(this.path(key), JSON.stringify({ format: ENTRY_FORMAT, headers: outputs.headers, files }));
  }
}

/** Best effort: read-only home, full disk: the next build is only slower. */
async function writeAtomically(path: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch {
    // see above
  }
}

/**
 * The IR as JSON, without btfTypes: the kernel's whole BTF, which only the C emitter reads, and
 * a hit does not emit. Bigints (constants, ranges) are written as strings and their paths listed
 * beside them: a reviver for them made parsing several times slower.
 */
function irToJson(probe: IrProbe): string {
  const bigints: Array<Array<string | number>> = [];
  const walk = (value: unknown, path: Array<string | number>): unknown => {
    if (typeof value === "bigint") {
      bigints.push(path);
      return value.toString();
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k])]));
  };
  return JSON.stringify({ ir: walk({ ...probe, btfTypes: undefined }, []), bigints });
}

/** A manifest's IR; written before the manifest naming it, so only a damaged cache lacks it. */
function readIr(path: string, hash: string): IrProbe {
  let text: string | undefined;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    // below
  }
  if (text === undefined || sha256(text) !== hash) throw new Error(`the build cache is damaged (${path}): remove that file, or the whole cache directory`);
  return irFromJson(text);
}

function irFromJson(text: string): IrProbe {
  const { ir, bigints } = JSON.parse(text) as { ir: Record<string | number, unknown>; bigints: Array<Array<string | number>> };
  for (const path of bigints) {
    let at: Record<string | number, unknown> = ir;
    for (const step of path.slice(0, -1)) at = at[step] as Record<string | number, unknown>;
    const last = path[path.length - 1]!;
    at[last] = BigInt(at[last] as string);
  }
  return ir as unknown as IrProbe;
}

/** A program as stat sees it where it would run (PATH, symlinks resolved); "missing" when there is none. */
function executableIdentity(name: string): string {
  const located = locateBinary(name);
  if (!("path" in located)) return "missing";
  return `${located.path}\0${statOf(located.path) ?? "missing"}`;
}

function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The runtime modules the compiler imports (constants it shares with the loaders); a test keeps the list whole. */
export const RUNTIME_MODULES_OF_THE_COMPILER = ["perf-event", "stack", "tracefs-mount"];

/**
 * probegen's own files that outputs depend on: the compiler (this directory, whether src/ or
 * dist/), the kernel and ELF readers beside it, the runtime modules it imports, the C templates
 * and the schemas. Walking the whole runtime too cost a `probegen run` ~5 ms more.
 */
function codeFiles(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const ext = extname(fileURLToPath(import.meta.url)); // .js in dist/, .ts in src/
  const roots = [here, join(here, "..", "kernel"), join(here, "..", "elf"), join(packageRoot, "templates"), join(packageRoot, "schemas")];
  const runtime = RUNTIME_MODULES_OF_THE_COMPILER.map((name) => join(here, "..", "runtime", `${name}${ext}`));
  return [...roots.flatMap((root) => walk(root)), ...runtime].filter((file) => /\.(js|cjs|mjs|ts|hbs|h|json)$/.test(file) && !file.endsWith(".d.ts"));
}

let code: string | undefined;

/** Hash of the contents of probegen's code files (the content-hash level). */
function codeHash(): string {
  if (code) return code;
  const h = createHash("sha256");
  for (const file of codeFiles()) {
    h.update(`${file.slice(packageRoot.length)}\0`);
    h.update(readFileSync(file));
  }
  code = h.digest("hex");
  return code;
}

/** The same files by stat (the manifest level): path, size and times, no reading. */
function codeIdentity(): string {
  const h = createHash("sha256");
  for (const file of codeFiles()) h.update(`${file}\0${statOf(file) ?? "gone"}\0`);
  return h.digest("hex");
}

/** The files under `dir`, sorted; the directory entries' types spare a stat per file. */
function walk(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}
