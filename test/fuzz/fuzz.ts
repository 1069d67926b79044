/**
 * The spec fuzzer: makes specs (the bundled and documented specs as written, targeted mutations
 * that plant the trigger of a known bug class, random mutations, and specs walked from the
 * schema), puts each through the whole pipeline the way a user would (build, import the loader,
 * load it into the kernel, type-check it), and sorts the outcomes. The compiler's promise: a spec
 * is rejected with a located diagnostic before clang runs, or it builds, type-checks, loads and
 * attaches, and does what it says (oracles.ts: events fit their ring, decoders keep every field,
 * programs can fire). Anything else is a bug.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { stringify } from "yaml";
import { buildSpecs } from "../../src/compiler/build.js";
import { runningKernel } from "../../src/kernel/running.js";
import type { KernelInfo } from "../../src/compiler/resolve.js";
import type { IrProbe } from "../../src/compiler/ir.js";
import { BpfError } from "../../src/runtime/errors.js";
import { loadCorpus, type Seed } from "./corpus.js";
import { SchemaGenerator } from "./generate.js";
import { mutate, UNQUOTED_EXPRESSION, type Spec } from "./mutate.js";
import { decoderFindings, staticFindings, tsNameClash, type SilentBug } from "./oracles.js";
import { Random } from "./random.js";
import { baseSpec, targetedMutations } from "./targeted.js";

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
  | "loader fails tsc --strict"
  | "bundled or documented spec rejected"
  | "unquoted expression not explained"
  | SilentBug;

export const acceptable: ReadonlySet<Outcome> = new Set<Outcome>([
  "rejected with a located diagnostic", "built and loaded", "built; refused at load naming the map", "built; host lacks the program type",
]);

export interface CaseResult {
  index: number;
  steps: string[];
  /** The targeted mutation that made the case, if one did: the bug class it aims at. */
  target?: string;
  outcome: Outcome;
  detail?: string;
  specPath: string;
  /** How long the case took, build to load (the type check runs once for all). */
  ms?: number;
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

export interface FuzzCase {
  text: string;
  steps: string[];
  target?: string;
  /** A corpus spec as written: the bundled probes and the docs' examples must build. */
  pristine?: boolean;
}

/** Seeds whose programs all attach to tracepoints: they load on any host, so targeted cases reach the kernel. */
function tracepointOnly(seed: Seed): boolean {
  const ps = seed.spec.programs;
  return Array.isArray(ps) && ps.every((p) => String((p as Spec | null)?.attach).startsWith("tracepoint/"));
}

/**
 * The spec of case `index`: the same for the same seed, whatever ran before it. The first cases
 * are the corpus as written; then a mix of targeted, random and schema-walked specs.
 */
export function makeCase(seed: number, index: number, corpus: Seed[], schema: SchemaGenerator): FuzzCase {
  if (index < corpus.length) return { text: stringify(corpus[index]!.spec, { lineWidth: 0 }), steps: [`${corpus[index]!.origin}, as written`], pristine: true };
  const r = new Random(Math.imul(seed, 0x01000193) ^ Math.imul(index + 1, 0x9e3779b1));
  const roll = r.next();
  if (roll < 0.1) return schema.spec(r);
  if (roll < 0.45) {
    const origin = r.pick(corpus);
    const m = mutate(r, origin.spec);
    return { text: m.text, steps: [`from ${origin.origin}`, ...m.steps] };
  }
  const seeds = corpus.filter(tracepointOnly);
  const origin = r.chance(0.6) || !seeds.length ? undefined : r.pick(seeds);
  const spec = origin ? structuredClone(origin.spec) : baseSpec(r);
  const target = r.pick(Object.keys(targetedMutations));
  const steps = [`from ${origin?.origin ?? "a one-program spec"}`, `${target}: ${targetedMutations[target]!(r, spec)}`];
  // Now and then one random mutation on top, so the trigger also meets the unusual.
  const m = r.chance(0.15) ? mutate(r, spec, 1) : { text: stringify(spec, { lineWidth: 0 }), steps: [] };
  return { text: m.text, steps: [...steps, ...m.steps], target };
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
      const start = performance.now();
      const result = await runCase(index, made, specPath, caseDir, kernel, options.hostLacks ?? new Set(), loaders);
      result.ms = Math.round(performance.now() - start);
      results.push(result);
      options.onCase?.(result);
    }
  };
  await Promise.all([worker(), worker()]);
  // Only loaders that passed everything else: a case has one outcome, its first bug.
  const passed = loaders.filter((l) => acceptable.has(l.result.outcome));
  for (const bad of await typeCheck(passed.map((l) => l.path))) {
    Object.assign(passed.find((x) => x.path === bad.file)!.result, { outcome: "loader fails tsc --strict", detail: bad.message });
  }
  results.sort((a, b) => a.index - b.index);
  writeFileSync(`${dir}/results.json`, JSON.stringify(results, null, 1));
  return results;
}

