/**
 * raw_tracepoint: sched_process_exec's raw arguments (struct task_struct *p, pid_t old_pid,
 * struct linux_binprm *bprm), typed from the kernel's BTF prototype: arg1 by position, p and
 * bprm by name and followed with CO-RE. Raw tracepoints need no tracing program type, so this
 * runs on the host.
 */
import { eventsOfChild } from "../helpers/child-events.js";
import { mkdirSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/rawtp.test.ts");
const out = "test/.out/rawtp";

interface ExecEvent { pid: number; oldPid: number; parent: number; path: string; comm: string }
type Probe = Disposable & { events: { on(fn: (ev: ExecEvent) => void): void } };
let load: () => Promise<Probe>;
let generated: { c: string; ts: string };

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  const [result] = await buildSpecs(["test/fixtures/e2e/rawtp.yaml"], { outDir: out });
  expect(result!.diagnostics).toEqual([]);
  const text = (suffix: string) => Buffer.from(result!.files.find((f) => f.path.endsWith(suffix))!.contents).toString();
  generated = { c: text(".bpf.c"), ts: text(".ts") };
  load = (await import(/* @vite-ignore */ `${process.cwd()}/${out}/rawtp.ts`)).loadRawtp;
});

describe.skipIf(!support.ok)("raw_tp/sched_process_exec on the running kernel", () => {
  it("is a raw tracepoint program, attached by a typed descriptor", () => {
    expect(generated.c).toContain('SEC("raw_tracepoint/sched_process_exec")');
    expect(generated.ts).toContain('attach: { kind: "raw_tracepoint", name: "sched_process_exec" }');
  });

  it("sees a child the test spawns, its arguments typed and followed from BTF", async () => {
    using probe = await load();
    const child = await eventsOfChild<ExecEvent>(probe.events, "/bin/true");
    expect(child.events).toEqual([{ pid: child.pid, oldPid: child.pid, parent: process.pid, path: "/bin/true", comm: "true" }]);
  });
});
