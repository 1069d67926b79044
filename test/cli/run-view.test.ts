/**
 * `probegen run --interval/--clear/--top` on the real kernel: a child process opens files when
 * told to, and the maps printed while the probe runs must show exactly those opens.
 */
import { execa } from "execa";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bpfSupport, skipNote } from "../runtime/helpers.js";
import { collect, spawnProbegen } from "./helpers.js";

const support = await bpfSupport();
skipNote(support, "cli/run-view.test.ts");

const dir = mkdtempSync(join(tmpdir(), "probegen-cli-run-view-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const [fileA, fileB, fileC] = ["a", "b", "c"].map((n) => {
  const p = join(dir, n);
  writeFileSync(p, n);
  return p;
}) as [string, string, string];

/** Counts one process's opens per file name, and their latencies in one histogram per pid. */
const spec = join(dir, "childopens.yaml");
writeFileSync(spec, `name: childopens
params:
  pid: { type: u32 }
maps:
  opens: { type: hash, key: "string[256]", value: u64, max_entries: 64 }
  latency: { type: hash, key: u32, value: hist, max_entries: 8 }
programs:
  - attach: tracepoint/syscalls/sys_enter_openat
    exit: true
    filter: pid == params.pid
    update:
      - { map: opens, key: filename, count: true }
      - { map: latency, key: pid, hist: latency }
`);

