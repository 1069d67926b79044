/** `probegen run` and `probegen stats` on the real kernel: events, clean detach on SIGINT, stats. */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bpfSupport, skipNote } from "../runtime/helpers.js";
import { bpfProgramIds, collect, probegen, spawnProbegen } from "./helpers.js";

const support = await bpfSupport();
skipNote(support, "cli/run.test.ts");

const path = join(tmpdir(), `probegen-cli-run-${process.pid}-${Date.now()}`);
writeFileSync(path, "x");
afterAll(() => rmSync(path, { force: true }));

/** Opens the unique path until the child has said it is attached, then once more for certain. */
async function openWhenAttached(stderr: ReturnType<typeof collect>): Promise<void> {
  await stderr.until(/Attached \d+ program/);
  closeSync(openSync(path, "r"));
}

describe.skipIf(!support.ok)("probegen run", () => {
  it("--duration 1s --json sees this test's own open, then prints the maps and drops", async () => {
    const child = spawnProbegen(["run", "--duration", "1s", "--json", "probes/opensnoop.yaml"]);
    const stderr = collect(child.stderr!);
    await openWhenAttached(stderr);
    const r = await child;
    expect(r.exitCode, stderr.text()).toBe(0);
    const lines = String(r.stdout).trim().split("\n").map((l) => JSON.parse(l));
    const mine = lines.filter((e) => e.filename === path);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toEqual({ pid: process.pid, uid: process.getuid!(), comm: expect.any(String), filename: path, flags: "O_RDONLY|O_CLOEXEC" });
    expect(lines.at(-1)).toEqual({ maps: {}, drops: { kernel: 0, userspace: 0 } });
    expect(existsSync("generated/opensnoop.bpf.o")).toBe(true); // untouched: run builds elsewhere
  });

  it("prints an aligned table with decoded values", async () => {
    const child = spawnProbegen(["run", "-d", "1s", "probes/opensnoop.yaml"]);
    const stderr = collect(child.stderr!);
    await openWhenAttached(stderr);
    const r = await child;
    expect(r.exitCode, stderr.text()).toBe(0);
    const out = String(r.stdout).split("\n");
    expect(out[0]).toMatch(/^PID\s+UID\s+COMM\s+FLAGS\s+FILENAME$/);
    const row = out.find((l) => l.endsWith(path))!;
    expect(row).toBeDefined();
    expect(row).toContain("O_RDONLY|O_CLOEXEC");
    expect(row.indexOf(path)).toBe(out[0]!.indexOf("FILENAME"));
    expect(stderr.text()).toContain("Detached (duration over)");
  });

  it("--json shows a map keyed by syscall id with the syscalls' names", async () => {
    const spec = join(tmpdir(), `probegen-cli-syscount-${process.pid}.yaml`);
    writeFileSync(spec, [
      "name: syscount", "params:", "  pid: { type: u32 }", "maps:", "  counts: { type: hash, key: u32, value: u64 }", "programs:",
      "  - attach: tracepoint/raw_syscalls/sys_enter", "    filter: pid == params.pid", "    update:", "      - { map: counts, key: id, count: true }", "",
    ].join("\n"));
    try {
      const child = spawnProbegen(["run", "--duration", "1s", "--json", "--param", `pid=${process.pid}`, spec]);
      const stderr = collect(child.stderr!);
      await openWhenAttached(stderr);
      const r = await child;
      expect(r.exitCode, stderr.text()).toBe(0);
      const counts = JSON.parse(String(r.stdout).trim().split("\n").at(-1)!).maps.counts as Array<{ key: unknown; value: number }>;
      expect(counts.find((e) => e.key === "openat")?.value).toBeGreaterThanOrEqual(1);
      expect(counts.every((e) => typeof e.key === "string")).toBe(true);
    } finally {
      rmSync(spec, { force: true });
    }
  });

  it("SIGINT detaches: no program is left attached", async () => {
    const before = await bpfProgramIds("sys_enter_openat");
    const child = spawnProbegen(["run", "probes/opensnoop.yaml"]);
    const stderr = collect(child.stderr!);
    await stderr.until(/Ctrl-C to stop/);
    const during = await bpfProgramIds("sys_enter_openat");
    const ours = during.filter((id) => !before.includes(id));
    expect(ours).toHaveLength(1);

    // While it runs, stats sees it as a probegen program, and puts the sysctl back.
    const sysctl = readFileSync("/proc/sys/kernel/bpf_stats_enabled", "utf8");
    const s = await probegen(["stats", "--json", "--interval", "300ms", "--probegen", "sys_enter_openat"]);
    expect(s.exitCode, s.stderr).toBe(0);
    const row = JSON.parse(s.stdout).find((p: { id: number }) => p.id === ours[0]);
    expect(row).toMatchObject({ name: "sys_enter_openat", type: "tracepoint", probegen: true, drops: 0, maps: expect.arrayContaining(["events", ".data.pg_drops"]) });
    expect(row.xlatedBytes).toBeGreaterThan(0);
    expect(row.mapBytes).toBeGreaterThan(0);
    expect(readFileSync("/proc/sys/kernel/bpf_stats_enabled", "utf8")).toBe(sysctl);

    child.kill("SIGINT");
    const r = await child;
    expect(r.exitCode, stderr.text()).toBe(0);
    expect(stderr.text()).toContain("Detached (SIGINT)");
    const after = await bpfProgramIds("sys_enter_openat");
    expect(after.filter((id) => ours.includes(id))).toEqual([]);
  });

  it("--param: unknown names are rejected with the declared ones (exit 2)", async () => {
    const r = await probegen(["run", "--param", "nope=1", "-d", "1s", "probes/opensnoop.yaml"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown parameter 'nope'");
    expect(r.stderr).toContain("declares no parameters");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("a spec error exits 1 with diagnostics, before anything is loaded", async () => {
    const spec = join(tmpdir(), `probegen-cli-run-bad-${process.pid}.yaml`);
    writeFileSync(spec, "name: bad\nprograms:\n  - attach: tracepoint/syscalls/sys_enter_openat\n    fields: [pidd]\n");
    try {
      const r = await probegen(["run", spec]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(":4:14: error: 'pidd' is not a value");
    } finally {
      rmSync(spec, { force: true });
    }
  });
});

describe.skipIf(!support.ok)("probegen run's temporary directory", () => {
  // Each run gets its own TMPDIR, so the test sees exactly the directories `run` makes there.
  const tmp = mkdtempSync(join(tmpdir(), "probegen-cli-run-tmp-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const runDirs = () => readdirSync(tmp).filter((d) => d.startsWith("probegen-run-"));
  const run = (args: string[], env: Record<string, string> = {}) => spawnProbegen(["run", ...args, "probes/opensnoop.yaml"], process.cwd(), { TMPDIR: tmp, ...env });
  const until = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    if (!cond()) throw new Error(`timed out waiting for ${what}`);
  };

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} while it builds (before anything is attached) removes it`, async () => {
      // An empty cache: the build runs clang, long enough to be interrupted.
      const child = run(["-d", "30s"], { PROBEGEN_CACHE_DIR: mkdtempSync(join(tmp, "cache-")) });
      await until(() => runDirs().length > 0, "the run's directory");
      expect(runDirs()).toEqual([expect.stringMatching(new RegExp(`^probegen-run-${child.pid}-`))]);
      child.kill(signal);
      const r = await child;
      expect([r.exitCode, r.signal], r.all).toEqual([signal === "SIGINT" ? 130 : 143, undefined]);
      expect(runDirs()).toEqual([]);
    });

    it(`${signal} while it streams removes it`, async () => {
      const child = run([]);
      await collect(child.stderr!).until(/Ctrl-C to stop/);
      expect(runDirs()).toHaveLength(1);
      child.kill(signal);
      const r = await child;
      expect(r.exitCode, r.all).toBe(0);
      expect(runDirs()).toEqual([]);
    });
  }

  it("after a SIGKILL, the next run removes the directory of the dead one (and keeps a live one's)", async () => {
    const killed = run([]);
    await collect(killed.stderr!).until(/Ctrl-C to stop/);
    killed.kill("SIGKILL");
    await killed;
    expect(runDirs()).toEqual([expect.stringMatching(new RegExp(`^probegen-run-${killed.pid}-`))]);
    const live = join(tmp, `probegen-run-${process.pid}-alive`); // this test process is alive
    mkdirSync(live);
    const next = await run(["-d", "200ms"]);
    expect(next.exitCode, next.all).toBe(0);
    expect(runDirs()).toEqual([`probegen-run-${process.pid}-alive`]);
    rmSync(live, { recursive: true });
  });
});

