/**
 * bashreadline (bundled): the lines typed into an interactive bash, read by a uretprobe on
 * bash's readline. The bash runs on a pty (util-linux `script`), so it reads its input with
 * readline as a terminal user's would; libbpf-tools' bashreadline, when installed, watches the
 * same session and must report the same lines for the same pid.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadBashreadline, type LineEvent } from "../../generated/bashreadline.js";
import { bpfSupport, skipNote } from "../runtime/helpers.js";

const support = await bpfSupport();
skipNote(support, "e2e/bashreadline.test.ts");

function hasCommand(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const missing = ["bash", "script"].filter((c) => !hasCommand(c));
if (support.ok && missing.length) console.log(`e2e/bashreadline.test.ts: skipped: ${missing.join(" and ")} not installed (util-linux's script gives bash a pty)`);
const REFERENCE = "/usr/sbin/bashreadline";
const reference = existsSync(REFERENCE) && hasCommand("stdbuf");
if (support.ok && !reference) console.log(`e2e/bashreadline.test.ts: no comparison with libbpf-tools: ${existsSync(REFERENCE) ? "stdbuf" : REFERENCE} is not installed`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Types `lines` into an interactive bash on a pty, one at a time, and waits for it to exit. */
async function typeIntoBash(lines: string[]): Promise<void> {
  const session = spawn("script", ["-qc", "bash --norc --noprofile -i", "/dev/null"], {
    stdio: ["pipe", "ignore", "ignore"],
    env: { ...process.env, TERM: "dumb", HISTFILE: "/dev/null", PS1: "$ " },
  });
  const exited = new Promise((resolve) => session.on("exit", resolve));
  for (const line of lines) {
    await sleep(200);
    session.stdin.write(`${line}\n`);
  }
  await Promise.race([exited, sleep(5000)]);
  session.stdin.end();
  await exited;
}

/** libbpf-tools' bashreadline, started and printing its header: its lines as [pid, command]. */
async function startReference(): Promise<{ lines: () => Array<[number, string]>; stop: () => Promise<void> }> {
  const child = spawn("stdbuf", ["-oL", REFERENCE], { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout.on("data", (d) => (text += d));
  const exited = new Promise((resolve) => child.on("exit", resolve));
  for (let i = 0; i < 100 && !text.includes("COMMAND"); i++) await sleep(50);
  if (!text.includes("COMMAND")) throw new Error(`${REFERENCE} did not start: ${text}`);
  return {
    // "06:11:30  30918   echo probegen-line-2"
    lines: () => [...text.matchAll(/^\S+\s+(\d+)\s+(.*)$/gm)].filter((m) => m[1] !== undefined && /^\d+$/.test(m[1])).map((m) => [Number(m[1]), m[2]!.trimEnd()]),
    stop: async () => {
      child.kill("SIGINT");
      await exited;
    },
  };
}

describe.skipIf(!support.ok || missing.length > 0)("bashreadline on the running kernel", () => {
  it("reports each line typed into an interactive bash, with its pid and comm (as libbpf-tools' bashreadline does)", async () => {
    const token = `probegen-${process.pid}-${Date.now()}`;
    const typed = [`echo ${token}`, `true ${token} second line`, "exit"];
    const ref = reference ? await startReference() : undefined;
    try {
      using probe = await loadBashreadline();
      const seen: LineEvent[] = [];
      probe.events.on((e) => seen.push(e));
      await typeIntoBash(typed);
      for (let i = 0; i < 100 && !seen.some((e) => e.line === "exit" && seen.some((f) => f.pid === e.pid && f.line.includes(token))); i++) await sleep(10);

      const shell = seen.find((e) => e.line === `echo ${token}`);
      expect(shell, "the first line typed").toBeDefined();
      const ours = seen.filter((e) => e.pid === shell!.pid);
      expect(ours.map((e) => [e.comm, e.line])).toEqual(typed.map((line) => ["bash", line]));

      if (ref) {
        for (let i = 0; i < 100 && ref.lines().filter(([pid]) => pid === shell!.pid).length < typed.length; i++) await sleep(20);
        expect(ref.lines().filter(([pid]) => pid === shell!.pid)).toEqual(ours.map((e) => [e.pid, e.line]));
      }
    } finally {
      await ref?.stop();
    }
  }, 60_000);
});
