/**
 * `probegen run` with a string parameter and a list of strings, as a user runs it: execargs.yaml
 * with --param comm=NAME shows only the commands NAME runs, with their arguments as a command line.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bpfSupport, skipNote } from "../runtime/helpers.js";
import { collect, probegen, spawnProbegen } from "./helpers.js";

const support = await bpfSupport();
skipNote(support, "cli/run-strings.test.ts");

// Two shells by names no other process has: the comm of what they exec from.
const dir = mkdtempSync(join(tmpdir(), "probegen-run-strings-"));
const shells = { a: `pgsh_a${process.pid % 10000}`, b: `pgsh_b${process.pid % 10000}` };
for (const name of Object.values(shells)) symlinkSync("/bin/sh", join(dir, name));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs execargs for a second with `args`; each shell execs /bin/true with its own arguments once it is attached. */
async function runExecargs(args: string[]): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  const child = spawnProbegen(["run", "-d", "1s", ...args, "probes/execargs.yaml"]);
  const stderr = collect(child.stderr!);
  await stderr.until(/Attached \d+ program/);
  for (const [which, shell] of Object.entries(shells)) execFileSync(join(dir, shell), ["-c", `/bin/true ${which} 'b c' ''; :`]);
  const r = await child;
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: stderr.text() };
}

describe.skipIf(!support.ok)("probegen run with string parameters and lists of strings", () => {
  it("--param comm=NAME shows only NAME's execs, their arguments as a command line", async () => {
    const r = await runExecargs(["--param", `comm=${shells.b}`]);
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^PID\s+PPID\s+UID\s+COMM\s+FILENAME\s+ARGV$/);
    const rows = lines.filter((l) => l.includes("/bin/true"));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(shells.b);
    // Quoted where a word would be lost or split: the empty argument, the one with a space.
    expect(rows[0]).toMatch(/\/bin\/true +\/bin\/true b 'b c' ''$/);
  });

  it("--json shows the list as an array, and comm= (empty) keeps every command", async () => {
    const r = await runExecargs(["--json", "--param", "comm="]);
    expect(r.exitCode, r.stderr).toBe(0);
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => Object.values(shells).includes(e.comm));
    expect(events.map((e) => [e.comm, e.argv, e.argvTruncated]).sort()).toEqual([
      [shells.a, ["/bin/true", "a", "b c", ""], false],
      [shells.b, ["/bin/true", "b", "b c", ""], false],
    ]);
  });

  it("a value longer than the parameter holds is a usage error (exit 2)", async () => {
    const r = await probegen(["run", "-d", "1s", "--param", "comm=a_name_of_twenty_b", "probes/execargs.yaml"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("--param comm: 'a_name_of_twenty_b' takes 18 bytes, and comm (string[16]) holds at most 15");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
