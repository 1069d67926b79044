/**
 * uprobes and uretprobes on the running kernel: a program the test compiles (arguments by
 * position, a user string, return values, an entry/exit pair), and a libc function a child
 * calls a known number of times, counted for that child alone (the `pid` load option).
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpecs } from "../../src/compiler/build.js";
import { BpfError } from "../../src/runtime/index.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/uprobe.test.ts");
const out = resolve("test/.out/e2e-uprobe");

const spec = `name: uprobe_target
programs:
  - name: add6
    attach: uprobe/./target:add6
    fields: [pid, arg0, arg1, arg2, arg3, arg4, { name: f, from: arg5, type: i64 }]
  - name: add6_ret
    attach: uretprobe/./target:add6
    fields: [pid, { name: sum, from: retval }]
  - name: greet
    attach: uprobe/./target:greet
    exit: true
    fields: [pid, { name: who, from: arg0, type: user_string }, { name: times, from: arg1, type: i32 }, ret, latency]
`;

const libcSpec = `name: libc_calls
programs:
  - attach: uprobe/libc:getppid
    update:
      - { map: calls, key: pid, count: true }
maps:
  calls: { type: hash, key: u32, value: u64, max_entries: 64 }
`;

interface Stream<E> {
  on(fn: (event: E) => void): unknown;
}
interface Loaded<E, M = unknown> extends Disposable {
  events: Stream<E>;
  maps: M;
}
type TargetEvent =
  | { type: "add6"; pid: number; arg0: bigint; arg1: bigint; arg2: bigint; arg3: bigint; arg4: bigint; f: bigint }
  | { type: "add6_ret"; pid: number; sum: bigint }
  | { type: "greet"; pid: number; who: string; times: number; ret: bigint; latency: bigint };
type Calls = { calls: { get(pid: number): bigint | undefined } };

let loadTarget: (options?: { pid?: number }) => Promise<Loaded<TargetEvent>>;
let loadLibcCalls: (options?: { pid?: number }) => Promise<Loaded<never, Calls>>;
/** Built against swap/target, which a test then replaces or removes. */
let loadSwapped: () => Promise<Disposable>;

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  execFileSync("gcc", ["-O0", "-o", `${out}/target`, "test/fixtures/uprobe/target.c"]);
  writeFileSync(`${out}/uprobe_target.yaml`, spec);
  writeFileSync(`${out}/libc_calls.yaml`, libcSpec);
  mkdirSync(`${out}/swap`, { recursive: true });
  copyFileSync(`${out}/target`, `${out}/swap/target`);
  writeFileSync(`${out}/swap/swapped.yaml`, "name: swapped\nprograms:\n  - attach: uprobe/./target:greet\n    fields: [pid]\n");
  const results = await buildSpecs([`${out}/uprobe_target.yaml`, `${out}/libc_calls.yaml`, `${out}/swap/swapped.yaml`], { outDir: out });
  for (const r of results) expect(r.diagnostics).toEqual([]);
  loadTarget = (await import(/* @vite-ignore */ `${out}/uprobe_target.ts`)).loadUprobeTarget;
  loadLibcCalls = (await import(/* @vite-ignore */ `${out}/libc_calls.ts`)).loadLibcCalls;
  loadSwapped = (await import(/* @vite-ignore */ `${out}/swapped.ts`)).loadSwapped;
}, 120_000);

/** The target, started and waiting for its go line (`getppid` calls: how many it makes). */
function startTarget(getppidCalls = 0): ChildProcessWithoutNullStreams {
  return spawn(`${out}/target`, [String(getppidCalls)], { stdio: "pipe" });
}

async function run(child: ChildProcessWithoutNullStreams): Promise<string> {
  let stdout = "";
  child.stdout.on("data", (d) => (stdout += d));
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.stdin.end("go\n");
  await exited;
  return stdout.trim();
}

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe.skipIf(!support.ok)("uprobes on the running kernel", () => {
  it("reads a compiled program's arguments, its return values and an entry/exit pair", async () => {
    const child = startTarget();
    using probe = await loadTarget({ pid: child.pid });
    const seen: TargetEvent[] = [];
    probe.events.on((e) => seen.push(e));
    expect(await run(child)).toBe(String(-437034 + 35));
    await until(() => seen.some((e) => e.type === "greet"));

    expect(seen.every((e) => e.pid === child.pid)).toBe(true);
    const calls = seen.filter((e) => e.type === "add6").map((e) => [e.arg0, e.arg1, e.arg2, e.arg3, e.arg4, e.f]);
    expect(calls).toEqual([1n, 2n, 3n].map((i) => [i, 2n, 3n, 4n, 5n, -i]));
    // add6(i, 2, 3, 4, 5, -i) = 54320 - 99999 i, a negative long: retval reads as i64.
    expect(seen.filter((e) => e.type === "add6_ret").map((e) => e.sum)).toEqual([-45679n, -145678n, -245677n]);
    const greet = seen.filter((e) => e.type === "greet");
    expect(greet.map((e) => [e.who, e.times, e.ret])).toEqual([["world", 7, 35n]]);
    expect(greet[0]!.latency).toBeGreaterThan(0n);
  }, 30_000);

  it("counts a child's calls to a libc function exactly, and only that child's", async () => {
    const counted = startTarget(7);
    const other = startTarget(5);
    using probe = await loadLibcCalls({ pid: counted.pid });
    await Promise.all([run(counted), run(other)]);
    expect(probe.maps.calls.get(counted.pid!)).toBe(7n);
    expect(probe.maps.calls.get(other.pid!)).toBeUndefined();
  }, 30_000);

  it("without pid, sees every process that calls it", async () => {
    const a = startTarget(3);
    const b = startTarget(4);
    using probe = await loadLibcCalls();
    await Promise.all([run(a), run(b)]);
    expect([probe.maps.calls.get(a.pid!), probe.maps.calls.get(b.pid!)]).toEqual([3n, 4n]);
  }, 30_000);

  it("a pid that is not running is an error that says so", async () => {
    const gone = spawn("true");
    await new Promise((r) => gone.on("exit", r));
    const err = await loadLibcCalls({ pid: gone.pid }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).message).toMatch(/ESRCH/);
    expect((err as BpfError).message).toContain("the process the probe was restricted to");
  }, 30_000);

  it("a function or file gone since the build is an error naming the program, the file and the function", async () => {
    copyFileSync("/usr/bin/true", `${out}/swap/target`); // an ELF file without 'greet'
    const missing = await loadSwapped().catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(BpfError);
    expect((missing as BpfError).message.split("\n")[0]).toBe(
      `cannot attach program 'greet': ${out}/swap/target has no function 'greet'; the spec was built against a file that had it: ` +
        "rebuild the spec for the file installed here (test/.out/e2e-uprobe/swap/swapped.yaml:3): ENOENT (errno 2)");
    rmSync(`${out}/swap/target`);
    const gone = await loadSwapped().catch((e: unknown) => e);
    expect((gone as BpfError).message.split("\n")[0]).toBe(
      `cannot attach program 'greet': no file ${out}/swap/target (looked in ${out}/swap/target), so its function 'greet' cannot be found (test/.out/e2e-uprobe/swap/swapped.yaml:3): ENOENT (errno 2)`);
    expect((gone as BpfError).message).toContain("the program or library, or the function in it, is not on this machine");
  });
});
