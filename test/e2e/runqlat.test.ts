/**
 * runqlat (bundled): sched_wakeup stores when each thread was woken, sched_switch reads it back
 * with a map lookup (`start[args.next_pid]`), fills a keyless histogram and deletes the entry.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { execa } from "execa";
import { parseDocument } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { loadRunqlat } from "../../generated/runqlat.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/runqlat.test.ts");
const out = "test/.out/e2e/runqlat";
const THREADS = 4;
const ITERATIONS = 50;

type Loaded = Disposable & {
  maps: {
    latency: { get(): { total: number; buckets(): Array<{ count: number }> } };
    start: { keys(): Iterable<number> };
  };
};
let loadRestricted: () => Promise<Loaded>;

/** Runs the workload: THREADS threads named pgwake, each woken ITERATIONS times. */
async function wakeups(): Promise<void> {
  await execa(`${out}/wakeups`, [String(THREADS), String(ITERATIONS)]);
}

beforeAll(async () => {
  if (!support.ok) return;
  mkdirSync(out, { recursive: true });
  await execa("clang", ["-O2", "-pthread", "-o", `${out}/wakeups`, "test/fixtures/e2e/wakeups.c"]);
  // The bundled spec counts every thread of the machine; the test's copy only the workload's,
  // so that the count is known: the wake-ups are kept only for threads named pgwake.
  const doc = parseDocument(readFileSync("probes/runqlat.yaml", "utf8"));
  doc.setIn(["programs", 0, "filter"], 'args.pid != 0 && args.comm == "pgwake"');
  doc.setIn(["programs", 1, "filter"], 'args.comm == "pgwake"');
  writeFileSync(`${out}/runqlat.yaml`, doc.toString());
  const [result] = await buildSpecs([`${out}/runqlat.yaml`], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  loadRestricted = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/runqlat.ts`)).loadRunqlat;
});

describe.skipIf(!support.ok)("runqlat on the running kernel", () => {
  it("counts each wake-up of the workload once in the keyless histogram, and deletes what it read", async () => {
    using probe = await loadRestricted();
    expect(probe.maps.latency.get().total).toBe(0);
    await wakeups();
    const histogram = probe.maps.latency.get();
    expect(histogram.total).toBe(THREADS * ITERATIONS);
    expect(histogram.buckets().reduce((n, b) => n + b.count, 0)).toBe(THREADS * ITERATIONS);
    // Each entry was deleted by the switch that read it.
    expect([...probe.maps.start.keys()]).toEqual([]);
  });

  it("the bundled spec measures every thread of the machine", async () => {
    using probe = await loadRunqlat();
    await wakeups();
    expect(probe.maps.latency.get().total).toBeGreaterThanOrEqual(THREADS * ITERATIONS);
  });
});
