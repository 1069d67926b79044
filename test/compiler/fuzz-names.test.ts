/**
 * Names (issue 13): two spec names that become one TS or C identifier are refused at the second,
 * naming the first; names probegen makes itself (struct tags, stash maps, a ring's event union,
 * the runtime's imports) cannot collide with the spec's, so those specs build, type-check and load.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { runningKernel } from "../../src/kernel/running.js";
import type { SpecResult } from "../../src/compiler/build.js";
import { fixtureKernel, frontEnd, located } from "../helpers/compile.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const openat = "tracepoint/syscalls/sys_enter_openat";
const spec = (programs: string, rest = "") => `name: t\n${rest}programs:\n${programs}`;
const program = (extra: string, attach = openat) => `  - attach: ${attach}\n${extra}`;

describe("two spec names that are one TS name are refused at the second, naming both", () => {
  it.each([
    ["a_1", "a1"],
    ["by_user", "by__user"],
    ["x_x_1", "x_x1"],
  ])("fields %s and %s", (one, two) => {
    const { diagnostics } = frontEnd(spec(program(`    fields: [{ name: ${one}, from: pid }, { name: ${two}, from: uid }]\n`)));
    expect(located(diagnostics)).toEqual([`probes/test.yaml:4:${45 + one.length}: field '${two}' and field '${one}' both become '${two.replace(/_+(.)/g, (_, c: string) => c.toUpperCase())}' in TypeScript`]);
    expect(diagnostics[0]!.hint).toBe("rename one of them (the other is at line 4)");
  });

  it("maps by_user and by__user: one error, though their codecs and properties all meet", () => {
    const { diagnostics } = frontEnd(spec(program("    update: [{ map: by_user, key: pid, count: true }, { map: by__user, key: pid, count: true }]\n"),
      "maps:\n  by_user: { type: hash, key: u32, value: u64 }\n  by__user: { type: hash, key: u32, value: u64 }\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:3: map 'by__user' and map 'by_user' both become 'byUser' in TypeScript"]);
  });

  it("params by_user and by__user", () => {
    const { diagnostics } = frontEnd(spec(program("    filter: pid != params.by_user && uid != params.by__user\n    fields: [pid]\n"),
      "params:\n  by_user: { type: u32 }\n  by__user: { type: u32 }\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:4:3: parameter 'by__user' and parameter 'by_user' both become 'byUser' in TypeScript"]);
  });

  it("events a_1 and a1 on one ring", () => {
    const { diagnostics } = frontEnd(spec(program("    event: a_1\n    fields: [pid]\n") + program("    name: second\n    event: a1\n    fields: [uid]\n")));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:6:5: event 'a1' and event 'a_1' both become 'A1Event' in TypeScript"]);
  });

  it("members a_1 and a1 of a map's key", () => {
    const { diagnostics } = frontEnd(spec(program("    update: [{ map: m, key: { a_1: pid, a1: uid }, count: true }]\n"),
      "maps:\n  m: { type: hash, key: { a_1: u32, a1: u32 }, value: u64 }\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:3:37: member 'a1' and member 'a_1' both become 'a1' in TypeScript"]);
  });

  it("a program named like a map", () => {
    const { diagnostics } = frontEnd(spec(program("    name: m\n    update: [{ map: m, key: pid, count: true }]\n"), "maps:\n  m: { type: hash, key: u32, value: u64 }\n"));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:5:5: program 'm' and map 'm' both become 'm' in C"]);
  });
});

it("`output: events` names the default ring, as docs/spec.md shows, when the spec declares no map of that name", () => {
  const { probe, diagnostics } = frontEnd(spec(program("    output: events\n    fields: [pid]\n")));
  expect(diagnostics).toEqual([]);
  expect(probe!.maps.map((m) => [m.name, m.kind, m.events.length])).toEqual([["events", "ringbuf", 1]]);
});

describe("names the loader gives a meaning of its own", () => {
  it("a field 'type' in a ring of two events is refused: 'type' tells them apart", () => {
    const { diagnostics } = frontEnd(spec(program("    event: one\n    fields: [pid, { name: type, from: uid }]\n") + program("    name: second\n    event: two\n    fields: [pid]\n")));
    expect(located(diagnostics)).toEqual(["probes/test.yaml:5:27: field 'type' becomes 'type' in TypeScript, which is the tag that tells apart the events of ring 'events'"]);
    expect(diagnostics[0]!.hint).toBe("rename the field");
  });

  it("a field 'type' in a ring of one event is an ordinary field", () => {
    expect(frontEnd(spec(program("    fields: [pid, { name: type, from: uid }]\n"))).diagnostics).toEqual([]);
  });

  it.each([
    ["a param", (n: string) => spec(program(`    filter: pid != params.${n}\n    fields: [pid]\n`), `params:\n  ${n}: { type: u32 }\n`)],
    ["a field", (n: string) => spec(program(`    fields: [{ name: ${n}, from: pid }]\n`))],
    ["a map", (n: string) => spec(program(`    update: [{ map: ${n}, key: pid, count: true }]\n`), `maps:\n  ${n}: { type: hash, key: u32, value: u64 }\n`)],
    ["a key member", (n: string) => spec(program(`    update: [{ map: m, key: { ${n}: pid }, count: true }]\n`), `maps:\n  m: { type: hash, key: { ${n}: u32 }, value: u64 }\n`)],
  ])("%s named 'constructor' or 'to_string' is refused: every JS object has one", (_, text) => {
    for (const [name, ts] of [["constructor", "constructor"], ["to_string", "toString"], ["value_of", "valueOf"]]) {
      const { diagnostics } = frontEnd(text(name!));
      expect(diagnostics.map((d) => [d.code, d.message])).toEqual([["name-collision", expect.stringContaining(`'${name}' becomes '${ts}' in TypeScript, which is a property every JavaScript object inherits`)]]);
    }
  });
});

/** A strict tsc over the loaders, as the user compiles them: the first error of each, or nothing. */
async function typeCheck(files: string[]): Promise<string[]> {
  const { default: ts } = await import("typescript");
  const program = ts.createProgram(files, {
    strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2022, lib: ["lib.es2022.d.ts", "lib.esnext.disposable.d.ts"],
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: ["node"],
    paths: { "@probegen/runtime": [resolve("src/runtime/index.ts")] },
  });
  return files.flatMap((f) => {
    const source = program.getSourceFile(f)!;
    return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
      .map((d) => `${f}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
  });
}

const out = "test/.out/fuzz-names";

/** Builds specs with clang into `out`, the loader importing the runtime as a package would. */
async function build(specs: Record<string, string>, kernel = fixtureKernel): Promise<SpecResult[]> {
  mkdirSync(out, { recursive: true });
  for (const [name, text] of Object.entries(specs)) writeFileSync(`${out}/${name}.yaml`, text);
  return buildSpecs(Object.keys(specs).map((n) => `${out}/${n}.yaml`), { outDir: out, kernel, runtimeImport: "@probegen/runtime" });
}

const loaderOf = (r: SpecResult) => Buffer.from(r.files.find((f) => f.path.endsWith(".ts"))!.contents).toString();

// Each spec is the smallest trigger of a clang failure, a loader that did not import, or one tsc refused.
const collisionFree: Record<string, string> = {
  // struct pg_event_a_key (the event) and the struct key of map event_a.
  event_key: spec(program("    event: a_key\n    fields: [pid]\n    update: [{ map: event_a, key: { a: pid, b: uid }, count: true }]\n"),
    "maps:\n  event_a: { type: hash, key: { a: u32, b: u32 }, value: u64 }\n"),
  // struct pg_stash_x_key (the pair's stash) and the struct key of map stash_x.
  stash_key: spec(program("    name: x_key\n    exit: true\n    fields: [pid, ret, latency]\n    update: [{ map: stash_x, key: { a: pid, b: uid }, count: true }]\n"),
    "maps:\n  stash_x: { type: hash, key: { a: u32, b: u32 }, value: u64 }\n"),
  // Stash maps were cut at 40 characters: these two pairs shared theirs.
  long_pairs: spec(program(`    name: ${"a".repeat(31)}_one\n    event: e_one\n    exit: true\n    fields: [pid, ret]\n`)
    + program(`    name: ${"a".repeat(31)}_two\n    event: e_two\n    exit: true\n    fields: [pid, ret]\n`)),
  // The default exit name of pair 'a' is the name a later program asks for.
  exit_name: spec(program("    name: a\n    exit: true\n    fields: [pid, ret]\n") + program("    name: a_exit\n    event: other\n    fields: [uid]\n")),
  // An event named like the probe: interface OpensEvent and the ring's union OpensEvent.
  opens: `name: opens\nprograms:\n${program("    event: opens\n    fields: [pid, comm]\n")}`,
  // The same in a ring of two events, and in a named ring (union OpensRingEvent, event opens_ring).
  opens_two: `name: opens_two\nmaps:\n  ring: { type: ringbuf }\nprograms:\n${program("    event: opens_two\n    fields: [pid]\n")}${program("    name: other\n    fields: [uid]\n")}`
    + program("    name: third\n    event: opens_two_ring\n    output: ring\n    fields: [pid]\n"),
  // A probe whose loader is called like the runtime's loadObject.
  object: `name: object\nprograms:\n${program("    fields: [pid]\n")}`,
};

describe("names probegen makes cannot collide with the spec's", () => {
  it("each spec builds with clang, and its loader passes tsc --strict", async () => {
    const results = await build(collisionFree);
    expect(results.map((r) => [r.spec, r.diagnostics.map((d) => `${d.code}: ${d.message}`)])).toEqual(Object.keys(collisionFree).map((n) => [`${out}/${n}.yaml`, []]));
    expect(await typeCheck(results.map((r) => resolve(r.files.find((f) => f.path.endsWith(".ts"))!.path)))).toEqual([]);
  }, 120_000);

  it("an event named like the probe keeps its interface; the ring's union takes the plural", async () => {
    const [opens, two] = await build({ opens: collisionFree.opens!, opens_two: collisionFree.opens_two! });
    expect(loaderOf(opens!)).toContain("export interface OpensEvent {");
    expect(loaderOf(opens!)).toContain("export type OpensEvents = OpensEvent;");
    expect(loaderOf(opens!)).toContain("export function decodeOpensEvents(view: DataView, offset: number): OpensEvents");
    expect(loaderOf(two!)).toContain("export type OpensTwoEvents = OpensTwoEvent | OtherEvent;");
    expect(loaderOf(two!)).toContain("export type OpensTwoRingEvents = OpensTwoRingEvent;");
  }, 60_000);

  it("a probe named 'object' imports the runtime's loadObject under another name", async () => {
    const [object] = await build({ object: collisionFree.object! });
    expect(loaderOf(object!)).toMatch(/import \{ loadObject as runtimeLoadObject, .*\} from "@probegen\/runtime";/);
    expect(loaderOf(object!)).toContain("export async function loadObject(");
  }, 60_000);
});

const support = await bpfSupport();
skipNote(support, "compiler/fuzz-names.test.ts");

describe.skipIf(!support.ok)("the same specs on the running kernel", () => {
  it("load, with every stash map the kernel's own, and the two-event ring decodes each event by its tag", async () => {
    const specs = { event_key: collisionFree.event_key!, stash_key: collisionFree.stash_key!, long_pairs: collisionFree.long_pairs!, opens_two: collisionFree.opens_two! };
    const results = await build(specs, runningKernel());
    expect(results.flatMap((r) => r.diagnostics)).toEqual([]);
    for (const r of results) {
      const loader = await import(/* @vite-ignore */ resolve(r.files.find((f) => f.path.endsWith(".ts"))!.path)) as Record<string, unknown>;
      const load = Object.entries(loader).find(([k]) => k.startsWith("load"))![1] as () => Promise<{ object: { map(name: string): { fd: number } }; close(): void }>;
      const probe = await load();
      try {
        if (r.spec.endsWith("long_pairs.yaml")) {
          const fds = ["one", "two"].map((p) => probe.object.map(`pg_stash_${"a".repeat(31)}_${p}`).fd);
          expect(fds[0]).not.toBe(fds[1]);
        }
      } finally {
        probe.close();
      }
      if (r.spec.endsWith("opens_two.yaml")) {
        const decode = loader.decodeOpensTwoEvents as (v: DataView, o: number) => Record<string, unknown>;
        const view = new DataView(new ArrayBuffer(16));
        view.setUint32(0, 2, true);
        view.setUint32(4, 77, true);
        expect(decode(view, 0)).toEqual({ type: "other", uid: 77 });
      }
    }
  }, 120_000);
});
