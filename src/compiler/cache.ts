/**
 * The build cache: a spec whose inputs have not changed is not compiled again.
 *
 * The key is a SHA-256 over everything the three output files are a function of:
 *  - probegen's version and a hash of the compiler's own code and templates (so an edited
 *    emitter or template is a miss even when the version number did not change);
 *  - the clang and llvm-strip versions (`--version` output, asked once per process);
 *  - the spec's path and text, the emitted C and its path (which already carry the kernel's
 *    tracepoint layouts), the tracepoint formats the spec used, and the runtime import.
 * An entry stores the exact bytes a fresh build produced, with their hashes, which are checked
 * on read; a damaged entry is a miss. So a hit gives byte-identical output to a fresh build and
 * `build --check` means the same with or without the cache.
 *
 * Entries live in $PROBEGEN_CACHE_DIR, else $XDG_CACHE_HOME/probegen, else ~/.cache/probegen.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { toolchain, type Toolchain } from "./clang.js";
import { packageRoot, version } from "./package-info.js";

/** Format of entries; bump when it changes. */
const ENTRY_FORMAT = 1;

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
}

export interface CacheStats {
  hits: number;
  misses: number;
}

export function defaultCacheDir(): string {
  if (process.env.PROBEGEN_CACHE_DIR) return process.env.PROBEGEN_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "probegen");
}

export class BuildCache {
  readonly stats: CacheStats = { hits: 0, misses: 0 };
  private salt?: Promise<string>;

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

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  async get(key: string): Promise<CachedOutputs | undefined> {
    let entry: { format: number; files: Record<keyof CachedOutputs, { sha256: string; base64: string }> };
    try {
      entry = JSON.parse(await readFile(this.path(key), "utf8"));
    } catch {
      this.stats.misses++;
      return undefined;
    }
    const out: Partial<CachedOutputs> = {};
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
    try {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, js);
      await rename(tmp, path);
    } catch {
      // read-only home, full disk: transpile again next time
    }
    return js;
  }

  /** Best effort: a cache that cannot be written only makes the next build slower. */
  async put(key: string, outputs: CachedOutputs): Promise<void> {
    const files = Object.fromEntries(
      (["c", "object", "ts"] as const).map((role) => [role, { sha256: sha256(outputs[role]), base64: Buffer.from(outputs[role]).toString("base64") }]),
    );
    const path = this.path(key);
    try {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify({ format: ENTRY_FORMAT, files }));
      await rename(tmp, path);
    } catch {
      // read-only home, full disk: build without the cache
    }
  }
}

function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

let code: string | undefined;

/** Hash of the compiler's code (this directory, whether src/ or dist/) and the C templates. */
function codeHash(): string {
  if (code) return code;
  const h = createHash("sha256");
  const roots = [dirname(fileURLToPath(import.meta.url)), join(packageRoot, "templates")];
  for (const root of roots) {
    for (const file of walk(root)) {
      if (!/\.(js|ts|hbs|h|json)$/.test(file) || file.endsWith(".map") || file.endsWith(".d.ts")) continue;
      h.update(`${file.slice(root.length)}\0`);
      h.update(readFileSync(file));
    }
  }
  code = h.digest("hex");
  return code;
}

function walk(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    try {
      return statSync(path).isDirectory() ? walk(path) : [path];
    } catch {
      return [];
    }
  });
}