/** A node process that opens PATH N times for each "PATH N" line on its stdin, then prints "done". */
function opener() {
  const child = execa("node", ["-e", `
    const fs = require("node:fs");
    require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
      const [path, n] = line.split(" ");
      for (let i = 0; i < Number(n); i++) fs.closeSync(fs.openSync(path, "r"));
      process.stdout.write("done\\n");
    });`], { reject: false, stdin: "pipe" });
  const out = collect(child.stdout!);
  let done = 0;
  return {
    pid: child.pid!,
    async open(path: string, n: number): Promise<void> {
      child.stdin!.write(`${path} ${n}\n`);
      const want = ++done;
      await out.until(new RegExp(`^(done\\n){${want}}$`));
    },
    end: () => child.stdin!.end(),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The text blocks printed at each interval (each starts with its HH:MM:SS header), and what follows the last one. */
function blocks(stdout: string): string[] {
  return stdout.split(/^\d\d:\d\d:\d\d$/m).slice(1);
}

/** The count a block's @opens table shows for `path` (0 when absent). */
function countOf(block: string, path: string): number {
  const row = block.split("\n").find((l) => l.trimStart().startsWith(path + " "));
  return row ? Number(row.trim().split(/\s+/).at(-1)) : 0;
}

async function run(args: string[], work: (o: ReturnType<typeof opener>) => Promise<void>) {
  const o = opener();
  const child = spawnProbegen(["run", "--param", `pid=${o.pid}`, ...args, spec]);
  const stderr = collect(child.stderr!);
  await stderr.until(/Attached \d+ program/);
  await work(o);
  o.end();
  const r = await child;
  expect(r.exitCode, stderr.text()).toBe(0);
  return String(r.stdout);
}

describe.skipIf(!support.ok)("probegen run --interval, --clear, --top", () => {
  it("--interval 200ms prints the maps in blocks under a time header, whose counts grow", async () => {
    const out = await run(["--interval", "200ms", "-d", "1500ms"], async (o) => {
      await o.open(fileA, 3);
      await sleep(500);
      await o.open(fileA, 2);
    });
    const counts = blocks(out).map((b) => countOf(b, fileA));
    expect(counts.length, out).toBeGreaterThanOrEqual(5);
    expect(counts).toContain(3);
    expect(counts.at(-1)).toBe(5);
    // Never shrinking: without --clear each block holds everything so far.
    expect(counts.every((c, i) => i === 0 || c >= counts[i - 1]!), String(counts)).toBe(true);
    expect(counts.indexOf(3)).toBeLessThan(counts.indexOf(5));
    // And the final print, after the last block, still shows the totals once.
    expect(out.trimEnd().split("\n").filter((l) => l === "@opens:").length).toBe(counts.length + 1);
  });

  it("--clear: each block counts only what happened since the previous one", async () => {
    const out = await run(["--interval", "200ms", "--clear", "-d", "1500ms"], async (o) => {
      await o.open(fileA, 3);
      await sleep(500);
      await o.open(fileB, 2);
    });
    const all = blocks(out);
    const a = all.map((b) => countOf(b, fileA));
    const b = all.map((x) => countOf(x, fileB));
    // Every open is counted in exactly one block (or in the final print), never again later.
    expect(a.reduce((x, y) => x + y, 0), out).toBe(3);
    expect(b.reduce((x, y) => x + y, 0), out).toBe(2);
    const lastA = a.length - 1 - [...a].reverse().findIndex((c) => c > 0);
    const firstB = b.findIndex((c) => c > 0);
    expect(lastA).toBeLessThan(firstB);
    expect(all.at(-1)).not.toContain(fileA);
  });

  it("--top 2 prints the two largest entries, largest first, and how many were left out; histograms as bars", async () => {
    const out = await run(["--top", "2", "-d", "1s"], async (o) => {
      await o.open(fileC, 1);
      await o.open(fileA, 5);
      await o.open(fileB, 3);
    });
    const section = out.slice(out.indexOf("@opens:"), out.indexOf("@latency:")).trimEnd().split("\n");
    expect(section, out).toEqual([
      "@opens:",
      expect.stringMatching(/^\s+KEY\s+VALUE$/),
      expect.stringMatching(new RegExp(`^\\s+${fileA}\\s+5$`)),
      expect.stringMatching(new RegExp(`^\\s+${fileB}\\s+3$`)),
      "  ... 1 more entry not shown (--top 2)",
    ]);
    // One histogram (one pid): bpftrace-style bars holding all 9 opens.
    const bars = out.slice(out.indexOf("@latency:")).split("\n").filter((l) => /^\[.*\)\s+\d+ \|@*\s*\|$/.test(l));
    expect(bars.length, out).toBeGreaterThan(0);
    expect(bars.reduce((n, l) => n + Number(/\)\s+(\d+) \|/.exec(l)![1]), 0)).toBe(9);
  });

  it("--json --interval: one parseable line per interval with a time, then the final maps", async () => {
    const out = await run(["--json", "--interval", "200ms", "-d", "1s"], async (o) => {
      await o.open(fileA, 2);
    });
    const lines = out.trim().split("\n").map((l) => JSON.parse(l));
    const periodic = lines.filter((l) => "time" in l);
    expect(periodic.length, out).toBeGreaterThanOrEqual(2);
    for (const l of periodic) expect(new Date(l.time).getTime()).toBeGreaterThan(Date.now() - 60_000);
    const final = lines.at(-1);
    expect(final).not.toHaveProperty("time");
    expect(final.maps.opens).toEqual([{ key: fileA, value: 2 }]);
    // Histograms stay data: their shape and one count per bucket.
    const h = final.maps.latency[0].value;
    expect(h.shape).toEqual({ kind: "log2" });
    expect(h.counts.reduce((a: number, b: number) => a + b, 0)).toBe(2);
  });

  it("rejects a nonsense --interval or --top, and --clear without --interval (exit 2)", async () => {
    for (const [args, message] of [
      [["--interval", "soon"], "--interval 'soon' is not a duration"],
      [["--interval", "0"], "--interval '0' is not a duration"],
      [["--top=-3"], "--top '-3' is not a positive integer"],
      [["--top", "2x"], "--top '2x' is not a positive integer"],
      [["--clear"], "--clear needs --interval"],
    ] as const) {
      const r = await spawnProbegen(["run", ...args, spec]);
      expect(r.exitCode, r.all).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
