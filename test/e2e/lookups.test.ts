/**
 * Map reads in expressions on the running kernel: a missing key reads 0, `in` tests presence,
 * struct keys and members, every read happens before the program's updates (a delete included),
 * and keyless maps hold one value (`probe.maps.calls.get()`).
 */
import { mkdirSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { bpfSupport, skipNote, triggerGetppid, waitFor } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/lookups.test.ts");
const out = "test/.out/e2e";

interface LookupEvent { seenValue: bigint; wasSeen: boolean; callsBefore: bigint; pairCalls: bigint; pairKnown: boolean }
interface One<V> { get(): V; set(v: V): void; clear(): void }
type Probe = Disposable & {
  events: { on(fn: (ev: LookupEvent) => void): void };
  maps: {
    seen: { set(k: number, v: bigint): void; get(k: number): bigint | undefined };
    byPair: { get(k: { a: number; b: number }): { calls: bigint; last: bigint } | undefined };
    calls: One<bigint>; total: One<bigint>; largest: One<bigint>; last: One<bigint>; smallest: One<bigint | undefined>;
    perCpu: One<{ perCpu: bigint[]; total: bigint }>;
    lat: One<{ total: number }>;
  };
};
let load: (options: { params: { targetPid: number } }) => Promise<Probe>;

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  const [result] = await buildSpecs(["test/fixtures/e2e/lookups.yaml"], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  load = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/lookups.ts`)).loadLookups;
});

describe.skipIf(!support.ok)("map lookups on the running kernel", () => {
  it("reads values, members and presence before the updates; a missing key is 0; keyless maps are one value", async () => {
    using probe = await load({ params: { targetPid: process.pid } });
    const events: LookupEvent[] = [];
    probe.events.on((ev) => events.push(ev));
    const tid = process.pid; // the main thread calls getppid
    probe.maps.seen.set(tid, 41n);
    expect(probe.maps.smallest.get()).toBeUndefined(); // min and max start with no value, not 0

    triggerGetppid();
    await waitFor(() => events.length >= 1, 2000, "the first event");
    // The event read seen[tid] before the update deleted it.
    expect(events[0]).toEqual({ seenValue: 41n, wasSeen: true, callsBefore: 0n, pairCalls: 0n, pairKnown: false });
    expect(probe.maps.seen.get(tid)).toBeUndefined();

    triggerGetppid();
    await waitFor(() => events.length >= 2, 2000, "the second event");
    // Absent now: it reads 0, and 'in' says so.
    expect(events[1]).toEqual({ seenValue: 0n, wasSeen: false, callsBefore: 1n, pairCalls: 1n, pairKnown: true });

    expect(probe.maps.calls.get()).toBe(2n);
    expect(probe.maps.perCpu.get().total).toBe(2n);
    expect(probe.maps.total.get()).toBe(41n + 1n + 0n + 1n);
    expect(probe.maps.largest.get()).toBe(41n);
    expect(probe.maps.smallest.get()).toBe(59n); // min(100 - 41, 100 - 0)
    expect(probe.maps.last.get()).toBe(1n + 100n); // calls[] as the second call found it
    expect(probe.maps.lat.get().total).toBe(2);
    expect(probe.maps.byPair.get({ a: 1, b: 2 })?.calls).toBe(2n);

    probe.maps.calls.set(7n);
    expect(probe.maps.calls.get()).toBe(7n);
    probe.maps.calls.clear();
    expect(probe.maps.calls.get()).toBe(0n);
  });
});
