/**
 * The spec fuzzer: makes specs (mutations of the bundled and documented specs, and specs walked
 * from the schema), puts each through the whole pipeline the way a user would (build, import the
 * loader, load it into the kernel, type-check it), and sorts the outcomes. The compiler's promise:
 * a spec is rejected with a located diagnostic before clang runs, or it builds, type-checks, loads
 * and attaches. Anything else is a bug.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { buildSpecs, runningKernel } from "../../src/compiler/build.js";
import type { KernelInfo } from "../../src/compiler/resolve.js";
import type { IrProbe } from "../../src/compiler/ir.js";
import { BpfError } from "../../src/runtime/errors.js";
import { loadCorpus, type Seed } from "./corpus.js";
import { SchemaGenerator } from "./generate.js";
import { mutate } from "./mutate.js";
import { Random } from "./random.js";

export type Outcome =
  | "rejected with a located diagnostic"
  | "built and loaded"
  | "built; refused at load naming the map"
  | "built; host lacks the program type"
  | "crash"
  | "diagnostic without a location"
  | "clang failure"
  | "verifier rejection"
  | "load failure"
  | "loader does not import"
  | "loader fails tsc --strict";

export const acceptable: ReadonlySet<Outcome> = new Set<Outcome>([
  "rejected with a located diagnostic", "built and loaded", "built; refused at load naming the map", "built; host lacks the program type",
]);

export interface CaseResult {
  index: number;
  steps: string[];
  outcome: Outcome;
  detail?: string;
  specPath: string;
}

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** Only this case (to reproduce one). */
  only?: number;
  dir?: string;
  /** Program kinds this kernel cannot load; their specs are built and type-checked only. */
  hostLacks?: ReadonlySet<string>;
  onCase?: (r: CaseResult) => void;
}

/** The spec text of case `index`: the same for the same seed, whatever ran before it. */
export function makeCase(seed: number, index: number, corpus: Seed[], schema: SchemaGenerator): { text: string; steps: string[] } {
  const r = new Random(Math.imul(seed, 0x01000193) ^ Math.imul(index + 1, 0x9e3779b1));
  if (r.chance(0.2)) return schema.spec(r);
  const origin = r.pick(corpus);
  const m = mutate(r, origin.spec);
  return { text: m.text, steps: [`from ${origin.origin}`, ...m.steps] };
}

export async function runFuzz(options: FuzzOptions): Promise<CaseResult[]> {
  const dir = resolve(options.dir ?? "test/.out/fuzz");
  rmSync(dir, { recursive: true, force: true });
  const corpus = loadCorpus();
  const schema = new SchemaGenerator();
  const indexes = options.only !== undefined ? [options.only] : Array.from({ length: options.cases }, (_, i) => i);
  const results: CaseResult[] = [];
  const loaders: Array<{ result: CaseResult; path: string }> = [];
  // One view of the kernel for the whole run: BTF and tracefs are read once, as in one build.
  const kernel = runningKernel();
  // Two at a time: clang runs in a child process, so two cases keep both cores busy.
  let next = 0;
  const worker = async () => {
    while (next < indexes.length) {
      const index = indexes[next++]!;
      const made = makeCase(options.seed, index, corpus, schema);
      const caseDir = `${dir}/case${index}`;
      mkdirSync(caseDir, { recursive: true });
      const specPath = `${caseDir}/c${index}.yaml`;
      writeFileSync(specPath, made.text);
      const result = await runCase(index, made.steps, specPath, caseDir, kernel, options.hostLacks ?? new Set(), loaders);
      results.push(result);
      options.onCase?.(result);
    }
  };
  await Promise.all([worker(), worker()]);
  for (const bad of await typeCheck(loaders.map((l) => l.path))) {
    const l = loaders.find((x) => x.path === bad.file)!;
    if (acceptable.has(l.result.outcome)) Object.assign(l.result, { outcome: "loader fails tsc --strict", detail: bad.message });
  }
  results.sort((a, b) => a.index - b.index);
  writeFileSync(`${dir}/results.json`, JSON.stringify(results, null, 1));
  return results;
}

