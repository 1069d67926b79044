/** `probegen build [--check] [--out-dir DIR] [--json] [--no-cache] SPEC...` */
import { build, BuildCache, type SpecResult } from "../compiler/build-api.js";
import { printDiagnostics, useColor } from "./output.js";
import { ExitCode } from "./exit-codes.js";

export interface BuildFlags {
  check: boolean;
  outDir: string;
  json: boolean;
  runtimeImport?: string;
  /** Use the build cache (default true); an instance to share one across builds (watch). */
  cache?: boolean | BuildCache;
  /** Another kernel's BTF (cross-building). */
  btf?: string;
}

export async function buildCommand(specs: string[], flags: BuildFlags): Promise<number> {
  const tty = useColor(process.stderr);
  const cache = flags.cache === false ? undefined : flags.cache instanceof BuildCache ? flags.cache : new BuildCache();
  const started = performance.now();
  const results = await build(specs, {
    outDir: flags.outDir,
    check: flags.check,
    runtimeImport: flags.runtimeImport,
    cache,
    btf: flags.btf,
    onProgress: flags.json ? undefined : progress(specs.length),
  });
  if (flags.json) {
    process.stdout.write(JSON.stringify(results.map(summary), null, 2) + "\n");
  } else {
    for (const r of results) report(r, flags.check, tty);
    if (results.length > 1 || process.env.PROBEGEN_TIMING) {
      const ms = Math.round(performance.now() - started);
      const hits = results.filter((r) => r.cached).length;
      process.stderr.write(`${results.length} specs in ${ms} ms${cache ? ` (${hits} from the build cache, ${results.length - hits} compiled)` : " (cache off)"}\n`);
    }
  }
  if (results.some((r) => r.diagnostics.length > 0)) return ExitCode.SpecError;
  if (results.some((r) => r.stale.length > 0)) return ExitCode.Stale;
  return ExitCode.Ok;
}

function summary(r: SpecResult) {
  return { spec: r.spec, ok: r.diagnostics.length === 0 && r.stale.length === 0, files: r.files.map((f) => f.path), stale: r.stale, diagnostics: r.diagnostics };
}

function report(r: SpecResult, check: boolean, color: boolean): void {
  const green = (s: string) => (color ? `\x1b[32m${s}\x1b[39m` : s);
  const red = (s: string) => (color ? `\x1b[31m${s}\x1b[39m` : s);
  if (r.diagnostics.length > 0) {
    printDiagnostics(r.diagnostics);
    process.stderr.write(`${red("✗")} ${r.spec}: ${r.diagnostics.length} error${r.diagnostics.length === 1 ? "" : "s"}\n`);
  } else if (check && r.stale.length > 0) {
    process.stderr.write(`${red("✗")} ${r.spec}: stale: ${r.stale.join(", ")}\n  run: probegen build ${r.spec}\n`);
  } else {
    process.stderr.write(`${green("✓")} ${r.spec}${check ? " up to date" : ` → ${r.files.map((f) => f.path).join(", ")}`}${r.cached ? " (cached)" : ""}\n`);
  }
}

/** A status line on a terminal while specs compile: how many are done, which are running. */
export function progress(total: number): ((e: { spec: string; state: "start" | "done" | "failed" }) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  const running = new Set<string>();
  let done = 0;
  return ({ spec, state }) => {
    if (state === "start") running.add(spec);
    else {
      running.delete(spec);
      done++;
    }
    const line = running.size ? `  [${done}/${total}] building ${[...running].join(", ")}` : "";
    const width = process.stderr.columns ?? 80;
    process.stderr.write(`\r\x1b[2K${line.length >= width ? line.slice(0, width - 2) + "…" : line}`);
  };
}
