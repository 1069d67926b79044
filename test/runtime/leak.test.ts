// close() must give everything back: file descriptors in this process and the
// programs in the kernel (checked with bpftool, which sees all programs).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

import { loadObject } from "../../src/runtime/index.js";
import { bpfSupport, compileFixture, decodeEvent, getppidDefinition, skipNote, triggerGetppid, waitFor } from "./helpers.js";

const support = await bpfSupport();
skipNote(support, "leak.test.ts");

const openFds = () => readdirSync("/proc/self/fd").length;
// Ring buffer pages (and libbpf's global-data maps) show up as anon_inode:bpf-map mappings.
const bpfMappings = () => readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.includes("bpf-map")).length;

function kernelProgIds(): Set<number> {
  const out = execFileSync("bpftool", ["--json", "prog", "list"], { encoding: "utf8" });
  return new Set((JSON.parse(out) as Array<{ id: number }>).map((p) => p.id));
}

let hasBpftool = true;
try {
  execFileSync("bpftool", ["version"], { stdio: "ignore" });
} catch {
  hasBpftool = false;
  console.warn("[leak.test.ts] bpftool not found: kernel-side program checks are skipped");
}

describe.skipIf(!support.ok)("close() leaks nothing", () => {
  it("returns every fd and unloads the programs, with a ring reader running", async () => {
    const def = getppidDefinition();
    await loadObject(def).then((o) => o.close()); // warm up lazy allocations (addon, libbpf, clang cache)
    const fdsBefore = openFds();
    const mappingsBefore = bpfMappings();
    const progsBefore = hasBpftool ? kernelProgIds() : new Set<number>();

    const obj = await loadObject(def);
    const ids = obj.programInfo().map((p) => p.id);
    let events = 0;
    obj.ringBuffer("events", decodeEvent).on(() => events++);
    triggerGetppid(3);
    await waitFor(() => events === 3, 2000, "3 events");
    expect(openFds()).toBeGreaterThan(fdsBefore);
    expect(bpfMappings()).toBeGreaterThanOrEqual(mappingsBefore + 2); // consumer page + producer/data
    if (hasBpftool) for (const id of ids) expect(kernelProgIds().has(id)).toBe(true);

    obj.close();
    obj.close();
    expect(openFds()).toBe(fdsBefore);
    expect(bpfMappings()).toBe(mappingsBefore);
    if (hasBpftool) {
      // Programs are freed after an RCU grace period, so give the kernel a moment.
      await waitFor(() => ids.every((id) => !kernelProgIds().has(id)), 5000, "programs to be unloaded");
      const extra = [...kernelProgIds()].filter((id) => !progsBefore.has(id));
      expect(extra).toEqual([]);
    }
  });

  it("stays flat over repeated load/close cycles and failed loads", async () => {
    const def = getppidDefinition();
    const rejected = {
      name: "rejected",
      source: "rejected.bpf.c",
      object: compileFixture("rejected"),
      programs: [{ name: "count_without_check", attach: { kind: "tracepoint" as const, category: "syscalls", name: "sys_enter_getppid" } }],
      maps: [],
    };
    const fdsBefore = openFds();
    for (let i = 0; i < 10; i++) {
      using obj = await loadObject(def);
      obj.ringBuffer("events", decodeEvent).on(() => {});
      await expect(loadObject(rejected)).rejects.toThrow(/verifier/);
    }
    expect(openFds()).toBe(fdsBefore);
  });
});
