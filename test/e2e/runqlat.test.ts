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
    latency: { get(): { total: number; buckets(): Array<{ count: number }> }; clear(): void };
    woken: { get(): bigint; clear(): void };
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
  // so that the count is known: the wake-ups are kept only for threads named pgwake, and
  // counted as they happen in a second, keyless map.
  const doc = parseDocument(readFileSync("probes/runqlat.yaml", "utf8"));
  doc.setIn(["maps", "woken"], doc.createNode({ value: "u64" }));
  for (const [i, filter] of [[0, 'args.pid != 0 && args.comm == "pgwake"'], [1, 'args.comm == "pgwake"']] as const) {
    doc.setIn(["programs", i, "filter"], filter);
    doc.addIn(["programs", i, "update"], doc.createNode({ map: "woken", count: true }));
  }
  writeFileSync(`${out}/runqlat.yaml`, doc.toString());
  const [result] = await buildSpecs([`${out}/runqlat.yaml`], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  loadRestricted = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/runqlat.ts`)).loadRunqlat;
});

describe.skipIf(!support.ok)("runqlat on the running kernel", () => {
  it("measures each of the workload's wake-ups once in the keyless histogram, and deletes each entry it read", async () => {
    using probe = await loadRestricted();
    const expected = THREADS * ITERATIONS;
    // On a busy machine a run can miss a few: the kernel skips a tracepoint's BPF program that
    // fires while another BPF program runs on the same CPU, and a thread preempted before it
    // slept can be woken while it still runs (no switch to measure; the next wake-up overwrites
    // its entry, as in libbpf-tools' runqlat). A quiet run is exact; try up to 3.
    let seen = { woken: 0, measured: 0, left: 0 };
    for (let attempt = 0; attempt < 3; attempt++) {
      probe.maps.woken.clear();
      probe.maps.latency.clear();
      await wakeups();
      const histogram = probe.maps.latency.get();
      expect(histogram.buckets().reduce((n, b) => n + b.count, 0)).toBe(histogram.total);
      seen = { woken: Number(probe.maps.woken.get()), measured: histogram.total, left: [...probe.maps.start.keys()].length };
      if (seen.woken === expected && seen.measured === expected) break;
      console.warn(`[e2e/runqlat.test.ts] saw ${seen.woken} and measured ${seen.measured} of ${expected} wake-ups (a busy machine); again`);
    }
    if (seen.woken === expected && seen.measured === expected) {
      // Every wake-up was followed by a switch to its thread, which measured it and deleted the entry.
      expect(seen).toEqual({ woken: expected, measured: expected, left: 0 });
    } else {
      // Never more than was caused, and each measurement consumed one entry.
      expect(seen.woken).toBeLessThanOrEqual(expected);
      expect(seen.measured).toBeLessThanOrEqual(seen.woken);
      expect(seen.measured).toBeGreaterThanOrEqual(expected * 0.8);
      expect(seen.left).toBeLessThanOrEqual(seen.woken - seen.measured);
    }
  });

  it("the bundled spec measures every thread of the machine", async () => {
    using probe = await loadRunqlat();
    await wakeups();
    expect(probe.maps.latency.get().total).toBeGreaterThanOrEqual(THREADS * ITERATIONS);
  });
});
