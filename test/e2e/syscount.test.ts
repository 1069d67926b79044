/**
 * syscount end to end: system calls counted by name for one command, chosen at load by a string
 * parameter, beside libbpf-tools' syscount counting the same process in the same run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadSyscount, Syscall } from "../../generated/syscount.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/syscount.test.ts");
const reference = "/usr/sbin/syscount";
if (support.ok && !existsSync(reference)) console.log(`e2e/syscount.test.ts: skipping the libbpf-tools comparison: ${reference} is missing (apt-get install libbpf-tools)`);

// A command's comm is the name it was run by: a link to node gives the workload its own.
const dir = mkdtempSync(join(tmpdir(), "probegen-syscount-"));
const comm = "pgsyscount";
symlinkSync(process.execPath, join(dir, comm));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Waits for a line on stdin, then calls getppid 50 times, umask 30 times and opens a missing
 * file 7 times (process.ppid and process.umask() are one system call each; node makes neither
 * on its own, and the failed opens are ENOENT).
 */
const workload = [
  "const fs = require('node:fs');",
  "process.stdin.once('data', () => {",
  "  for (let i = 0; i < 50; i++) process.ppid;",
  "  for (let i = 0; i < 30; i++) process.umask(0o22);",
  "  for (let i = 0; i < 7; i++) try { fs.openSync('/nonexistent/probegen'); } catch {}",
  "  process.exit(0);",
  "});",
].join("\n");

function startWorkload(command = join(dir, comm)): ChildProcess {
  return spawn(command, ["-e", workload], { stdio: ["pipe", "ignore", "inherit"] });
}

async function run(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.stdin!.end("go\n");
  await exited;
}

/** libbpf-tools' syscount on one pid: resolves once it is tracing, then to its counts by name. */
async function referenceCounts(pid: number): Promise<{ tracing: Promise<void>; counts: Promise<Map<string, number>> }> {
  // Line-buffered, so "Tracing syscalls" arrives when it is printed, not when the tool exits.
  const tool = spawn("stdbuf", ["-oL", reference, "-p", String(pid), "-d", "5", "-T", "200"], { stdio: ["ignore", "pipe", "inherit"] });
  let text = "";
  let ready!: () => void;
  const tracing = new Promise<void>((resolve) => (ready = resolve));
  tool.stdout!.on("data", (chunk: Buffer) => {
    text += chunk.toString();
    if (text.includes("Tracing syscalls")) ready();
  });
  const counts = new Promise<Map<string, number>>((resolve) => tool.on("exit", () => {
    ready();
    resolve(new Map([...text.matchAll(/^(\w+)\s+(\d+)$/gm)].map((m) => [m[1]!, Number(m[2])])));
  }));
  return { tracing, counts };
}

describe.skipIf(!support.ok)("syscount on the running kernel", () => {
  it("counts one command's system calls by name, and its failures by errno", async () => {
    const child = startWorkload();
    const other = startWorkload(process.execPath); // the same work under another name ("node") is not counted
    using probe = await loadSyscount({ params: { comm } });
    await Promise.all([run(child), run(other)]);
    const calls = new Map(probe.maps.calls.entries());
    expect(calls.get("getppid")).toBe(50n);
    expect(calls.get("umask")).toBe(30n);
    expect(calls.get("exit_group")).toBe(undefined); // exit_group never returns
    expect(Syscall.getppid).toBe(110);
    const failures = [...probe.maps.failures.entries()].filter(([k]) => k.nr === "openat" && k.errno === "ENOENT");
    expect(failures).toEqual([[{ nr: "openat", errno: "ENOENT" }, 7n]]);
  }, 60_000);

  it.skipIf(!existsSync(reference))("gives the counts libbpf-tools' syscount gives for the same process", async () => {
    const child = startWorkload();
    using probe = await loadSyscount({ params: { comm } });
    const ref = await referenceCounts(child.pid!);
    await ref.tracing;
    await run(child);
    const theirs = await ref.counts;
    const ours = new Map(probe.maps.calls.entries());
    for (const name of ["getppid", "umask"]) expect([name, Number(ours.get(name as Syscall))]).toEqual([name, theirs.get(name)]);
  }, 60_000);
});
