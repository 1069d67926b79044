// Shared test helpers: compile fixture programs with clang, and find out (by
// trying) whether this process may load BPF programs at all.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

import { BpfError, loadObject, type Codec, type ObjectDefinition } from "../../src/runtime/index.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const OUT = join(tmpdir(), `probegen-runtime-fixtures-${process.pid}`);

export function compileFixture(name: string): Uint8Array {
  mkdirSync(OUT, { recursive: true });
  const out = join(OUT, `${name}.bpf.o`);
  execFileSync(
    "clang",
    ["-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86", "-I/usr/include/x86_64-linux-gnu", "-c", join(FIXTURES, `${name}.bpf.c`), "-o", out],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return new Uint8Array(readFileSync(out));
}

/** The getppid fixture's definition, as a generated loader would write it. */
export function getppidDefinition(targetTgid = process.pid, discardEvery = 0): ObjectDefinition {
  const rodata = new Uint8Array(8);
  const view = new DataView(rodata.buffer);
  view.setUint32(0, targetTgid, true);
  view.setUint32(4, discardEvery, true);
  return {
    name: "getppid",
    source: "test/runtime/fixtures/getppid.bpf.c",
    object: compileFixture("getppid"),
    programs: [{ name: "on_getppid", attach: { kind: "tracepoint", category: "syscalls", name: "sys_enter_getppid" }, line: 32 }],
    maps: [
      { name: "events", type: "ringbuf", keySize: 0, valueSize: 0, maxEntries: 256 * 1024 },
      { name: "counts", type: "hash", keySize: 4, valueSize: 8, maxEntries: 1024 },
    ],
    rodata,
  };
}

export interface GetppidEvent {
  pid: number;
  tid: number;
  seq: bigint;
}

export const decodeEvent = (view: DataView, offset: number): GetppidEvent => ({
  pid: view.getUint32(offset, true),
  tid: view.getUint32(offset + 4, true),
  seq: view.getBigUint64(offset + 8, true),
});

export const u32: Codec<number> = {
  size: 4,
  decode: (view, offset) => view.getUint32(offset, true),
  encode: (value, view, offset) => view.setUint32(offset, value, true),
};

export const u64: Codec<bigint> = {
  size: 8,
  decode: (view, offset) => view.getBigUint64(offset, true),
  encode: (value, view, offset) => view.setBigUint64(offset, value, true),
};

/** process.ppid calls getppid(2) each time (Node does not cache it). */
export function triggerGetppid(times = 1): void {
  for (let i = 0; i < times; i++) void process.ppid;
}

/** getppid(2) `times` times from a worker thread (same process, so the fixture counts it); resolves when it is done. */
export function triggerGetppidInWorker(times: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker("for (let i = 0; i < require('node:worker_threads').workerData; i++) void process.ppid;", {
      eval: true,
      workerData: times,
    });
    worker.once("error", reject);
    worker.once("exit", () => resolve());
  });
}

export interface Support {
  ok: boolean;
  reason: string;
}

/** Tries a real load (no attach) so the answer reflects capabilities, lockdown, seccomp... */
export async function bpfSupport(): Promise<Support> {
  let def: ObjectDefinition;
  try {
    def = getppidDefinition();
  } catch (err) {
    return { ok: false, reason: `cannot compile BPF fixtures with clang: ${(err as Error).message.split("\n")[0]}` };
  }
  try {
    const obj = await loadObject(def, { attach: false });
    obj.close();
    return { ok: true, reason: "" };
  } catch (err) {
    const code = err instanceof BpfError ? err.code : "";
    return { ok: false, reason: `cannot load BPF programs here (${code || (err as Error).message.split("\n")[0]}); run as root or with CAP_BPF+CAP_PERFMON` };
  }
}

export function skipNote(support: Support, file: string): void {
  if (!support.ok) console.warn(`[${file}] SKIPPING kernel tests: ${support.reason}`);
}

export async function waitFor(cond: () => boolean, timeoutMs = 2000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