async function runCase(index: number, made: FuzzCase, specPath: string, outDir: string, kernel: KernelInfo, hostLacks: ReadonlySet<string>,
  loaders: Array<{ result: CaseResult; path: string }>): Promise<CaseResult> {
  const result: CaseResult = { index, steps: made.steps, specPath, outcome: "crash", ...(made.target ? { target: made.target } : {}) };
  const done = (outcome: Outcome, detail?: string) => Object.assign(result, { outcome, detail: detail?.slice(0, 400) });
  let built;
  try {
    [built] = await buildSpecs([specPath], { outDir, kernel, runtimeImport: "@probegen/runtime" });
  } catch (e) {
    return done("crash", `${(e as Error).name}: ${(e as Error).message} ${(e as Error).stack?.split("\n")[1]?.trim() ?? ""}`);
  }
  const diagnostics = built!.diagnostics;
  // An expression YAML misreads must be refused first of all, saying to quote it.
  if (made.steps.some((s) => s.startsWith(`yamlText: ${UNQUOTED_EXPRESSION}`)) && diagnostics[0]?.code !== "yaml-unquoted-expression") {
    return done("unquoted expression not explained", diagnostics[0] ? `${diagnostics[0].code}: ${diagnostics[0].message}` : "it built");
  }
  if (diagnostics.length) {
    const first = (code: (c: string) => boolean) => diagnostics.find((d) => code(d.code));
    const clang = first((c) => c === "clang" || c === "internal" || c === "toolchain");
    if (clang) return done("clang failure", `${clang.code}: ${clang.message}`);
    const unlocated = diagnostics.find((d) => !d.span || !d.span.file || !d.span.line || !d.span.column);
    if (unlocated) return done("diagnostic without a location", `${unlocated.code}: ${unlocated.message}`);
    return done(made.pristine ? "bundled or documented spec rejected" : "rejected with a located diagnostic", `${diagnostics[0]!.code}: ${diagnostics[0]!.message}`);
  }
  const object = built!.files.find((f) => f.path.endsWith(".bpf.o"))!.contents;
  const silent = staticFindings(built!.probe!, object);
  if (silent) return done(silent.bug, silent.detail);
  const loaderPath = built!.files.find((f) => f.path.endsWith(".ts"))!.path;
  loaders.push({ result, path: resolve(loaderPath) });
  let loader: Record<string, unknown>;
  try {
    loader = await import(pathToFileURL(resolve(loaderPath)).href) as Record<string, unknown>;
  } catch (e) {
    const clash = tsNameClash(built!.probe!);
    return clash ? done(clash.bug, clash.detail) : done("loader does not import", `${(e as Error).name}: ${(e as Error).message}`);
  }
  const wrong = decoderFindings(built!.probe!, loader, readFileSync(loaderPath, "utf8")) ?? tsNameClash(built!.probe!);
  if (wrong) return done(wrong.bug, wrong.detail);
  const lacking = kindsOf(built!.probe!).filter((k) => hostLacks.has(k));
  if (lacking.length) return done("built; host lacks the program type", lacking.join(", "));
  const load = Object.entries(loader).find(([k, v]) => k.startsWith("load") && typeof v === "function")?.[1] as
    ((o?: object) => Promise<{ close(): void }>) | undefined;
  if (!load) return done("loader does not import", "no load function exported");
  try {
    // Network programs are loaded (the verifier runs) but not attached: a fuzzed drop on a real interface would cut traffic.
    // Nor are hundreds of programs (a sys_enter_* glob): detaching 360 tracepoint links takes the kernel ~8 s.
    const network = kindsOf(built!.probe!).some((k) => NETWORK_KINDS.has(k));
    const many = built!.probe!.programs.length > MAX_ATTACHED_PROGRAMS;
    const probe = await load(network || many ? { attach: false } : {});
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

const NETWORK_KINDS = new Set(["xdp", "tc", "cgroup_skb", "socket"]);
/** Above this many programs a spec is loaded (verified) but not attached. */
const MAX_ATTACHED_PROGRAMS = 32;

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
    paths: { "@probegen/runtime": [resolve("src/runtime/index.ts")] },
  });
  // The loaders' own diagnostics only: the runtime they import is the project's tsc run's business.
  const bad: Array<{ file: string; message: string }> = [];
  for (const file of files) {
    const source = program.getSourceFile(file);
    const d = source && [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)][0];
    if (!source || !d) continue;
    const { line } = source.getLineAndCharacterOfPosition(d.start ?? 0);
    bad.push({ file, message: `line ${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}` });
  }
  return bad;
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
    // One example per way of getting there: each targeted mutation is a bug class of its own.
    const byTarget = new Map<string, CaseResult[]>();
    for (const r of rs) byTarget.set(r.target ?? "untargeted", [...(byTarget.get(r.target ?? "untargeted") ?? []), r]);
    lines.push(`- **${o}** (${rs.length}):`);
    for (const [target, like] of byTarget) {
      const r = like[0]!;
      lines.push(`  - ${target}, case ${r.index} (${like.length} like it): ${r.steps.join("; ")}\n      ${r.detail ?? ""}`);
    }
  }
  return lines.join("\n");
}
