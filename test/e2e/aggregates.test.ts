/**
 * Maps filled by the kernel from declarative updates (count, sum, min, max, hist, lhist),
 * entry/exit pairing with latency and errno, runtime parameters and drop counting, checked
 * against what the test itself did.
 */
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/aggregates.test.ts");
const out = "test/.out/aggregates";
const path = `/tmp/probegen-agg-${process.pid}`;
const missing = `/tmp/probegen-agg-missing-${process.pid}`;

const spec = `name: aggregates
params:
  target_pid: { type: u32, description: "only this process" }
  min_ret: { type: i64, default: -4096 }
maps:
  opens_by_uid: { type: hash, key: u32, value: u64 }
  opens_per_cpu: { type: percpu_array, value: u64, max_entries: 1 }
  flags_seen: { type: hash, key: "string[16]", value: { first: u64, biggest: u64 } }
  biggest_mode: { type: hash, key: u32, value: u64 }
  smallest_mode: { type: hash, key: u32, value: u64 }
  mode_sum: { type: array, value: u64, max_entries: 1 }
  latency: { type: hash, key: { pid: u32, comm: "string[16]" }, value: hist }
  errnos: { type: array, value: { lhist: { min: 0, max: 40, step: 1 } }, max_entries: 1 }
  events: { type: ringbuf, size: 4KiB }
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
    name: count_opens
    filter: pid == params.target_pid && filename == "${path}"
    update:
      - { map: opens_by_uid, key: uid, count: true }
      - { map: opens_per_cpu, count: true }
      - { map: biggest_mode, key: uid, max: mode }
      - { map: smallest_mode, key: uid, min: mode }
      - { map: mode_sum, sum: mode }
      - { map: flags_seen, key: comm, set: { first: flags, biggest: mode } }
  - attach: tracepoint/syscalls/sys_enter_openat
    name: timed_open
    exit: true
    filter: pid == params.target_pid && (filename == "${path}" || filename == "${missing}") && ret >= params.min_ret
    event: open
    fields: [pid, filename, ret, errno, latency]
    update:
      - { map: latency, key: { pid: pid, comm: comm }, hist: latency }
      - { map: errnos, hist: errno }
`;

// Generated in beforeAll, so typed here only as far as the test needs.
interface AggregatesProbe extends Disposable {
  events: { on(fn: (ev: { pid: number; filename: string; ret: bigint; errno: number; latency: bigint }) => void): void };
  maps: Record<string, { get(k: unknown): any; entries(): Iterable<[any, any]> }>;
  stats(): { dropped: number };
}
let load: (options?: { params?: { targetPid?: number; minRet?: number }; maps?: object }) => Promise<AggregatesProbe>;

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/aggregates.yaml`, spec);
  writeFileSync(path, "x");
  const [result] = await buildSpecs([`${out}/aggregates.yaml`], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  load = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/aggregates.ts`)).loadAggregates;
  return () => rmSync(path, { force: true });
});

const opens = (file: string, n: number, flags = "r", mode?: number) => {
  for (let i = 0; i < n; i++) {
    try {
      closeSync(openSync(file, flags, mode));
    } catch {
      // the missing file fails to open, as intended
    }
  }
};
const settle = () => new Promise((r) => setTimeout(r, 50));