async function runCase(index: number, steps: string[], specPath: string, outDir: string, kernel: KernelInfo, hostLacks: ReadonlySet<string>,
  loaders: Array<{ result: CaseResult; path: string }>): Promise<CaseResult> {
  const result: CaseResult = { index, steps, specPath, outcome: "crash" };
  const done = (outcome: Outcome, detail?: string) => Object.assign(result, { outcome, detail: detail?.slice(0, 400) });
  let built;
  try {
    [built] = await buildSpecs([specPath], { outDir, kernel, runtimeImport: "probegen/runtime" });
  } catch (e) {
    return done("crash", `${(e as Error).name}: ${(e as Error).message} ${(e as Error).stack?.split("\n")[1]?.trim() ?? ""}`);
  }
  const diagnostics = built!.diagnostics;
  if (diagnostics.length) {
    const first = (code: (c: string) => boolean) => diagnostics.find((d) => code(d.code));
    const clang = first((c) => c === "clang" || c === "internal");
    if (clang) return done("clang failure", `${clang.code}: ${clang.message}`);
    const unlocated = diagnostics.find((d) => !d.span || !d.span.file || !d.span.line || !d.span.column);
    if (unlocated) return done("diagnostic without a location", `${unlocated.code}: ${unlocated.message}`);
    return done("rejected with a located diagnostic", `${diagnostics[0]!.code}: ${diagnostics[0]!.message}`);
  }
  const loaderPath = built!.files.find((f) => f.path.endsWith(".ts"))!.path;
  loaders.push({ result, path: resolve(loaderPath) });
  let loader: Record<string, unknown>;
  try {
    loader = await import(pathToFileURL(resolve(loaderPath)).href) as Record<string, unknown>;
  } catch (e) {
    return done("loader does not import", `${(e as Error).name}: ${(e as Error).message}`);
  }
  const lacking = kindsOf(built!.probe!).filter((k) => hostLacks.has(k));
  if (lacking.length) return done("built; host lacks the program type", lacking.join(", "));
  const load = Object.entries(loader).find(([k, v]) => k.startsWith("load") && typeof v === "function")?.[1] as
    ((o?: object) => Promise<{ close(): void }>) | undefined;
  if (!load) return done("loader does not import", "no load function exported");
  try {
    const probe = await load({});
    probe.close();
    return done("built and loaded");
  } catch (e) {
    if (e instanceof BpfError) {
      if (e.verifierLog || e.verifierMessage) return done("verifier rejection", `${e.verifierMessage ?? ""} ${e.sourceLine ?? ""}`.trim());
      if (e.map && /\d/.test(e.detail)) return done("built; refused at load naming the map", e.message);
    }
    return done("load failure", `${(e as Error).name}: ${(e as Error).message}`);
  }
}

function kindsOf(probe: IrProbe): string[] {
  return [...new Set(probe.programs.map((p) => p.attach.kind))];
}

/** One strict type-check of every loader that built: file and first error of each that fails. */
async function typeCheck(files: string[]): Promise<Array<{ file: string; message: string }>> {
  if (!files.length) return [];
  const { default: ts } = await import("typescript");
  const program = ts.createProgram(files, {
    strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022, lib: ["lib.es2022.d.ts", "lib.esnext.disposable.d.ts"],
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: ["node"],
    paths: { "probegen/runtime": [resolve("src/runtime/index.ts")] },
  });
  const bad = new Map<string, string>();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file?.fileName;
    if (!file || !files.includes(resolve(file)) || bad.has(resolve(file))) continue;
    const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
    bad.set(resolve(file), `line ${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
  }
  return [...bad].map(([file, message]) => ({ file, message }));
}

/** The outcome table, bugs marked, with one example of each bug. */
export function formatTable(results: CaseResult[]): string {
  const counts = new Map<Outcome, CaseResult[]>();
  for (const r of results) counts.set(r.outcome, [...(counts.get(r.outcome) ?? []), r]);
  const rows = [...counts].sort((a, b) => b[1].length - a[1].length);
  const lines = ["| outcome | count |", "|---|---|", ...rows.map(([o, rs]) => `| ${acceptable.has(o) ? o : `**${o}** (bug)`} | ${rs.length} |`)];
  const bugs = rows.filter(([o]) => !acceptable.has(o));
  if (bugs.length) lines.push("", "Examples (reproduce one with `npm run fuzz -- --seed SEED --case N`):");
  for (const [o, rs] of bugs) {
    const r = rs[0]!;
    lines.push(`- ${o}: case ${r.index} (${rs.length} like it): ${r.steps.join("; ")}\n    ${r.detail ?? ""}`);
  }
  return lines.join("\n");
}
