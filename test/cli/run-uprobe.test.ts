/**
 * The CLI with uprobes: `probegen list` shows what a pattern over a library's functions
 * matches, and `probegen run --pid N` restricts a spec's uprobes to one process.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bpfSupport, skipNote } from "../runtime/helpers.js";
import { collect, probegen, spawnProbegen } from "./helpers.js";

const support = await bpfSupport();
skipNote(support, "cli/run-uprobe.test.ts");

const dir = mkdtempSync(join(tmpdir(), "probegen-cli-uprobe-"));
const spec = join(dir, "ppid.yaml");
writeFileSync(spec, "name: ppid\nprograms:\n  - attach: uprobe/libc:getppid\n    fields: [pid]\n");

/** A node child that calls getppid(3) `n` times (process.ppid does, once each) when it reads a line. */
function caller(n: number) {
  return spawn(process.execPath, ["-e", `process.stdin.once('data', () => { for (let i = 0; i < ${n}; i++) process.ppid; process.exit(0); })`], { stdio: ["pipe", "ignore", "inherit"] });
}

describe("probegen list with a uprobe pattern", () => {
  it("prints the library's functions the glob matches", async () => {
    const r = await probegen(["list", "uprobe/libc:getpp*"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe("uprobe/libc:getppid");
  });
});

describe("probegen run --pid", () => {
  it("a pid that is not a number is a usage error", async () => {
    const r = await probegen(["run", "--pid", "abc", spec]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--pid takes a process id, not 'abc'");
  });

  it.skipIf(!support.ok)("only that process's calls are printed", async () => {
    const counted = caller(4);
    const other = caller(6);
    const child = spawnProbegen(["run", "-d", "2s", "--json", "--pid", String(counted.pid), spec]);
    const stderr = collect(child.stderr!);
    await stderr.until(/Attached \d+ program/);
    const exits = [counted, other].map((c) => new Promise((resolve) => c.on("exit", resolve)));
    counted.stdin.end("go\n");
    other.stdin.end("go\n");
    await Promise.all(exits);
    const r = await child;
    expect(r.exitCode, stderr.text()).toBe(0);
    const events = String(r.stdout).trim().split("\n").map((l) => JSON.parse(l)).filter((e) => "pid" in e);
    expect(events).toEqual(Array.from({ length: 4 }, () => ({ pid: counted.pid })));
  }, 60_000);
});