describe.skipIf(!support.ok)("maps, aggregations, pairs and params on the running kernel", () => {
  it("count, per-CPU count, min, max, sum and set match the opens the test made", async () => {
    using probe = await load({ params: { targetPid: process.pid } });
    opens(path, 7, "r");
    opens(path, 3, "a", 0o640); // O_CREAT: mode is passed
    const uid = process.getuid!();
    expect(probe.maps.opensByUid!.get(uid)).toBe(10n);
    const perCpu = probe.maps.opensPerCpu!.get(0);
    expect(perCpu.total).toBe(10n);
    expect(perCpu.perCpu.reduce((a: bigint, b: bigint) => a + b, 0n)).toBe(10n);
    expect(probe.maps.biggestMode!.get(uid)).toBe(0o640n);
    expect(probe.maps.smallestMode!.get(uid)).toBe(0n);
    expect(probe.maps.modeSum!.get(0)).toBe(3n * 0o640n);
    const [[comm, seen]] = [...probe.maps.flagsSeen!.entries()];
    expect(comm).toBe(readComm());
    expect(seen.biggest).toBe(0o640n); // the last open set it
  });

  it("a parameter for another process filters every event out", async () => {
    using probe = await load({ params: { targetPid: 1 } });
    opens(path, 5);
    await settle();
    expect(probe.maps.opensByUid!.get(process.getuid!())).toBeUndefined();
  });

  it("entry/exit pairs report the return value, errno and latency, and fill histograms exactly", async () => {
    using probe = await load({ params: { targetPid: process.pid } });
    const events: Array<{ filename: string; ret: bigint; errno: number; latency: bigint }> = [];
    probe.events.on((ev) => events.push(ev));
    opens(path, 4);
    opens(missing, 2);
    for (let i = 0; i < 100 && events.length < 6; i++) await settle();
    expect(events.map((e) => [e.filename, e.ret >= 0n, e.errno])).toEqual([
      [path, true, 0], [path, true, 0], [path, true, 0], [path, true, 0], [missing, false, 2], [missing, false, 2],
    ]);
    expect(events.filter((e) => e.filename === missing).every((e) => e.ret === -2n)).toBe(true);
    expect(events.every((e) => e.latency > 0n && e.latency < 10_000_000_000n)).toBe(true);

    const [[key, hist]] = [...probe.maps.latency!.entries()];
    expect(key).toEqual({ pid: process.pid, comm: readComm() });
    expect(hist.total).toBe(6);
    expect(hist.percentile(100)).toBeGreaterThan(0);
    expect(hist.render()).toMatch(/^\[\d+[KMG]?, \d+[KMG]?\)\s+\d+ \|@+/m);

    const errnos = probe.maps.errnos!.get(0);
    expect(errnos.total).toBe(6);
    expect(errnos.buckets().filter((b: { count: number }) => b.count > 0)).toEqual([
      { low: 0, high: 1, count: 4 },
      { low: 2, high: 3, count: 2 },
    ]);
  });

  it("a parameter can keep failed calls out (ret >= min_ret)", async () => {
    using probe = await load({ params: { targetPid: process.pid, minRet: 0 } });
    opens(missing, 3);
    opens(path, 1);
    await settle();
    expect(probe.maps.errnos!.get(0).total).toBe(1);
  });

  it("a full ring buffer counts its drops: delivered + dropped = produced", async () => {
    using probe = await load({ params: { targetPid: process.pid } });
    let delivered = 0;
    probe.events.on(() => delivered++);
    opens(path, 200); // synchronously, so the reader cannot drain in between
    for (let i = 0; i < 20; i++) await settle();
    const { dropped } = probe.stats();
    expect(dropped).toBeGreaterThan(0);
    expect(delivered + dropped).toBe(200);
  });

  it("map sizes can be changed at load, and wrong parameters are refused with their names", async () => {
    using probe = await load({ params: { targetPid: process.pid }, maps: { events: { size: 64 * 1024 } } });
    let delivered = 0;
    probe.events.on(() => delivered++);
    opens(path, 150);
    for (let i = 0; i < 20 && delivered < 150; i++) await settle();
    expect(probe.stats().dropped).toBe(0);
    expect(delivered).toBe(150);
    await expect(load({ params: { targetPid: -1 } })).rejects.toThrow("aggregates: parameter 'targetPid' must be a u32 (an integer in 0..4294967295), got -1");
    await expect(load({ params: { targetPd: 1 } as never })).rejects.toThrow("aggregates: unknown parameter 'targetPd'; it has: targetPid, minRet");
  });
});

function readComm(): string {
  // The opens run on the main thread, whose comm is the process's.
  return require("node:fs").readFileSync("/proc/thread-self/comm", "utf8").trim();
}
