/**
 * A reader sleeps when its ring goes quiet and the next record wakes it: each ring buffer of a
 * spec has its own wake flag, so a reader that is awake (draining on its timer) does not keep
 * another ring's sleeping reader from being woken. The 60 s drain interval makes the timer
 * irrelevant: an event that arrives at once was announced by its program (a second one, sent
 * while the woken reader is awake, would wait for the timer: that is the design).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { bpfSupport, skipNote, triggerGetppid, waitFor } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/ring-wake.test.ts");
const out = "test/.out/ring-wake";

const spec = `name: ring_wake
params:
  target_pid: { type: u32 }
maps:
  events: { type: ringbuf, size: 16KiB }
  umasks: { type: ringbuf, size: 16KiB }
programs:
  - attach: tracepoint/syscalls/sys_enter_getppid
    filter: pid == params.target_pid
    event: getppid
    fields: [pid]
  - attach: tracepoint/syscalls/sys_enter_umask
    filter: pid == params.target_pid
    event: umask
    output: umasks
    fields: [pid, mask]
`;

interface Stream<E> { on(fn: (ev: E) => void): void }
interface RingWake {
  events: Stream<{ pid: number }>;
  streams: { umasks: Stream<{ pid: number; mask: number }> };
  close(): void;
}
let load: (options: { params: { targetPid: number }; drainIntervalMs: number }) => Promise<RingWake>;

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  writeFileSync(`${out}/ring_wake.yaml`, spec);
  const [result] = await buildSpecs([`${out}/ring_wake.yaml`], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  load = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/ring_wake.ts`)).loadRingWake;
});

describe.skipIf(!support.ok)("ring buffer readers that sleep", () => {
  it("wakes a sleeping reader while another ring's reader is awake", async () => {
    const probe = await load({ params: { targetPid: process.pid }, drainIntervalMs: 60_000 });
    try {
      const calls: number[] = [];
      const masks: number[] = [];
      probe.events.on((e) => calls.push(e.pid));
      probe.streams.umasks.on((e) => masks.push(e.mask));
      await new Promise((r) => setTimeout(r, 50)); // both readers drain nothing, then sleep

      triggerGetppid(1); // wakes the first reader, which stays awake on its 60 s timer
      await waitFor(() => calls.length === 1, 5000, "the getppid event, announced by its program");
      // The second ring's reader still sleeps: its program must wake it.
      const old = process.umask(0o027);
      try {
        await waitFor(() => masks.length === 1, 5000, "the umask event, announced by its program");
      } finally {
        process.umask(old);
      }
      expect(masks).toEqual([0o027]);
      expect(calls).toEqual([process.pid]);
    } finally {
      probe.close();
    }
  });
});
