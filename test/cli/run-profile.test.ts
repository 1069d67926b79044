/**
 * `probegen run probes/profile.yaml --folded --flamegraph` on a child spinning in spin_here: the
 * files a person opens, and the stacks the run prints, named by the symbolizer.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bpfSupport, skipNote } from "../runtime/helpers.js";
import { buildSpinner, startSpinner } from "../helpers/spinner.js";
import { collect, probegen, spawnProbegen } from "./helpers.js";

const support = await bpfSupport();
skipNote(support, "cli/run-profile.test.ts");
const dir = mkdtempSync(join(tmpdir(), "probegen-run-profile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!support.ok)("probegen run --folded --flamegraph", () => {
  it("writes folded stacks whose counts add up to what it says, dominated by the spinning function, and an SVG of them", async () => {
    const spinner = buildSpinner(dir);
    const spin = startSpinner(spinner, 1.5);
    const folded = join(dir, "cpu.folded");
    const svg = join(dir, "cpu.svg");
    try {
      const child = spawnProbegen(["run", "probes/profile.yaml", "--param", `pid=${spin.pid}`, "--folded", folded, "--flamegraph", svg]);
      const stderr = collect(child.stderr!);
      await stderr.until(/Attached \d+ program/, 60_000);
      spin.go();
      await spin.done;
      child.kill("SIGINT");
      const r = await child;
      expect(r.exitCode, stderr.text()).toBe(0);

      const lines = readFileSync(folded, "utf8").trimEnd().split("\n");
      const parsed = lines.map((l) => /^(.+) (\d+)$/.exec(l)!).map((m) => ({ frames: m[1]!.split(";"), count: Number(m[2]) }));
      const total = parsed.reduce((n, s) => n + s.count, 0);
      expect(stderr.text()).toContain(`Wrote ${folded}: folded stacks (${total} samples, ${lines.length} stack`);
      expect(total).toBeGreaterThanOrEqual(120); // 1.5 CPU seconds at 99 Hz: ~148
      expect(parsed.every((s) => s.frames[0] === "spinner")).toBe(true);
      // Root first: spinner;...;main;spin_here[;kernel frames], functions without offsets
      const inSpinHere = parsed.filter((s) => s.frames.includes("spin_here"));
      const spinning = inSpinHere.reduce((n, s) => n + s.count, 0);
      expect(spinning / total).toBeGreaterThan(0.9);
      const one = inSpinHere[0]!.frames;
      expect(one.indexOf("main")).toBeGreaterThan(0);
      expect(one.indexOf("main")).toBeLessThan(one.indexOf("spin_here"));

      const image = readFileSync(svg, "utf8");
      expect(image.startsWith("<?xml") || image.startsWith("<svg")).toBe(true);
      expect(image).toContain("spin_here");
      // The table printed the same stacks, innermost first, named.
      expect(String(r.stdout)).toMatch(/^\s+spin_here\+0x[0-9a-f]+$/m);
    } finally {
      await spin.end();
    }
  }, 120_000);

  it("refuses a spec with no map counted by stacks, and a file it cannot write, before loading (exit 2)", async () => {
    const none = await probegen(["run", "probes/opensnoop.yaml", "--flamegraph", join(dir, "x.svg")]);
    expect(none.exitCode).toBe(2);
    expect(String(none.stderr)).toContain("--flamegraph draws a map counted by stacks, and probes/opensnoop.yaml has none");
    const unwritable = await probegen(["run", "probes/profile.yaml", "--folded", "/nonexistent-dir/x.folded"]);
    expect(unwritable.exitCode).toBe(2);
    expect(String(unwritable.stderr)).toContain("--folded /nonexistent-dir/x.folded: cannot write it (ENOENT)");
    expect(() => statSync(join(dir, "x.svg"))).toThrow();
  }, 120_000);
});
