/**
 * Attach patterns on the running kernel: one spec entry becomes a program per match, and
 * `probe` tells which one fired (as the attach point's name in TS).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/globs.test.ts");
const out = "test/.out/e2e-globs";

interface Counts extends Disposable {
  maps: { calls: { entries(): Iterable<[string, bigint]> } };
}
interface ExecExit extends Disposable {
  events: { on(fn: (ev: { probe: string; pid: number; comm: string }) => void): void };
  object: { programInfo(): Array<{ id: number }> };
  close(): void;
}
let loadSyscount: (options: { params: { target: number } }) => Promise<Counts>;
let loadExecExit: (options: { params: { parent: number } }) => Promise<ExecExit>;

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  const results = await buildSpecs(["test/fixtures/e2e/syscount-glob.yaml", "test/fixtures/e2e/exec-exit.yaml"], { outDir: out });
  for (const r of results) expect(r.diagnostics).toEqual([]);
  loadSyscount = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/syscount_glob.ts`)).loadSyscountGlob;
  loadExecExit = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/exec_exit.ts`)).loadExecExit;
}, 120_000);

/**
 * A node child that waits for a line on stdin, then calls getppid 50 times and umask 30 times
 * (process.ppid and process.umask() are one system call each; node itself makes neither).
 */
const workload = "process.stdin.once('data', () => { for (let i = 0; i < 50; i++) process.ppid; for (let i = 0; i < 30; i++) process.umask(0o22); process.exit(0); });";

describe.skipIf(!support.ok)("attach patterns on the running kernel", () => {
  it("tracepoint/syscalls/sys_enter_*: a child's getppid and umask calls, counted by name", async () => {
    const child = spawn(process.execPath, ["-e", workload], { stdio: ["pipe", "ignore", "inherit"] });
    const started = performance.now();
    const probe = await loadSyscount({ params: { target: child.pid! } });
    const loadMs = performance.now() - started;
    try {
      child.stdin.end("go\n");
      await new Promise((resolve) => child.on("exit", resolve));
      const counts = new Map(probe.maps.calls.entries());
      expect(counts.get("tracepoint/syscalls/sys_enter_getppid")).toBe(50n);
      expect(counts.get("tracepoint/syscalls/sys_enter_umask")).toBe(30n);
      // The child read its line and exited: those programs saw it too.
      expect(counts.get("tracepoint/syscalls/sys_enter_exit_group")).toBe(1n);
      expect([...counts.keys()].every((k) => k.startsWith("tracepoint/syscalls/sys_enter_"))).toBe(true);
    } finally {
      const closing = performance.now();
      probe[Symbol.dispose]();
      console.log(`sys_enter_*: load + attach ${loadMs.toFixed(0)} ms, detach ${(performance.now() - closing).toFixed(0)} ms`);
    }
  }, 120_000);

  it("tracepoint/sched/sched_process_{exec,exit}: a child's exec and exit, told apart by probe", async () => {
    using probe = await loadExecExit({ params: { parent: process.pid } });
    const seen: Array<{ probe: string; pid: number; comm: string }> = [];
    probe.events.on((ev) => seen.push(ev));
    const child = spawn("/bin/true", [], { stdio: "ignore" });
    await new Promise((resolve) => child.on("exit", resolve));
    const deadline = Date.now() + 1000;
    while (seen.filter((e) => e.pid === child.pid).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(seen.filter((e) => e.pid === child.pid)).toEqual([
      { probe: "tracepoint/sched/sched_process_exec", pid: child.pid, comm: "true" },
      { probe: "tracepoint/sched/sched_process_exit", pid: child.pid, comm: "true" },
    ]);
  });

  it("close() detaches every program's link (several links are destroyed from several threads)", async (ctx) => {
    const links = (): Array<{ prog_id: number }> => JSON.parse(execFileSync("bpftool", ["link", "show", "--json"], { encoding: "utf8" }));
    try {
      links();
    } catch (err) {
      console.info(`[globs.test.ts] skipped: bpftool link show failed (${(err as Error).message.split("\n")[0]})`);
      return ctx.skip();
    }
    const probe = await loadExecExit({ params: { parent: process.pid } });
    const ids = probe.object.programInfo().map((p) => p.id);
    expect(ids).toHaveLength(2);
    expect(links().filter((l) => ids.includes(l.prog_id))).toHaveLength(2);
    probe.close();
    expect(links().filter((l) => ids.includes(l.prog_id))).toEqual([]);
  });
});
